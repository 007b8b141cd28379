//! Core's flows, driven from JS by one loop.
//!
//! A [`Machine`] wraps one of core's flows ([`cliauth_core::flow`]) — a device login,
//! the code exchange of a browser login, an access token with refresh — the same
//! flows the native CLI runs, with the same inputs. Machines live in this module's
//! table and JS holds their numbers ([`create`], [`with`], [`free`]: the full
//! boundary's `machine*` operations, [`crate::full_call`]). `poll(now)` returns core's
//! [`Step`] as JSON:
//!
//! - `{"type":"send","request":{method,url,headers,body}}` — execute with `fetch`
//!   (redirects not followed), then answer with the response or the transport error;
//! - `{"type":"wait","until":ms}` — poll again at that time;
//! - `{"type":"prompt",userCode,verificationUri,verificationUriComplete?,expiresAt,intervalMs}`
//!   — show the device code (once), then keep polling;
//! - `{"type":"read_storage"}` — read the credentials document text (or `null`) and
//!   answer with it; hold the storage lock until the machine is done;
//! - `{"type":"persist","document":text}` — write it, then answer that it is written;
//! - `{"type":"done","value":…}` — the result;
//! - `{"type":"finished"}` — the result was already returned.
//!
//! A failure is the poll's error (thrown as `CliauthError` by the npm layer). Every
//! decision — retries, backoff, `slow_down`, expiry, refresh rotation, which profile
//! is written and how — is core's; this binding converts steps and answers, and the
//! JS loop only moves bytes and sleeps. Time is `Date.now()` for both of core's
//! clocks ([`Now::from_wall`]).

use std::cell::RefCell;

use cliauth_core::credentials::Credential;
use cliauth_core::device::{DeviceStats, parse_device_authorization};
use cliauth_core::exchange::TransportError;
use cliauth_core::flow::{
    AccessConfig, AccessToken, Bearer, Client, CodeExchange, DeviceLogin, Endpoints, Flow, Input,
    Login, LoginConfig, Prompt, ServerEndpoints, Step, Want,
};
use cliauth_core::json::Value;
use cliauth_core::token::RefreshPolicy;
use cliauth_core::{Error, HttpResponse, Now, Timestamp};
use core::time::Duration;

use crate::convert::{Obj, request_json};
use crate::credentials::{doc_text, parse_doc};
use crate::plain::{flag, opt_str, opt_u64, req_str, str_list};
use crate::tokens::{complete, token_endpoint, token_view};

/// The flow a machine runs.
// One flow lives in each Machine (a JS-owned heap object); boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Device(DeviceLogin),
    Browser(CodeExchange),
    Access(AccessToken),
}

/// The answer the last step asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asked {
    Nothing,
    Storage,
    Persist,
}

/// One of core's flows with the step protocol of the module docs.
pub(crate) struct Machine {
    kind: Kind,
    asked: Asked,
}

/// A login's configuration from JSON `{clientId, tokenEndpoint?, store?, profile?,
/// issuer?, apiBase?}`: the profile the user named (default: the active one, else
/// `default`), decided by core like the CLI's.
fn login_config(v: &Value, jitter_seed: u64) -> Result<LoginConfig, Error> {
    let mut c = LoginConfig::new(Client::new(req_str(v, "clientId")?));
    c.token_endpoint = owned(opt_str(v, "tokenEndpoint")?);
    c.store = v.get("store").and_then(Value::as_bool) != Some(false);
    c.profile = owned(opt_str(v, "profile")?);
    if let Some(p) = &c.profile {
        cliauth_core::credentials::validate_profile_name(p)?;
    }
    c.issuer = owned(opt_str(v, "issuer")?);
    c.api_base = owned(opt_str(v, "apiBase")?);
    c.seed = jitter_seed;
    Ok(c)
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

fn login_view(login: Login) -> String {
    match login.credential {
        Credential::OAuth(t) => token_view(&t).end(),
        Credential::ApiKey(k) => api_key_view(k.expose_secret()),
    }
}

fn api_key_view(key: &str) -> String {
    Obj::new()
        .str("kind", "api_key")
        .str("accessToken", key)
        .end()
}

fn bearer_view(bearer: Bearer) -> String {
    match bearer.credential {
        Credential::OAuth(t) => token_view(&t)
            .bool("refreshed", bearer.refreshed)
            .bool("rotated", bearer.rotated)
            .end(),
        Credential::ApiKey(k) => api_key_view(k.expose_secret()),
    }
}

/// A step as JSON (`None`: a step JS does not see; poll again).
fn step_json<T>(
    step: Step<T>,
    asked: &mut Asked,
    done: impl FnOnce(T) -> Result<String, Error>,
) -> Option<Result<String, Error>> {
    let kind = |t: &str| Obj::new().str("type", t).end();
    Some(Ok(match step {
        Step::Send(r) => Obj::new()
            .str("type", "send")
            .raw("request", &request_json(&r))
            .end(),
        Step::WaitUntil(t) => Obj::new()
            .str("type", "wait")
            .num("until", t.as_millis())
            .end(),
        Step::Prompt(Prompt::DeviceCode {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_at,
            interval,
            message,
        }) => Obj::new()
            .str("type", "prompt")
            .str("userCode", &user_code)
            .str("verificationUri", &verification_uri)
            .opt(
                "verificationUriComplete",
                verification_uri_complete.as_deref(),
            )
            .num("expiresAt", expires_at.unix_millis())
            .num("intervalMs", interval.as_secs() * 1000)
            .opt("message", message.as_deref())
            .end(),
        Step::ReadStorage(_) => {
            *asked = Asked::Storage;
            kind("read_storage")
        }
        Step::Persist(doc) => {
            *asked = Asked::Persist;
            Obj::new()
                .str("type", "persist")
                .str("document", &doc_text(&doc))
                .end()
        }
        Step::Done(v) => match done(v) {
            Ok(v) => Obj::new().str("type", "done").raw("value", &v).end(),
            Err(e) => return Some(Err(e)),
        },
        Step::Failed(e) => return Some(Err(e)),
        Step::Finished => kind("finished"),
        // Spinner prompts, loopback steps: nothing for JS.
        _ => return None,
    }))
}

impl Machine {
    fn with(kind: Kind) -> Machine {
        Machine {
            kind,
            asked: Asked::Nothing,
        }
    }

    /// A device login (RFC 8628): config `{deviceAuthorizationEndpoint,
    /// tokenEndpoint, clientId, scopes?, store?, profile?, issuer?, apiBase?}`. Emits
    /// `prompt` once the server has issued the code; done: the token view.
    pub(crate) fn device_login(v: &Value, jitter_seed: u64) -> Result<Machine, Error> {
        let endpoint = req_str(v, "deviceAuthorizationEndpoint")?;
        let mut c = login_config(v, jitter_seed)?;
        c.token_endpoint = Some(token_endpoint(v)?);
        let flow = DeviceLogin::new(endpoint, &str_list(v, "scopes")?, c);
        Ok(Machine::with(Kind::Device(flow)))
    }

    /// Device polling from an already received device authorization response,
    /// received at `at`; tokens are not stored. For tests and for apps that request
    /// the code themselves.
    pub(crate) fn device_flow(
        response: &HttpResponse,
        token_endpoint: &str,
        client_id: &str,
        at: Timestamp,
        jitter_seed: u64,
    ) -> Result<Machine, Error> {
        let at = Now::from_wall(at);
        let auth = parse_device_authorization(response, at.wall)?;
        let mut c = LoginConfig::new(Client::new(client_id));
        c.token_endpoint = Some(token_endpoint.to_string());
        c.store = false;
        c.seed = jitter_seed;
        Ok(Machine::with(Kind::Device(DeviceLogin::started(
            auth, at, c,
        ))))
    }

    /// The browser login's second half: checks the callback (`query`) against the
    /// saved login (`pending`, from `authorizationStart`) and exchanges the code.
    /// Config as for `authorizationStart`, plus `tokenEndpoint`, `store?`,
    /// `profile?`, `apiBase?`. Fails at once for a callback that does not match.
    pub(crate) fn browser_login(
        v: &Value,
        pending: &str,
        query: &str,
        at: Timestamp,
        jitter_seed: u64,
    ) -> Result<Machine, Error> {
        let grant = complete(v, pending, query, at)?;
        let mut c = login_config(v, jitter_seed)?;
        c.token_endpoint = Some(token_endpoint(v)?);
        Ok(Machine::with(Kind::Browser(CodeExchange::new(&grant, c))))
    }

    /// A valid access token from storage, refreshed first when due (core's refresh
    /// protocol: rotate, persist before use; `invalid_grant` re-reads). Config
    /// `{tokenEndpoint, clientId, profile?, issuer?, apiBase?, force?, marginMs?,
    /// leewayMs?}`. Done: the token view with `refreshed` and `rotated`, or `{kind:
    /// "api_key", accessToken}` for a profile holding an API key.
    pub(crate) fn access_token(v: &Value, jitter_seed: u64) -> Result<Machine, Error> {
        let mut policy = RefreshPolicy::default();
        if let Some(m) = opt_u64(v, "marginMs")? {
            policy.margin = Duration::from_millis(m);
        }
        if let Some(l) = opt_u64(v, "leewayMs")? {
            policy.leeway = Duration::from_millis(l);
        }
        let mut endpoints = Endpoints::default();
        endpoints.token = Some(token_endpoint(v)?);
        let mut c = AccessConfig::new(
            Client::new(req_str(v, "clientId")?),
            ServerEndpoints::Known(endpoints),
        );
        c.profile = owned(opt_str(v, "profile")?);
        c.issuer = owned(opt_str(v, "issuer")?);
        c.api_base = owned(opt_str(v, "apiBase")?);
        c.policy = policy;
        c.want = if flag(v, "force") {
            Want::Forced
        } else {
            Want::Token
        };
        // The JS loop holds the page's Web Lock for the whole flow.
        c.locked = true;
        c.seed = jitter_seed;
        Ok(Machine::with(Kind::Access(AccessToken::new(c))))
    }

    /// The next step (see the module docs) as JSON, or the flow's error.
    pub(crate) fn poll(&mut self, at: Timestamp) -> Result<String, Error> {
        let at = Now::from_wall(at);
        loop {
            let asked = &mut self.asked;
            let json = match &mut self.kind {
                Kind::Device(f) => step_json(f.poll(at), asked, |l| Ok(login_view(l))),
                Kind::Browser(f) => step_json(f.poll(at), asked, |l| Ok(login_view(l))),
                Kind::Access(f) => step_json(f.poll(at), asked, |b| Ok(bearer_view(b))),
            };
            if let Some(json) = json {
                break json;
            }
        }
    }

    /// The response to the last `send`.
    pub(crate) fn handle_response(&mut self, at: Timestamp, response: HttpResponse) {
        self.handle(at, Input::Response(response));
    }

    /// The last `send` failed without a response. `not_sent`: provably never reached
    /// the server; `reason` must not contain a URL or secret.
    pub(crate) fn handle_transport_error(&mut self, at: Timestamp, not_sent: bool, reason: &str) {
        let e = if not_sent {
            TransportError::not_sent(reason)
        } else {
            TransportError::unknown(reason)
        };
        self.handle(at, Input::TransportError(e));
    }

    /// The document read for `read_storage` (`None`: nothing stored).
    pub(crate) fn handle_stored(&mut self, at: Timestamp, text: Option<&str>) {
        let stored = match text {
            Some(t) => parse_doc(Some(t)).map(Some),
            None => Ok(None),
        };
        self.handle(at, Input::Stored(stored));
    }

    /// The document from `persist` is written.
    pub(crate) fn handle_persisted(&mut self, at: Timestamp) {
        self.handle(at, Input::Persisted(Ok(())));
    }

    /// Reading or writing storage failed: the flow decides (a failed write of
    /// rotated tokens ends it with `storage_error`).
    pub(crate) fn handle_storage_error(&mut self, at: Timestamp, reason: &str) {
        let e = Error::storage(reason.to_string());
        let input = match self.asked {
            Asked::Persist => Input::Persisted(Err(e)),
            _ => Input::Stored(Err(e)),
        };
        self.handle(at, input);
    }

    /// Stops the flow; the next `poll` fails with `cancelled`.
    pub(crate) fn cancel(&mut self, at: Timestamp) {
        self.handle(at, Input::Cancel);
    }

    /// Device polling counters: JSON `{polls, pending, slowDowns, failures}`.
    pub(crate) fn stats(&self) -> String {
        let s = match &self.kind {
            Kind::Device(f) => f.stats(),
            _ => DeviceStats::default(),
        };
        Obj::new()
            .num("polls", s.polls.into())
            .num("pending", s.pending.into())
            .num("slowDowns", s.slow_downs.into())
            .num("failures", s.failures.into())
            .end()
    }

    fn handle(&mut self, at: Timestamp, input: Input) {
        self.asked = Asked::Nothing;
        let at = Now::from_wall(at);
        match &mut self.kind {
            Kind::Device(f) => f.handle(at, input),
            Kind::Browser(f) => f.handle(at, input),
            Kind::Access(f) => f.handle(at, input),
        }
    }
}

/// The machines JS holds, by number (numbers are never reused).
struct Table {
    next: u32,
    machines: Vec<(u32, Machine)>,
}

thread_local! {
    static TABLE: RefCell<Table> = const {
        RefCell::new(Table {
            next: 1,
            machines: Vec::new(),
        })
    };
}

/// Keeps `machine` and returns its number.
pub(crate) fn create(machine: Machine) -> u32 {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let id = t.next;
        t.next = t.next.wrapping_add(1).max(1);
        t.machines.push((id, machine));
        id
    })
}

/// Runs `f` on machine `id`; `misuse` when there is none (freed, or never made).
pub(crate) fn with<R>(id: u64, f: impl FnOnce(&mut Machine) -> R) -> Result<R, Error> {
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        t.machines
            .iter_mut()
            .find(|(i, _)| u64::from(*i) == id)
            .map(|(_, m)| f(m))
            .ok_or(Error::Misuse("this flow was already released"))
    })
}

/// Drops machine `id` (the JS object holding it was collected or is done).
pub(crate) fn free(id: u64) {
    TABLE.with(|t| t.borrow_mut().machines.retain(|(i, _)| u64::from(*i) != id));
}
