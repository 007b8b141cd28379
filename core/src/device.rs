//! The device authorization grant (RFC 8628) for SSH sessions, containers and WSL.
//!
//! [`device_authorization_request`] starts the flow; [`parse_device_authorization`]
//! reads the user code and verification URI; [`DeviceFlow`] then decides every poll
//! from the clock it is given:
//!
//! - the first poll happens one interval after the start (5 s when the server gives
//!   none, RFC 8628 §3.2), and no poll ever comes sooner than the current interval
//!   after the previous answer (§3.5: the interval is a floor, whatever the server
//!   asks for — 58 s, 120 s);
//! - `authorization_pending` keeps the interval; `slow_down` adds 5 s to it for all
//!   later polls, with no upper cap (§3.5). When the `slow_down` body names a larger
//!   `interval` (GitHub sends the new one), that is used instead. An
//!   `{"error":"slow_down"}` body means slow_down whatever the HTTP status (some
//!   servers send it with 429), and a `Retry-After` on it is honoured too;
//! - `access_denied` and `expired_token` end the flow, as does the local expiry
//!   computed from `expires_in`, which is capped at [`MAX_DEVICE_CODE_LIFETIME`] (a
//!   hostile or broken server's `expires_in` of 10¹² s must not keep a CLI polling
//!   for ever);
//! - transport errors, 429 and 5xx back off exponentially from the interval (twice
//!   it, then four times, …, up to [`MAX_BACKOFF`] or twice the interval, whichever is
//!   longer) — never sooner than the interval.
//!
//! [`DeviceFlow`] is a [flow](crate::flow) (the drain rule is [`Step`]'s): it sends
//! token requests, asks to wait, and ends with the token set or the error. Deadlines
//! are on the monotonic clock, so a wall-clock jump neither expires the code early nor
//! keeps it alive. [`crate::flow::DeviceLogin`] is the whole journey around it.
//!
//! The user-code helpers ([`normalize_user_code`], [`user_code_input`]) are for
//! verification pages: they accept the code in any case, with or without dashes and
//! spaces.

use core::time::Duration;

use crate::client::Client;
use crate::encoding::split_url;
use crate::error::{Error, sanitize_server_text};
use crate::flow::{Flow, Input, Step};
use crate::http::{HttpRequest, HttpResponse, MAX_RESPONSE_BODY, api_error};
use crate::json::Value;
use crate::rng::SplitMix64;
use crate::secret::DeviceCode;
use crate::time::{Instant, Now, Timestamp};
use crate::token::{TokenEndpointResponse, TokenGrant, TokenSet};

/// Polling interval when the server gives none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_INCREMENT: Duration = Duration::from_secs(5);
/// The longest backoff between polls after failures when the interval is short; with
/// an interval over 30 s the backoff is capped at twice the interval instead (never
/// below the interval, RFC 8628 §3.5).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The longest a device code is polled for, whatever `expires_in` the server gives
/// (an hour: common servers give 5 to 30 minutes; RFC 8628's example gives 30).
pub const MAX_DEVICE_CODE_LIFETIME: Duration = Duration::from_secs(3600);

/// Builds the device authorization request (RFC 8628 §3.1) for a public client
/// without extra parameters: [`Client::device_authorization_request`] for
/// [`Client::new`] (which flows use). Safe to replay: a replay only creates another, unused device
/// code.
pub fn device_authorization_request(
    endpoint: &str,
    client_id: &str,
    scopes: &[String],
) -> HttpRequest {
    Client::new(client_id).device_authorization_request(endpoint, scopes)
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceAuthorization {
    /// The device code (secret; sent only to the token endpoint).
    pub device_code: DeviceCode,
    /// The code the user types.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// A URI that includes the code, if the server offers one.
    pub verification_uri_complete: Option<String>,
    /// How long the codes are valid, at most [`MAX_DEVICE_CODE_LIFETIME`].
    pub expires_in: Duration,
    /// The polling interval, if given (at most [`MAX_DEVICE_CODE_LIFETIME`]).
    pub interval: Option<Duration>,
    /// A sentence for the user the server wrote itself (Entra's `message`, not part
    /// of RFC 8628), sanitised to one printable line.
    pub message: Option<String>,
}

/// Parses a device authorization response. `verification_url` (an older spelling some
/// providers use — Google) is accepted too. Verification URIs must be `https` (or
/// `http` on loopback), since they are shown to the user and may be opened.
/// `expires_in` is capped at [`MAX_DEVICE_CODE_LIFETIME`]. An answer with an `error`
/// member is that OAuth error whatever its status (GitHub answers `200` with
/// `{"error": "device_flow_disabled"}`), not "no `device_code`".
pub fn parse_device_authorization(
    response: &HttpResponse,
    now: Timestamp,
) -> Result<DeviceAuthorization, Error> {
    let body = &response.body;
    if body.len() > MAX_RESPONSE_BODY {
        return Err(crate::http::body_too_large(MAX_RESPONSE_BODY));
    }
    if !response.is_success() {
        if response.is_json()
            && let Some(map) = Value::parse(body)
            && let Some(code) = map.get("error").and_then(Value::as_str)
        {
            return Err(crate::token::OAuthError {
                error: sanitize_server_text(code),
                description: map
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(sanitize_server_text),
                uri: None,
            }
            .into_error());
        }
        return Err(api_error(response, now)
            .unwrap_or_else(|| Error::protocol(format!("HTTP {}", response.status), body)));
    }
    let map = crate::token::json_object(
        response,
        body,
        "the device authorization endpoint answered",
        "the device authorization response",
    )?;
    if let Some(code) = map.get("error") {
        let Some(code) = code.as_str() else {
            return Err(Error::protocol("the `error` field is not a string", body));
        };
        return Err(crate::token::OAuthError {
            error: sanitize_server_text(code),
            description: map
                .get("error_description")
                .and_then(Value::as_str)
                .map(sanitize_server_text),
            uri: None,
        }
        .into_error());
    }
    let string = |name: &'static str| -> Result<Option<&str>, Error> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Error::protocol(format!("`{name}` is not a string"), body)),
        }
    };
    let required = |name: &'static str| -> Result<&str, Error> {
        string(name)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::protocol(
                format!("the device authorization response has no `{name}`"),
                body,
            )
        })
    };
    let secs = |name: &'static str| -> Result<Option<Duration>, Error> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(n @ Value::Number(_)) => n
                .as_u64()
                .map(|s| Some(Duration::from_secs(s)))
                .ok_or_else(|| {
                    Error::protocol(format!("`{name}` is not a whole number of seconds"), body)
                }),
            Some(Value::String(s)) => s
                .trim()
                .parse::<u64>()
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| Error::protocol(format!("`{name}` is not a number"), body)),
            Some(_) => Err(Error::protocol(format!("`{name}` is not a number"), body)),
        }
    };
    let device_code = required("device_code")?;
    let user_code = required("user_code")?;
    if user_code.len() > 64 || user_code.chars().any(|c| c.is_control()) {
        return Err(Error::protocol("the `user_code` is not displayable", body));
    }
    let verification_uri = match string("verification_uri")? {
        Some(u) => u,
        None => required("verification_url")?,
    };
    check_display_uri(verification_uri, body)?;
    let complete = string("verification_uri_complete")?;
    if let Some(c) = complete {
        check_display_uri(c, body)?;
    }
    let expires_in = secs("expires_in")?
        .ok_or_else(|| {
            Error::protocol(
                "the device authorization response has no `expires_in`",
                body,
            )
        })?
        .min(MAX_DEVICE_CODE_LIFETIME);
    // An interval longer than the longest lifetime would only mean "never poll";
    // capping it keeps every shell's arithmetic (milliseconds in JS) in range.
    let interval = secs("interval")?
        .filter(|d| !d.is_zero())
        .map(|d| d.min(MAX_DEVICE_CODE_LIFETIME));
    let message = string("message")?
        .map(sanitize_server_text)
        .filter(|m| !m.is_empty());
    Ok(DeviceAuthorization {
        device_code: DeviceCode::new(device_code),
        user_code: user_code.to_string(),
        verification_uri: verification_uri.to_string(),
        verification_uri_complete: complete.map(str::to_string),
        expires_in,
        interval,
        message,
    })
}

fn check_display_uri(uri: &str, body: &[u8]) -> Result<(), Error> {
    let ok = split_url(uri).is_some_and(|u| {
        u.scheme.eq_ignore_ascii_case("https")
            || u.scheme.eq_ignore_ascii_case("http") && crate::encoding::is_loopback_host(u.host)
    });
    if ok && uri.len() <= 2048 {
        Ok(())
    } else {
        Err(Error::protocol(
            "the verification URI is not an https URL",
            body,
        ))
    }
}

/// Counters for benchmarks and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceStats {
    /// Token requests sent.
    pub polls: u32,
    /// `authorization_pending` answers.
    pub pending: u32,
    /// `slow_down` answers.
    pub slow_downs: u32,
    /// Transport errors, 429s and 5xx answers.
    pub failures: u32,
}

#[derive(Debug)]
enum State {
    Waiting(Instant),
    InFlight,
    Authorized(TokenSet),
    Failed(Error),
    Finished,
}

/// The polling state machine (see the module docs).
#[derive(Debug)]
pub struct DeviceFlow {
    token_endpoint: String,
    client: Client,
    requested_scopes: Vec<String>,
    message: Option<String>,
    device_code: DeviceCode,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_at: Timestamp,
    deadline: Instant,
    interval: Duration,
    consecutive_failures: u32,
    rng: SplitMix64,
    stats: DeviceStats,
    state: State,
}

impl DeviceFlow {
    /// Starts polling for `authorization`, received at `now`, for a public client
    /// without extra parameters. `seed` is entropy for backoff jitter.
    pub fn new(
        authorization: DeviceAuthorization,
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        now: Now,
        seed: u64,
    ) -> Self {
        Self::with_client(
            authorization,
            token_endpoint,
            Client::new(client_id),
            now,
            seed,
        )
    }

    /// Like [`DeviceFlow::new`], with the client's requests built by `client` (its
    /// secret, extra parameters and quirks).
    pub fn with_client(
        authorization: DeviceAuthorization,
        token_endpoint: impl Into<String>,
        client: Client,
        now: Now,
        seed: u64,
    ) -> Self {
        let interval = authorization
            .interval
            .unwrap_or(DEFAULT_INTERVAL)
            .min(MAX_DEVICE_CODE_LIFETIME);
        let expires_in = authorization.expires_in.min(MAX_DEVICE_CODE_LIFETIME);
        DeviceFlow {
            token_endpoint: token_endpoint.into(),
            client,
            requested_scopes: Vec::new(),
            message: authorization.message,
            device_code: authorization.device_code,
            user_code: authorization.user_code,
            verification_uri: authorization.verification_uri,
            verification_uri_complete: authorization.verification_uri_complete,
            expires_at: now.wall.saturating_add(expires_in),
            deadline: now.instant.saturating_add(expires_in),
            interval,
            consecutive_failures: 0,
            rng: SplitMix64::new(seed),
            stats: DeviceStats::default(),
            state: State::Waiting(now.instant.saturating_add(interval)),
        }
    }

    /// The scopes the device authorization request asked for: the tokens carry them
    /// when the token response names no scope (RFC 6749 §5.1).
    #[must_use]
    pub fn with_requested_scopes(mut self, scopes: &[String]) -> Self {
        self.requested_scopes = scopes.to_vec();
        self
    }

    /// The server's own sentence for the user, if it sent one (Entra's `message`).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The code to show the user.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the user enters the code.
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// A URI that carries the code, if the server gave one.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// When the codes expire (wall clock, for display).
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// The current polling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Counters.
    pub fn stats(&self) -> DeviceStats {
        self.stats
    }

    /// The prompt that shows this flow's code.
    pub fn prompt(&self) -> crate::flow::Prompt {
        crate::flow::Prompt::DeviceCode {
            user_code: self.user_code.clone(),
            verification_uri: self.verification_uri.clone(),
            verification_uri_complete: self.verification_uri_complete.clone(),
            expires_at: self.expires_at,
            interval: self.interval,
            message: self.message.clone(),
        }
    }

    /// The token endpoint's answer to the last `Send`.
    fn on_response(&mut self, now: Now, response: HttpResponse) -> State {
        // `{"error":"slow_down"}` is slow_down whatever the status (some servers send
        // it with 429 or 503), so it is looked for before the status is judged.
        if let Some(requested) = slow_down(&response) {
            self.consecutive_failures = 0;
            self.stats.slow_downs += 1;
            // No upper cap (§3.5); past the code's lifetime there is no further poll.
            self.interval = self
                .interval
                .saturating_add(SLOW_DOWN_INCREMENT)
                .max(requested.unwrap_or_default());
            let retry_after = response
                .header("retry-after")
                .and_then(|v| crate::http::parse_retry_after(v, now.wall))
                .unwrap_or_default();
            return State::Waiting(now.instant.saturating_add(self.interval.max(retry_after)));
        }
        match self.client.parse_token_response(&response, now.wall) {
            Ok(TokenEndpointResponse::Tokens(t)) => State::Authorized(TokenSet::from_response(
                t.or_requested_scope(&self.requested_scopes),
                now.wall,
            )),
            Ok(TokenEndpointResponse::Error(e)) => match e.error.as_str() {
                "authorization_pending" => {
                    self.consecutive_failures = 0;
                    self.stats.pending += 1;
                    State::Waiting(now.instant.saturating_add(self.interval))
                }
                _ => State::Failed(e.into_error()),
            },
            Err(Error::RateLimited { retry_after, .. }) => {
                let wait = self.backoff().max(retry_after.unwrap_or_default());
                State::Waiting(now.instant.saturating_add(wait))
            }
            Err(Error::Server { .. }) => State::Waiting(now.instant.saturating_add(self.backoff())),
            Err(e) => State::Failed(e),
        }
    }

    /// The wait after a failure: the interval doubled per consecutive failure, capped
    /// at [`MAX_BACKOFF`] or twice the interval (whichever is longer), plus up to 10 %
    /// jitter — so never less than twice the interval.
    fn backoff(&mut self) -> Duration {
        self.stats.failures = self.stats.failures.saturating_add(1);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let exp = self.consecutive_failures.min(6);
        let cap = MAX_BACKOFF.max(self.interval.saturating_mul(2));
        let base = self.interval.saturating_mul(1 << exp).min(cap);
        // up to 10 % jitter so that many clients do not poll in lockstep
        let jitter_ms =
            u64::from(self.rng.next_u32()) % (crate::time::duration_millis(base) / 10 + 1);
        base.saturating_add(Duration::from_millis(jitter_ms))
    }
}

impl Flow for DeviceFlow {
    type Output = TokenSet;

    fn poll(&mut self, now: Now) -> Step<TokenSet> {
        match self.state {
            State::Waiting(_) | State::InFlight if now.instant >= self.deadline => {
                self.state = State::Finished;
                Step::Failed(Error::DeviceCodeExpired)
            }
            State::Waiting(at) if now.instant < at => Step::WaitUntil(at.min(self.deadline)),
            State::Waiting(_) => {
                self.state = State::InFlight;
                self.stats.polls += 1;
                Step::Send(self.client.token_request(
                    &self.token_endpoint,
                    TokenGrant::DeviceCode {
                        device_code: &self.device_code,
                    },
                ))
            }
            State::InFlight => {
                self.state = State::Finished;
                Step::Failed(Error::Misuse(
                    "DeviceFlow::poll called while a request was in flight",
                ))
            }
            State::Authorized(_) | State::Failed(_) | State::Finished => {
                match core::mem::replace(&mut self.state, State::Finished) {
                    State::Authorized(t) => Step::Done(t),
                    State::Failed(e) => Step::Failed(e),
                    _ => Step::Finished,
                }
            }
        }
    }

    /// A response, a transport failure (back off and try again until expiry), or
    /// [`Input::Cancel`] (the next poll reports [`Error::Cancelled`]).
    fn handle(&mut self, now: Now, input: Input) {
        if matches!(self.state, State::Finished) {
            return;
        }
        if let Input::Cancel = input {
            self.state = State::Failed(Error::Cancelled);
            return;
        }
        if !matches!(self.state, State::InFlight) {
            self.state = State::Failed(Error::Misuse(
                "DeviceFlow response without a request in flight",
            ));
            return;
        }
        self.state = match input {
            Input::Response(response) => self.on_response(now, response),
            Input::TransportError(_) => State::Waiting(now.instant.saturating_add(self.backoff())),
            Input::SendFailed(e) => State::Failed(e),
            other => State::Failed(crate::flow::unexpected(&other)),
        };
    }
}

/// Whether a token response is `slow_down` (RFC 8628 §3.5), whatever its status:
/// `Some` with the larger interval the body names, if it names one (GitHub does).
fn slow_down(response: &HttpResponse) -> Option<Option<Duration>> {
    if response.body.len() > MAX_RESPONSE_BODY {
        return None;
    }
    let map = Value::parse(&response.body)?;
    if map.get("error").and_then(Value::as_str) != Some("slow_down") {
        return None;
    }
    let interval = match map.get("interval") {
        Some(n @ Value::Number(_)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    Some(interval.map(Duration::from_secs))
}

/// The shape of user codes on a verification page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCodeFormat {
    /// Allowed characters (upper case).
    pub charset: String,
    /// Characters in a complete code, separators excluded.
    pub length: usize,
    /// Characters per group when displayed (`WDJB-MJHT`: 4); 0 for no grouping.
    pub group: usize,
}

impl Default for UserCodeFormat {
    /// Eight characters from the base-20 consonant alphabet RFC 8628 §6.1 suggests,
    /// shown as `WDJB-MJHT`.
    fn default() -> Self {
        UserCodeFormat {
            charset: "BCDFGHJKLMNPQRSTVWXZ".into(),
            length: 8,
            group: 4,
        }
    }
}

/// Why a user code is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserCodeProblem {
    /// Nothing typed.
    Empty,
    /// A character that never appears in codes.
    InvalidCharacter {
        /// 1-based position among the code's characters.
        position: usize,
        /// The character.
        character: char,
    },
    /// Not enough characters yet.
    TooShort {
        /// Expected length.
        expected: usize,
        /// Entered length.
        actual: usize,
    },
    /// Too many characters.
    TooLong {
        /// Expected length.
        expected: usize,
        /// Entered length.
        actual: usize,
    },
}

impl UserCodeProblem {
    /// The sentence to show (what `Display` prints), put together without core::fmt
    /// (see `encoding::decimal`).
    pub fn message(&self) -> String {
        let n = |v: usize| crate::encoding::decimal(v as u64);
        match self {
            UserCodeProblem::Empty => "enter the code shown in your terminal".into(),
            UserCodeProblem::InvalidCharacter {
                position,
                character,
            } => [
                "`",
                character.encode_utf8(&mut [0; 4]),
                "` (character ",
                &n(*position),
                ") never appears in a code",
            ]
            .concat(),
            UserCodeProblem::TooShort { expected, actual }
            | UserCodeProblem::TooLong { expected, actual } => [
                "the code has ",
                &n(*expected),
                " characters; ",
                &n(*actual),
                " entered",
            ]
            .concat(),
        }
    }
}

impl core::fmt::Display for UserCodeProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for UserCodeProblem {}

impl From<UserCodeProblem> for Error {
    fn from(p: UserCodeProblem) -> Self {
        Error::InvalidArgument {
            name: "code".into(),
            reason: p.message(),
        }
    }
}

/// The state of a code being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCodeInput {
    /// The normalised characters, grouped for display (`WDJB-MJ`).
    pub display: String,
    /// Whether the code is complete and valid.
    pub complete: bool,
    /// The problem, if any (`TooShort` while typing is expected, not an error to show).
    pub problem: Option<UserCodeProblem>,
}

fn significant_chars(input: &str) -> impl Iterator<Item = char> + '_ {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '–' | '—' | '_' | '.'))
}

/// Normalises a typed code: case-insensitive for ASCII letters (other characters must
/// be typed as the charset lists them); spaces, dashes, underscores and dots ignored;
/// returned grouped (`wdjb mjht` → `WDJB-MJHT`).
pub fn normalize_user_code(
    input: &str,
    format: &UserCodeFormat,
) -> Result<String, UserCodeProblem> {
    let typed = user_code_input(input, format);
    match typed.problem {
        None => Ok(typed.display),
        Some(p) => Err(p),
    }
}

/// Interprets a code as it is being typed, for live feedback.
pub fn user_code_input(input: &str, format: &UserCodeFormat) -> UserCodeInput {
    let mut chars = Vec::new();
    let mut problem = None;
    for (i, c) in significant_chars(input).enumerate() {
        // ASCII only: full Unicode upper-casing maps `ß`, `ſ`, `ı` or `ﬁ` to an ASCII
        // letter (`S`, `S`, `I`, `F`), which would accept a character that is not in
        // the code (and links Unicode case tables into the web pages' wasm).
        let upper = c.to_ascii_uppercase();
        // `chars().any` rather than `str::contains(char)`, which searches a non-ASCII
        // character as a substring (a two-way searcher in the pages' wasm).
        if problem.is_none() && !format.charset.chars().any(|a| a == upper) {
            problem = Some(UserCodeProblem::InvalidCharacter {
                position: i + 1,
                character: c,
            });
        }
        chars.push(upper);
    }
    if problem.is_none() {
        problem = if chars.is_empty() {
            Some(UserCodeProblem::Empty)
        } else if chars.len() < format.length {
            Some(UserCodeProblem::TooShort {
                expected: format.length,
                actual: chars.len(),
            })
        } else if chars.len() > format.length {
            Some(UserCodeProblem::TooLong {
                expected: format.length,
                actual: chars.len(),
            })
        } else {
            None
        };
    }
    let mut display = String::new();
    for (i, c) in chars.iter().take(format.length.max(1) * 2).enumerate() {
        if format.group > 0 && i > 0 && i % format.group == 0 {
            display.push('-');
        }
        display.push(*c);
    }
    UserCodeInput {
        complete: problem.is_none(),
        display,
        problem,
    }
}

/// The approval request a device-verification page sends to its own backend:
/// `POST endpoint` with `{"user_code": "WDJB-MJHT", "action": "approve" | "deny"}`.
/// The backend authenticates the user with its own session (cookie), so the request
/// carries no token. This is cliauth's convention, implemented by the dev server.
pub fn device_approval_request(
    endpoint: &str,
    user_code: &str,
    format: &UserCodeFormat,
    approve: bool,
) -> Result<HttpRequest, Error> {
    let code = normalize_user_code(user_code, format)?;
    let action = if approve { "approve" } else { "deny" };
    // Keys in sorted order, as serde_json wrote them.
    let body = crate::json::string_object(&[("action", action), ("user_code", &code)]);
    Ok(HttpRequest::post_json_text(endpoint, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::TransportError;
    use crate::flow::Answers;
    use serde_json::json;

    const T0: Now = Now::from_wall(Timestamp::from_unix_secs(2_000_000));

    fn auth(interval: Option<u64>) -> DeviceAuthorization {
        let mut v = json!({"device_code":"dc","user_code":"WDJB-MJHT","verification_uri":"https://as/device","expires_in":600});
        if let Some(i) = interval {
            v["interval"] = json!(i);
        }
        parse_device_authorization(&HttpResponse::json(200, &v), T0.wall).unwrap()
    }

    fn pending(e: &str) -> HttpResponse {
        HttpResponse::json(400, &json!({ "error": e }))
    }

    #[test]
    fn an_error_in_a_200_answer_is_that_error() {
        // GitHub answers a disabled device flow with 200 and an `error` member.
        let r = HttpResponse::json(
            200,
            &json!({"error": "device_flow_disabled", "error_description": "Device Flow must be explicitly enabled for this App"}),
        );
        let e = parse_device_authorization(&r, T0.wall).unwrap_err();
        assert_eq!(
            e,
            Error::AuthorizationFailed {
                error: "device_flow_disabled".into(),
                description: Some("Device Flow must be explicitly enabled for this App".into()),
            }
        );
        let r = HttpResponse::json(200, &json!({"error": 5}));
        assert!(matches!(
            parse_device_authorization(&r, T0.wall),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn message_quirks_and_requested_scope() {
        let v = json!({"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://microsoft.com/devicelogin",
            "expires_in":"900","interval":"5","message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.\u{1b}[2J"});
        let a = parse_device_authorization(&HttpResponse::json(200, &v), T0.wall).unwrap();
        assert!(
            a.message
                .as_deref()
                .unwrap()
                .starts_with("To sign in, use a web browser")
        );
        assert!(!a.message.as_deref().unwrap().contains('\u{1b}'));
        let client = Client::new("cli").quirks(crate::provider::preset("entra").unwrap().quirks);
        let scopes = vec!["openid".to_string(), "offline_access".to_string()];
        let mut f = DeviceFlow::with_client(a, "https://as/token", client.clone(), T0, 1)
            .with_requested_scopes(&scopes);
        assert!(f.message().is_some());
        let Step::Send(_) = f.poll(secs(5)) else {
            panic!()
        };
        f.handle_response(
            secs(5),
            HttpResponse::json(
                200,
                &json!({"access_token":"at","token_type":"Bearer","expires_in":"3599"}),
            ),
        );
        let Step::Done(t) = f.poll(secs(5)) else {
            panic!()
        };
        // No `scope` in the answer: what was requested (RFC 6749 §5.1).
        assert_eq!(t.scope.as_deref(), Some("openid offline_access"));
        // Entra's `authorization_declined` is a denial through the preset's alias.
        let mut f = DeviceFlow::with_client(auth(None), "https://as/token", client, T0, 1);
        let Step::Send(_) = f.poll(secs(5)) else {
            panic!()
        };
        f.handle_response(secs(5), pending("authorization_declined"));
        let Step::Failed(e) = f.poll(secs(5)) else {
            panic!()
        };
        assert!(matches!(e, Error::AccessDenied { .. }), "{e:?}");
    }

    fn secs(s: u64) -> Now {
        T0.saturating_add(Duration::from_secs(s))
    }

    fn instant(s: u64) -> Instant {
        secs(s).instant
    }

    fn at(t: Instant) -> Now {
        Now::new(t, Timestamp::from_unix_millis(t.as_millis()))
    }

    #[test]
    fn default_interval_and_slow_down() {
        let mut f = DeviceFlow::new(auth(None), "https://as/token", "cli", T0, 1);
        assert_eq!(f.interval(), DEFAULT_INTERVAL);
        assert!(matches!(f.poll(T0), Step::WaitUntil(t) if t == instant(5)));
        let Step::Send(req) = f.poll(secs(5)) else {
            panic!()
        };
        assert!(String::from_utf8_lossy(&req.body).contains("device_code=dc"));
        f.handle_response(secs(5), pending("authorization_pending"));
        assert!(matches!(f.poll(secs(6)), Step::WaitUntil(t) if t == instant(10)));
        let Step::Send(_) = f.poll(secs(10)) else {
            panic!()
        };
        f.handle_response(secs(10), pending("slow_down"));
        assert_eq!(f.interval(), Duration::from_secs(10));
        assert!(matches!(f.poll(secs(10)), Step::WaitUntil(t) if t == instant(20)));
        let Step::Send(_) = f.poll(secs(20)) else {
            panic!()
        };
        f.handle_response(
            secs(20),
            HttpResponse::json(
                200,
                &json!({"access_token":"at","token_type":"Bearer","expires_in":60}),
            ),
        );
        let Step::Done(t) = f.poll(secs(20)) else {
            panic!()
        };
        assert_eq!(t.expires_at, Some(secs(80).wall));
        assert!(matches!(f.poll(secs(20)), Step::Finished));
        assert_eq!(
            f.stats(),
            DeviceStats {
                polls: 3,
                pending: 1,
                slow_downs: 1,
                failures: 0
            }
        );
    }

    #[test]
    fn terminal_errors_and_expiry() {
        for (err, expected) in [
            ("access_denied", Error::AccessDenied { description: None }),
            ("expired_token", Error::DeviceCodeExpired),
        ] {
            let mut f = DeviceFlow::new(auth(Some(1)), "https://as/token", "cli", T0, 1);
            let Step::Send(_) = f.poll(secs(1)) else {
                panic!()
            };
            f.handle_response(secs(1), pending(err));
            assert!(matches!(f.poll(secs(1)), Step::Failed(e) if e == expected));
        }
        let mut f = DeviceFlow::new(auth(Some(1)), "https://as/token", "cli", T0, 1);
        assert!(matches!(
            f.poll(secs(600)),
            Step::Failed(Error::DeviceCodeExpired)
        ));
    }

    #[test]
    fn transport_errors_back_off() {
        let mut f = DeviceFlow::new(auth(Some(5)), "https://as/token", "cli", T0, 1);
        let Step::Send(_) = f.poll(secs(5)) else {
            panic!()
        };
        f.handle_transport_error(secs(5), TransportError::not_sent("refused"));
        let Step::WaitUntil(t) = f.poll(secs(5)) else {
            panic!()
        };
        let wait = t.saturating_duration_since(instant(5));
        assert!(
            wait >= Duration::from_secs(10) && wait <= Duration::from_secs(11),
            "{wait:?}"
        );
        let Step::Send(_) = f.poll(at(t)) else {
            panic!()
        };
        f.handle_response(at(t), HttpResponse::new(503));
        let Step::WaitUntil(t2) = f.poll(at(t)) else {
            panic!()
        };
        assert!(t2.saturating_duration_since(t) >= Duration::from_secs(20));
        assert_eq!(f.stats().failures, 2);
    }

    #[test]
    fn parse_failures() {
        let bad = [
            json!({"user_code":"A","verification_uri":"https://x","expires_in":5}),
            json!({"device_code":"d","user_code":"A","verification_uri":"javascript:alert(1)","expires_in":5}),
            json!({"device_code":"d","user_code":"A","verification_uri":"http://evil.example/","expires_in":5}),
            json!({"device_code":"d","user_code":"A","verification_uri":"https://x"}),
            json!({"device_code":"d","user_code":"A\u{1b}[2J","verification_uri":"https://x","expires_in":5}),
        ];
        for b in bad {
            assert!(
                matches!(
                    parse_device_authorization(&HttpResponse::json(200, &b), T0.wall),
                    Err(Error::Protocol { .. })
                ),
                "{b}"
            );
        }
        let ok = json!({"device_code":"d","user_code":"A","verification_url":"https://x/device","expires_in":"5","interval":0});
        let a = parse_device_authorization(&HttpResponse::json(200, &ok), T0.wall).unwrap();
        assert_eq!(
            (a.verification_uri.as_str(), a.interval),
            ("https://x/device", None)
        );
        let e = parse_device_authorization(
            &HttpResponse::json(400, &json!({"error":"invalid_client"})),
            T0.wall,
        )
        .unwrap_err();
        assert_eq!(e.code(), "authorization_failed");
    }

    #[test]
    fn user_codes() {
        let f = UserCodeFormat::default();
        assert_eq!(normalize_user_code("wdjb-mjht", &f).unwrap(), "WDJB-MJHT");
        assert_eq!(normalize_user_code(" WDJB MJHT ", &f).unwrap(), "WDJB-MJHT");
        assert_eq!(normalize_user_code("wdjbmjht", &f).unwrap(), "WDJB-MJHT");
        assert_eq!(normalize_user_code("", &f), Err(UserCodeProblem::Empty));
        assert_eq!(
            normalize_user_code("WDJB-MJH", &f),
            Err(UserCodeProblem::TooShort {
                expected: 8,
                actual: 7
            })
        );
        assert_eq!(
            normalize_user_code("WDJB-MJHTB", &f),
            Err(UserCodeProblem::TooLong {
                expected: 8,
                actual: 9
            })
        );
        assert_eq!(
            normalize_user_code("WDJA-MJHT", &f),
            Err(UserCodeProblem::InvalidCharacter {
                position: 4,
                character: 'A'
            })
        );
        // Only ASCII letters are upper-cased: `ß`, `ſ`, `ı` and `ﬁ` upper-case (fully)
        // to `S`/`I`/`F` but are not characters of any code.
        for (typed, bad) in [
            ("wdjb-mjhß", 'ß'),
            ("wdjb-mjhſ", 'ſ'),
            ("ıdjb-mjht", 'ı'),
            ("wdjb-mjhﬁ", 'ﬁ'),
        ] {
            let position = typed.chars().filter(|c| *c != '-').count();
            let position = if bad == 'ı' { 1 } else { position };
            assert_eq!(
                normalize_user_code(typed, &f),
                Err(UserCodeProblem::InvalidCharacter {
                    position,
                    character: bad
                }),
                "{typed}"
            );
        }
        let ascii_only = UserCodeFormat {
            charset: "SIF".into(),
            length: 2,
            group: 0,
        };
        assert_eq!(normalize_user_code("sf", &ascii_only).unwrap(), "SF");
        assert!(normalize_user_code("ſf", &ascii_only).is_err());
        assert!(normalize_user_code("ıf", &ascii_only).is_err());
        let typing = user_code_input("wdjbm", &f);
        assert_eq!(
            (typing.display.as_str(), typing.complete),
            ("WDJB-M", false)
        );
        let req =
            device_approval_request("https://as/device/approve", "wdjb mjht", &f, true).unwrap();
        assert_eq!(
            String::from_utf8(req.body).unwrap(),
            r#"{"action":"approve","user_code":"WDJB-MJHT"}"#
        );
    }
}
