//! The one driver: core's flows carried out with real IO.
//!
//! [`drive`] polls a [`Flow`] and does what each [`Step`] says — sends requests with
//! the [`Transport`], sleeps on the [`Clock`], shows prompts through the [`Ui`],
//! reads and writes the [`CredentialStore`], answers loopback connections, reads
//! pasted lines — and feeds every answer back. It decides nothing: every retry,
//! wait, profile edit and error is the flow's. The store's lock (and the in-process
//! gate in front of it) is taken at the first locked read and held until the flow
//! ends, so a read-modify-persist is one critical section across processes.
//!
//! Ctrl-C, when enabled, becomes [`Input::Cancel`]. While the flow is
//! [critical](Flow::critical) — a rotating refresh sent and not yet persisted — a
//! request in flight is not abandoned, and SIGINT, SIGTERM and SIGHUP are held for
//! every flow, enabled or not (`interrupt`): the flow finishes persisting first,
//! then a held Ctrl-C cancels it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use cliauth_core::credentials::CredentialsDocument;
use cliauth_core::exchange::TransportError;
use cliauth_core::flow::{Access, Flow, Input, Prompt, Step};
use cliauth_core::loopback::LoopbackResponse;
use cliauth_core::secret::SecretString;
use cliauth_core::{Error, HttpResponse};
use tokio::sync::oneshot;
use tracing::debug;

use crate::browser::Browser;
use crate::clock::Clock;
use crate::http::{SendFailure, Transport};
use crate::loopback::Serving;
use crate::store::{CredentialStore, StoreLock};
use crate::ui::{Notice, Ui};

mod interrupt;
mod notices;
mod standalone;

pub(crate) use notices::note_skipped;

use interrupt::{Arrived, Deferral};

/// What a flow may use. Anything absent is reported to the flow as misuse if it asks
/// for it.
pub(crate) struct Io<'a> {
    pub(crate) clock: &'a dyn Clock,
    pub(crate) transport: Option<&'a dyn Transport>,
    pub(crate) store: Option<&'a Arc<dyn CredentialStore>>,
    /// One locked read-modify-write per process at a time (in front of the store's
    /// cross-process lock).
    pub(crate) gate: Option<&'a tokio::sync::Mutex<()>>,
    pub(crate) ui: Option<Arc<dyn Ui>>,
    pub(crate) browser: Option<&'a Browser>,
    /// The product's name, for notices.
    pub(crate) product: &'a str,
    pub(crate) loopback: Option<Serving>,
    pub(crate) ctrl_c: bool,
    /// Set once the profiles a newer version stored were reported (once per
    /// authenticator); `None`: never reported.
    pub(crate) noted: Option<&'a AtomicBool>,
}

impl<'a> Io<'a> {
    /// Only a clock.
    pub(crate) fn new(clock: &'a dyn Clock) -> Self {
        Io {
            clock,
            transport: None,
            store: None,
            gate: None,
            ui: None,
            browser: None,
            product: "",
            loopback: None,
            ctrl_c: false,
            noted: None,
        }
    }
}

/// The store's lock, with the in-process gate in front of it.
struct Held<'a> {
    lock: StoreLock,
    _gate: Option<tokio::sync::MutexGuard<'a, ()>>,
}

/// What the driver keeps between steps.
#[derive(Default)]
struct Session {
    /// Loopback connections waiting for their [`Step::Reply`].
    replies: HashMap<u64, oneshot::Sender<LoopbackResponse>>,
    spinner: bool,
    /// Pasted input: `Some` while the flow reads it.
    paste: Option<Paste>,
    opener: Option<tokio::task::JoinHandle<()>>,
}

/// Reading pasted lines, one detached thread per line.
#[derive(Default)]
struct Paste {
    line: Option<oneshot::Receiver<Result<Option<SecretString>, Error>>>,
    /// The input ended (or failed): nothing more will be read.
    ended: bool,
}

/// Runs `flow` to its end with `io`.
pub(crate) async fn drive<F: Flow>(mut io: Io<'_>, flow: &mut F) -> Result<F::Output, Error> {
    let mut held: Option<Held<'_>> = None;
    let mut session = Session::default();
    let ctrl_c = io.ctrl_c;
    let interrupt = async move {
        if ctrl_c {
            interrupt::tokio_handles_sigint();
            if tokio::signal::ctrl_c().await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    };
    tokio::pin!(interrupt);
    let mut interrupted = false;
    // Open while the flow is critical (see the module docs).
    let mut deferral: Option<Deferral> = None;
    // When the answer to a critical request arrived: what SIGKILL can still cost
    // lasts from there to the persist (logged).
    let mut answered: Option<std::time::Instant> = None;
    // After `StopListening`: requests already received are still answered.
    let mut closing = false;
    let result = loop {
        if closing {
            match io.loopback.as_mut().and_then(Serving::try_next) {
                Some(a) => {
                    session.replies.insert(a.connection, a.reply);
                    let input = Input::Loopback {
                        connection: a.connection,
                        request: a.request,
                        peer: a.peer,
                    };
                    flow.handle(io.clock.now(), input);
                }
                None => {
                    closing = false;
                    session.stop_listening(&mut io).await;
                }
            }
        }
        if deferral.is_some() && !flow.critical() {
            let held = deferral.take().map(Deferral::end);
            if held == Some(Arrived::Interrupt) {
                debug!("interrupted while the result was being persisted; cancelling now");
                interrupted = true;
                flow.handle(io.clock.now(), Input::Cancel);
            }
        }
        let step = flow.poll(io.clock.now());
        if deferral.is_none() && flow.critical() {
            deferral = Some(Deferral::begin());
        }
        match step {
            Step::Send(request) => {
                let answer = match io.transport {
                    None => Input::SendFailed(Error::Misuse("this flow cannot send requests")),
                    Some(transport) => {
                        let critical = flow.critical();
                        let deadline = flow.deadline();
                        let cutoff = async {
                            match deadline {
                                Some(at) => io.clock.sleep_until(at).await,
                                None => std::future::pending().await,
                            }
                        };
                        tokio::select! {
                            biased;
                            () = &mut interrupt, if !critical && !interrupted => {
                                interrupted = true;
                                Input::Cancel
                            }
                            sent = transport.send(&request) => answer(sent),
                            () = cutoff => {
                                debug!(url = %request.redacted_url(), "abandoned at the deadline");
                                Input::TransportError(TransportError::unknown("timed out"))
                            }
                        }
                    }
                };
                if deferral.is_some() {
                    answered = Some(std::time::Instant::now());
                }
                flow.handle(io.clock.now(), answer);
            }
            Step::WaitUntil(at) => {
                session.read_paste(&io);
                let woke = tokio::select! {
                    biased;
                    () = &mut interrupt, if !interrupted => Woke::Interrupt,
                    arrival = next_arrival(&mut io.loopback) => Woke::Arrival(arrival),
                    line = next_line(&mut session.paste) => Woke::Line(line),
                    () = io.clock.sleep_until(at) => Woke::Timer,
                };
                let input = match woke {
                    Woke::Interrupt => {
                        interrupted = true;
                        Some(Input::Cancel)
                    }
                    Woke::Arrival(Some(a)) => {
                        session.replies.insert(a.connection, a.reply);
                        Some(Input::Loopback {
                            connection: a.connection,
                            request: a.request,
                            peer: a.peer,
                        })
                    }
                    // The server stopped (it cannot accept any more): wait on.
                    Woke::Arrival(None) => {
                        io.loopback = None;
                        None
                    }
                    Woke::Line(line) => session.pasted(line),
                    Woke::Timer => None,
                };
                if let Some(input) = input {
                    flow.handle(io.clock.now(), input);
                }
            }
            Step::Prompt(prompt) => session.prompt(&io, prompt),
            Step::ReadStorage(access) => {
                let stored = read(&io, access, &mut held).await;
                if let (Ok(Some(doc)), Some(ui), Some(noted)) = (&stored, &io.ui, io.noted) {
                    note_skipped(&**ui, noted, doc);
                }
                flow.handle(io.clock.now(), Input::Stored(stored));
            }
            Step::Persist(document) => {
                let written = match (io.store, &held) {
                    (Some(store), Some(h)) => store.write(&h.lock, &document),
                    _ => Err(Error::Misuse("persist without the store's lock")),
                };
                if let Some(at) = answered.take() {
                    let micros = u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX);
                    debug!(micros, "persisted what the server did, after its answer");
                }
                flow.handle(io.clock.now(), Input::Persisted(written));
            }
            Step::Reply {
                connection,
                response,
                note,
            } => {
                // The loopback server's event (its target, as before the driver).
                debug!(target: "cliauth::loopback", status = response.status, note, "loopback request");
                if let Some(reply) = session.replies.remove(&connection) {
                    let _ = reply.send(response);
                }
            }
            Step::StopListening => {
                session.stop_paste(&io);
                closing = true;
            }
            Step::Done(output) => break Ok(output),
            Step::Failed(e) => break Err(e),
            Step::Finished => break Err(Error::Misuse("the flow had already finished")),
        }
    };
    drop(deferral);
    session.stop_listening(&mut io).await;
    if session.spinner
        && let Some(ui) = &io.ui
    {
        ui.stop_waiting();
    }
    if let Some(opener) = session.opener.take() {
        opener.abort();
    }
    drop(held);
    result
}

/// What ended a wait.
enum Woke {
    Interrupt,
    Arrival(Option<crate::loopback::Arrival>),
    Line(Result<Result<Option<SecretString>, Error>, oneshot::error::RecvError>),
    Timer,
}

fn answer(sent: Result<HttpResponse, SendFailure>) -> Input {
    match sent {
        Ok(response) => Input::Response(response),
        Err(SendFailure::Transport(e)) => Input::TransportError(e),
        Err(SendFailure::Fatal(e)) => Input::SendFailed(e),
    }
}

async fn next_arrival(serving: &mut Option<Serving>) -> Option<crate::loopback::Arrival> {
    match serving {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

async fn next_line(
    paste: &mut Option<Paste>,
) -> Result<Result<Option<SecretString>, Error>, oneshot::error::RecvError> {
    match paste.as_mut().and_then(|p| p.line.as_mut()) {
        Some(line) => line.await,
        None => std::future::pending().await,
    }
}

/// Reads the document as the step asks; a locked read takes the gate and the lock
/// first (unless held) and keeps them.
async fn read<'a>(
    io: &Io<'a>,
    access: Access,
    held: &mut Option<Held<'a>>,
) -> Result<Option<CredentialsDocument>, Error> {
    let Some(store) = io.store else {
        return Err(Error::Misuse("this flow cannot read storage"));
    };
    match access {
        Access::Snapshot => store.read(),
        Access::Locked => {
            if held.is_none() {
                let gate = match io.gate {
                    Some(g) => Some(g.lock().await),
                    None => None,
                };
                let store = Arc::clone(store);
                let lock = tokio::task::spawn_blocking(move || store.lock())
                    .await
                    .map_err(|_| Error::storage("waiting for the credentials lock failed"))??;
                *held = Some(Held { lock, _gate: gate });
            }
            match held {
                Some(h) => store.read_locked(&h.lock),
                None => Err(Error::Misuse("the store lock vanished")),
            }
        }
    }
}

impl Session {
    fn prompt(&mut self, io: &Io<'_>, prompt: Prompt) {
        let Some(ui) = io.ui.clone() else {
            return;
        };
        match prompt {
            Prompt::OpenBrowser { url } => {
                ui.notice(&Notice::OpeningBrowser {
                    product: io.product,
                    url: &url,
                });
                if let Some(browser) = io.browser {
                    self.opener = Some(open(browser.clone(), url, ui));
                }
            }
            Prompt::DeviceCode {
                user_code,
                verification_uri,
                verification_uri_complete,
                message,
                ..
            } => {
                ui.notice(&Notice::DeviceCode {
                    user_code: &user_code,
                    verification_uri: &verification_uri,
                    verification_uri_complete: verification_uri_complete.as_deref(),
                });
                if let Some(message) = message {
                    // The server's own sentence (Entra), sanitised by core.
                    ui.notice(&Notice::Info(&message));
                }
            }
            Prompt::PasteKey => {
                ui.notice(&Notice::PasteHint {
                    product: io.product,
                });
                self.paste = Some(Paste::default());
            }
            Prompt::Waiting(message) => {
                ui.start_waiting(message);
                self.spinner = true;
            }
            Prompt::WaitOver => {
                ui.stop_waiting();
                self.spinner = false;
            }
            Prompt::Retrying {
                reason,
                wait,
                attempt,
                max_attempts,
            } => {
                debug!(
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(0),
                    "retrying"
                );
                ui.notice(&Notice::Retrying {
                    reason: &reason,
                    wait,
                    attempt,
                    max_attempts,
                });
            }
            Prompt::Warning(text) => ui.notice(&Notice::Warning(&text)),
            other => debug!(?other, "prompt not shown"),
        }
    }

    /// Starts reading a pasted line if the flow reads input and none is being read.
    fn read_paste(&mut self, io: &Io<'_>) {
        let (Some(paste), Some(ui)) = (&mut self.paste, &io.ui) else {
            return;
        };
        if paste.line.is_some() || paste.ended {
            return;
        }
        // A detached thread, not `spawn_blocking`: when the browser delivers first,
        // this read stays blocked on the terminal, and a blocking task would keep the
        // runtime — and the process — alive until the user pressed Enter.
        let ui = Arc::clone(ui);
        let (tx, rx) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("cliauth-paste".into())
            .spawn(move || {
                let _ = tx.send(ui.read_secret(""));
            });
        match spawned {
            Ok(_) => paste.line = Some(rx),
            Err(e) => {
                debug!(error = %e.kind(), "cannot read from the terminal");
                paste.ended = true;
            }
        }
    }

    /// A line read (or why none was).
    fn pasted(
        &mut self,
        line: Result<Result<Option<SecretString>, Error>, oneshot::error::RecvError>,
    ) -> Option<Input> {
        let paste = self.paste.as_mut()?;
        paste.line = None;
        match line {
            Ok(Ok(Some(text))) => Some(Input::Pasted(text)),
            Ok(Err(Error::Cancelled)) | Err(_) => Some(Input::Cancel),
            // The end of input never completes the login: the browser may still
            // deliver.
            Ok(Ok(None)) => {
                paste.ended = true;
                None
            }
            Ok(Err(e)) => {
                debug!(error = e.code(), "paste input unavailable");
                paste.ended = true;
                None
            }
        }
    }

    /// Ends the wait for the browser and pasted input: replies already given are
    /// written, the loopback server closes, the terminal is given back.
    async fn stop_listening(&mut self, io: &mut Io<'_>) {
        self.replies.clear();
        if let Some(serving) = io.loopback.take() {
            serving.stop().await;
        }
        self.stop_paste(io);
    }

    /// Stops reading pasted input and gives the terminal back.
    fn stop_paste(&mut self, io: &Io<'_>) {
        if self.paste.take().is_some()
            && let Some(ui) = &io.ui
        {
            ui.cancel_input();
        }
    }
}

/// Opens `url` on a blocking thread; says so when that fails.
fn open(browser: Browser, url: String, ui: Arc<dyn Ui>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let target = url.clone();
        let opened = tokio::task::spawn_blocking(move || browser.open(&target)).await;
        let reason = match opened {
            Ok(Ok(())) => return,
            Ok(Err(reason)) => reason,
            Err(_) => "the browser launcher failed".to_string(),
        };
        ui.notice(&Notice::BrowserFailed {
            url: &url,
            reason: &reason,
        });
    })
}
