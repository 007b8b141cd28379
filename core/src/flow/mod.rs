//! The one protocol every flow speaks, and the flows for whole journeys.
//!
//! A flow is a state machine with two verbs, as in str0m and quinn-proto:
//! [`Flow::handle`] takes an [`Input`], [`Flow::poll`] returns the next [`Step`]. The
//! step says what the shell does — send a request, wait until an instant, show
//! something to the user, read or persist the credentials document, answer a loopback
//! connection — or carries the result. The shell decides nothing: a native driver
//! (`cliauth`'s `drive`) and the wasm binding (`cliauth-wasm`'s `Machine`) run the
//! same flows with the same inputs and produce the same documents.
//!
//! | Flow | Journey | Result |
//! |---|---|---|
//! | [`Exchange`](crate::exchange::Exchange) | one request with retries | the response |
//! | [`DeviceFlow`](crate::device::DeviceFlow) | RFC 8628 polling | a token set |
//! | [`Refresh`](crate::refresh::Refresh) | refresh with rotation, under the lock | [`Refreshed`] |
//! | [`DeviceLogin`] | device authorization, prompt, polling, storing | [`Login`] |
//! | [`CodeLogin`] | launch link, authorize URL, loopback callback, code exchange, storing | [`Login`] |
//! | [`CodeExchange`] | a callback a web page received, code exchange, storing | [`Login`] |
//! | [`HandoffLogin`] | launch link, cli-auth page or pasted key, code exchange (or an opted-in key), storing | [`Login`] |
//! | [`KeyLogin`] | API-key validation, verification, storing | [`Login`] |
//! | [`CallbackWait`] | the loopback server's requests until the callback | its parameters |
//! | [`AccessToken`] | flag > environment > profile, refreshed when due | [`Bearer`] |
//! | [`ApiCall`] | a bearer request, one forced refresh after 401, error mapping | the response |
//! | [`Logout`] | revocation, then the local deletion | [`LogoutOutcome`] |
//! | [`Discovery`] | RFC 8414 / OpenID discovery merged with explicit endpoints | [`Endpoints`] |
//!
//! [`run_offline`] runs a flow that needs no network against a document in memory.
//!
//! Profile edits — which profile a login goes to, whether it becomes active,
//! `verified_at`, `subject`, `api_base`, the issuer — are decided once, in
//! [`login`]'s storing step and in [`Refresh`](crate::refresh::Refresh).
//!
//! Requests are built in one place per kind ([`Client`], [`crate::client`]): the
//! client's authentication and extra parameters per request kind are added there,
//! and the server's quirks ([`crate::provider::Quirks`]) applied to its answers.
//!
//! Two rules every browser login shares (issue 10): the browser is started on a
//! one-time [`LaunchLink`] instead of a URL carrying `state` and the PKCE challenge
//! (command lines are public), and a loopback request from another user's program
//! ([`Peer::foreign`]) is refused. A [`Refresh`](crate::refresh::Refresh) is
//! [critical](Flow::critical) from sending until persisted: shells hold interrupts
//! until it is no longer.

use core::time::Duration;
use std::collections::VecDeque;

use crate::credentials::CredentialsDocument;
use crate::error::Error;
use crate::exchange::TransportError;
use crate::http::{HttpRequest, HttpResponse};
use crate::loopback::{LoopbackRequest, LoopbackResponse, Rejection};
use crate::secret::SecretString;
use crate::time::{Instant, Now, Timestamp};

mod access;
mod api;
mod callback;
mod code;
mod device_login;
mod discover;
mod handoff;
mod key;
pub mod link;
pub mod login;
mod logout;
mod offline;
#[cfg(test)]
mod tests;

pub use crate::client::Client;
pub use access::{AccessConfig, AccessToken, Bearer, Want};
pub use api::ApiCall;
pub use callback::CallbackWait;
pub use code::{CodeExchange, CodeLogin};
pub use device_login::DeviceLogin;
pub use discover::{Discovery, Endpoints, ServerEndpoints};
pub use handoff::HandoffLogin;
pub use key::KeyLogin;
pub use link::{LAUNCH_ENTROPY_LEN, LaunchLink};
pub use login::{Login, LoginConfig, LoginOutcome, Verification};
pub use logout::{Logout, LogoutOutcome, Revocation};
pub use offline::run_offline;

pub use crate::refresh::Refreshed;

/// What a flow asks of its shell, or its result.
///
/// **The drain rule.** Call [`Flow::poll`] until it returns [`Step::WaitUntil`],
/// [`Step::Done`], [`Step::Failed`] or [`Step::Finished`]. Every other step is an
/// instruction to carry out before polling again, and some need exactly one answer:
///
/// | Step | Carry out | Answer with |
/// |---|---|---|
/// | `Send` | send the request, redirects not followed | one `Response`, `TransportError` or `SendFailed` |
/// | `ReadStorage` | read the document (with [`Access::Locked`], lock first and hold the lock until the flow ends) | one `Stored` |
/// | `Persist` | write the document under that lock | one `Persisted` |
/// | `Prompt` | show it | nothing |
/// | `Reply` | write the response to that loopback connection and close it | nothing |
/// | `StopListening` | write the replies given, close the loopback server, stop reading pasted input | nothing |
///
/// After `WaitUntil(t)` the flow needs nothing before the monotonic clock reaches `t`:
/// poll again then — or sooner, right after feeding an input that arrived meanwhile
/// ([`Input::Loopback`], [`Input::Pasted`], [`Input::Cancel`]). An answer the flow did
/// not ask for ends it with [`Error::Misuse`]; [`Input::Cancel`] is accepted at any
/// time (a flow in a [critical section](Flow::critical) finishes that section first).
/// After `Done` or `Failed`, `poll` returns `Finished`.
///
/// A shell's whole driver, here with a virtual clock and scripted answers:
///
/// ```
/// use core::time::Duration;
/// use cliauth_core::exchange::{Exchange, TransportError};
/// use cliauth_core::flow::{Flow, Input, Step};
/// use cliauth_core::retry::RetryPolicy;
/// use cliauth_core::time::Now;
/// use cliauth_core::{HttpRequest, HttpResponse, Timestamp};
///
/// let mut now = Now::from_wall(Timestamp::from_unix_secs(1_700_000_000));
/// let mut flow = Exchange::new(HttpRequest::get("https://api.example/v1/me"), RetryPolicy::default(), 7);
/// let mut answers = vec![
///     Input::Response(HttpResponse::new(200)),
///     Input::TransportError(TransportError::not_sent("connection refused")),
/// ];
/// let response = loop {
///     match flow.poll(now) {
///         Step::Send(_request) => flow.handle(now, answers.pop().unwrap()),
///         Step::WaitUntil(t) => now = now.saturating_add(t.saturating_duration_since(now.instant)),
///         Step::Done(response) => break response,
///         Step::Failed(e) => panic!("{e}"),
///         other => panic!("not asked of this flow: {other:?}"),
///     }
/// };
/// assert_eq!(response.status, 200);
/// assert_eq!(flow.attempts(), 2);
/// ```
#[must_use = "a step is an instruction: carry it out and answer it (see the drain rule)"]
#[derive(Debug)]
pub enum Step<T> {
    /// Send this request, then answer with [`Input::Response`],
    /// [`Input::TransportError`] or [`Input::SendFailed`].
    Send(HttpRequest),
    /// Nothing to do before the monotonic clock reaches this instant.
    WaitUntil(Instant),
    /// Show this to the user, then poll again.
    Prompt(Prompt),
    /// Read the credentials document, then answer with [`Input::Stored`].
    ReadStorage(Access),
    /// Write this document under the lock taken to read it, then answer with
    /// [`Input::Persisted`]. Nothing obtained is handed out before that answer.
    Persist(CredentialsDocument),
    /// Write `response` to loopback connection `connection` and close it.
    Reply {
        /// The connection, as the shell numbered it in [`Input::Loopback`].
        connection: u64,
        /// What to write.
        response: LoopbackResponse,
        /// A short, secret-free description for debug logs (`state mismatch`).
        note: &'static str,
    },
    /// The wait for the browser or a pasted key is over: write the replies already
    /// given, then close the loopback server (releasing its port) and stop reading
    /// pasted input.
    StopListening,
    /// The result.
    Done(T),
    /// The flow ended without a result.
    Failed(Error),
    /// The outcome was already returned.
    Finished,
}

impl<T> Step<T> {
    /// The same step with the result mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Step::Send(r) => Step::Send(r),
            Step::WaitUntil(t) => Step::WaitUntil(t),
            Step::Prompt(p) => Step::Prompt(p),
            Step::ReadStorage(a) => Step::ReadStorage(a),
            Step::Persist(d) => Step::Persist(d),
            Step::Reply {
                connection,
                response,
                note,
            } => Step::Reply {
                connection,
                response,
                note,
            },
            Step::StopListening => Step::StopListening,
            Step::Done(v) => Step::Done(f(v)),
            Step::Failed(e) => Step::Failed(e),
            Step::Finished => Step::Finished,
        }
    }

    /// The result of a sub-flow, or the step to pass on (`Finished` of a sub-flow is
    /// a bug of the flow polling it, reported as misuse).
    pub(crate) fn outcome<U>(self) -> Result<Result<T, Error>, Step<U>> {
        Err(match self {
            Step::Done(v) => return Ok(Ok(v)),
            Step::Failed(e) => return Ok(Err(e)),
            Step::Finished => return Ok(Err(Error::Misuse("a finished sub-flow was polled"))),
            Step::Send(r) => Step::Send(r),
            Step::WaitUntil(t) => Step::WaitUntil(t),
            Step::Prompt(p) => Step::Prompt(p),
            Step::ReadStorage(a) => Step::ReadStorage(a),
            Step::Persist(d) => Step::Persist(d),
            Step::Reply {
                connection,
                response,
                note,
            } => Step::Reply {
                connection,
                response,
                note,
            },
            Step::StopListening => Step::StopListening,
        })
    }
}

/// How a [`Step::ReadStorage`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A consistent snapshot, without the lock (the document is only looked at).
    Snapshot,
    /// Under the store's exclusive lock, taken now unless held, and held until the
    /// flow ends: the document will be changed and persisted.
    Locked,
}

/// What a shell feeds a flow.
#[derive(Debug)]
pub enum Input {
    /// The response to the last [`Step::Send`] (any status).
    Response(HttpResponse),
    /// The last [`Step::Send`] failed without a response; the flow decides whether to
    /// retry.
    TransportError(TransportError),
    /// The last [`Step::Send`] could not be made at all, and no retry can fix it (an
    /// unusable URL, a response over the size limit).
    SendFailed(Error),
    /// The document read for [`Step::ReadStorage`] (`None`: nothing stored), or why
    /// it could not be read.
    Stored(Result<Option<CredentialsDocument>, Error>),
    /// Whether the document of [`Step::Persist`] was written.
    Persisted(Result<(), Error>),
    /// A complete request on loopback connection `connection` (numbered by the shell),
    /// or why its bytes were refused (core's `loopback::parse_request`); answered
    /// with one [`Step::Reply`].
    Loopback {
        /// The shell's number for the connection.
        connection: u64,
        /// The request.
        request: Result<LoopbackRequest, Rejection>,
        /// Whose program sent it, as far as the shell can tell ([`Peer`]).
        peer: Peer,
    },
    /// A line the user pasted after [`Prompt::PasteKey`].
    Pasted(SecretString),
    /// The user gave up (Ctrl-C, an aborted page).
    Cancel,
}

/// Who owns the socket a loopback request arrived on: the facts a shell can gather
/// (on Linux, the owner of the peer socket in `/proc/net/tcp`). The decision —
/// which owners a login talks to — is [`Peer::foreign`]'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The connecting socket belongs to user `uid`; the login runs as user `own`.
    User {
        /// The owner of the connecting socket.
        uid: u32,
        /// The user running the login.
        own: u32,
    },
    /// The shell can tell socket owners, but this connection's socket had none when
    /// it was looked up (closed or orphaned before its answer: a browser waits for
    /// its answer, so this is not a browser).
    Unowned,
    /// The shell cannot tell on this platform (or could not read the table).
    Unknown,
}

impl Peer {
    /// Whether a login refuses this request: a socket of another user (`Some(uid)`)
    /// or of nobody (`Some(None)`). The user's own programs and the superuser's (who
    /// can read the login's memory anyway) are served, and so is a peer the shell
    /// cannot tell ([`Peer::Unknown`]: the other defences still apply).
    pub fn foreign(self) -> Option<Option<u32>> {
        match self {
            Peer::User { uid, own } if uid != own && uid != 0 => Some(Some(uid)),
            Peer::Unowned => Some(None),
            Peer::User { .. } | Peer::Unknown => None,
        }
    }
}

/// Something to show the user.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// Open this URL in the browser, and print it for when that fails.
    OpenBrowser {
        /// The URL.
        url: String,
    },
    /// The device code to enter on another device (RFC 8628).
    DeviceCode {
        /// The code to type.
        user_code: String,
        /// Where to type it.
        verification_uri: String,
        /// A URL that carries the code, if the server gave one.
        verification_uri_complete: Option<String>,
        /// When the code expires.
        expires_at: Timestamp,
        /// The polling interval.
        interval: Duration,
        /// A sentence the server wrote for the user (Entra's `message`, outside RFC
        /// 8628), sanitised to one printable line: show it too.
        message: Option<String>,
    },
    /// The key can also be pasted: read lines and feed them as [`Input::Pasted`]
    /// until [`Step::StopListening`].
    PasteKey,
    /// A wait for the user begins (a spinner's message).
    Waiting(&'static str),
    /// That wait is over.
    WaitOver,
    /// A request failed in a way that is retried after `wait`.
    Retrying {
        /// What happened, e.g. `Rate limited: dev:memories (120/hr)` (no secret).
        reason: String,
        /// How long until the next attempt.
        wait: Duration,
        /// The attempt about to be made (2 for the first retry).
        attempt: u32,
        /// The most attempts that will be made.
        max_attempts: u32,
    },
    /// Something went wrong but the flow goes on.
    Warning(String),
}

/// A state machine speaking the protocol of [`Step`] (see its drain rule).
pub trait Flow {
    /// The result.
    type Output;

    /// The next step.
    fn poll(&mut self, now: Now) -> Step<Self::Output>;

    /// An answer to the last step, or an input that arrived while waiting.
    fn handle(&mut self, now: Now, input: Input);

    /// Whether the flow is in a critical section: a request the server may act on
    /// irreversibly (a refresh that rotates the refresh token) has been sent and its
    /// result is not yet persisted. [`Input::Cancel`] takes effect after it; shells
    /// that stop on an interrupt wait for it to end.
    fn critical(&self) -> bool {
        false
    }

    /// While a [`Step::Send`] is being carried out: the monotonic instant at which
    /// the shell abandons it and answers [`Input::TransportError`] with
    /// [`TransportError::unknown`]`("timed out")` — an exchange's overall deadline
    /// ([`Exchange::with_deadline`](crate::exchange::Exchange::with_deadline)). `None`:
    /// the transport's own timeouts apply.
    fn deadline(&self) -> Option<Instant> {
        None
    }
}

/// Steps without a result that a flow has decided and hands out before anything
/// else: prompts, loopback replies, the end of listening.
#[derive(Debug, Default)]
pub(crate) struct Outbox(VecDeque<Step<()>>);

impl Outbox {
    /// Queues a step (one without a result).
    pub(crate) fn push(&mut self, step: Step<()>) {
        self.0.push_back(step);
    }

    /// Queues a prompt.
    pub(crate) fn prompt(&mut self, prompt: Prompt) {
        self.push(Step::Prompt(prompt));
    }

    /// The next queued step, as a step of any flow.
    pub(crate) fn pop<T>(&mut self) -> Option<Step<T>> {
        // Only result-free steps are queued.
        self.0.pop_front()?.outcome().err()
    }
}

/// The error for an input the flow did not ask for ([`Error::Cancelled`] for
/// [`Input::Cancel`], which is always accepted).
pub(crate) fn unexpected(input: &Input) -> Error {
    if let Input::Cancel = input {
        return Error::Cancelled;
    }
    Error::Misuse(match input {
        Input::Response(_) | Input::TransportError(_) | Input::SendFailed(_) => {
            "a response without a request in flight"
        }
        Input::Stored(_) => "a stored document without ReadStorage",
        Input::Persisted(_) => "a persist acknowledgement without Persist",
        Input::Loopback { .. } => "a loopback request while not listening",
        Input::Pasted(_) => "a pasted line while not reading input",
        Input::Cancel => "cancelled",
    })
}

/// The answers of the machines' former `handle_*` methods, for unit tests written
/// against them.
#[cfg(test)]
pub(crate) trait Answers: Flow {
    fn handle_response(&mut self, now: Now, response: HttpResponse) {
        self.handle(now, Input::Response(response));
    }

    fn handle_transport_error(&mut self, now: Now, error: TransportError) {
        self.handle(now, Input::TransportError(error));
    }
}

#[cfg(test)]
impl<F: Flow> Answers for F {}
