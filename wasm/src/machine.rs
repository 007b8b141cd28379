//! Core's flows, driven from JS by one loop.
//!
//! A [`Machine`] wraps one of core's flows ([`cliauth_core::flow`]) — a device login,
//! the code exchange of a browser login, an access token with refresh, an approval
//! request — the same flows the native CLI runs, with the same inputs. `poll(now)`
//! returns core's [`Step`] as JSON:
//!
//! - `{"type":"send","request":{method,url,headers,body}}` — execute with `fetch`
//!   (redirects not followed), then call `handleResponse` or `handleTransportError`;
//! - `{"type":"wait","until":ms}` — poll again at that time;
//! - `{"type":"prompt",userCode,verificationUri,verificationUriComplete?,expiresAt,intervalMs}`
//!   — show the device code (once), then keep polling;
//! - `{"type":"read_storage"}` — read the credentials document text (or `null`) and
//!   call `handleStored`; hold the storage lock until the machine is done;
//! - `{"type":"persist","document":text}` — write it, then call `handlePersisted`;
//! - `{"type":"done","value":…}` — the result;
//! - `{"type":"finished"}` — the result was already returned.
//!
//! A failure is thrown as `CliauthError` from `poll`. Every decision — retries,
//! backoff, `slow_down`, expiry, refresh rotation, which profile is written and how —
//! is core's; this binding converts steps and answers, and the JS loop only moves
//! bytes and sleeps. Time is `Date.now()` for both of core's clocks
//! ([`Now::from_wall`]).

use cliauth_core::credentials::{Credential, CredentialsDocument};
use cliauth_core::device::{DeviceStats, device_approval_request, parse_device_authorization};
use cliauth_core::exchange::{Exchange, TransportError};
use cliauth_core::flow::{
    AccessConfig, AccessToken, Bearer, Client, CodeExchange, DeviceLogin, Endpoints, Flow, Input,
    Login, LoginConfig, Prompt, ServerEndpoints, Step, Want,
};
use cliauth_core::http::api_error;
use cliauth_core::retry::RetryPolicy;
use cliauth_core::token::RefreshPolicy;
use cliauth_core::{Error, HttpResponse, Now};
use core::time::Duration;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert::{
    Obj, flag, now, opt_str, opt_u64, parse_json, req_str, request_json, response, seed, str_list,
};
use crate::credentials::{doc_text, parse_doc};
use crate::error::{JsResult, js};
use crate::tokens::{complete, token_endpoint, token_view};

/// The flow a machine runs.
// One flow lives in each Machine (a JS-owned heap object); boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Device(DeviceLogin),
    Browser(CodeExchange),
    Access(AccessToken),
    /// A request whose non-2xx answer is an error; done: the body text.
    Request(Exchange),
}

/// The answer the last step asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asked {
    Nothing,
    Storage,
    Persist,
}

/// One of core's flows with the step protocol of the module docs.
#[wasm_bindgen]
pub struct Machine {
    kind: Kind,
    asked: Asked,
}

/// A login's configuration from JSON `{clientId, tokenEndpoint?, store?, profile?,
/// issuer?, apiBase?}`: the profile the user named (default: the active one, else
/// `default`), decided by core like the CLI's.
fn login_config(v: &Value, jitter_seed: Option<f64>) -> Result<LoginConfig, Error> {
    let mut c = LoginConfig::new(Client::new(req_str(v, "clientId")?));
    c.token_endpoint = opt_str(v, "tokenEndpoint")?;
    c.store = v.get("store") != Some(&Value::Bool(false));
    c.profile = opt_str(v, "profile")?;
    if let Some(p) = &c.profile {
        cliauth_core::credentials::validate_profile_name(p)?;
    }
    c.issuer = opt_str(v, "issuer")?;
    c.api_base = opt_str(v, "apiBase")?;
    c.seed = seed(jitter_seed)?;
    Ok(c)
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

/// The body of a response that is not an error, as JSON text.
fn body_text(now: Now, response: HttpResponse) -> Result<String, Error> {
    match api_error(&response, now.wall) {
        Some(e) => Err(e),
        None => {
            let mut text = String::new();
            crate::convert::push_str(&mut text, &String::from_utf8_lossy(&response.body));
            Ok(text)
        }
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

#[wasm_bindgen]
impl Machine {
    fn with(kind: Kind) -> Machine {
        Machine {
            kind,
            asked: Asked::Nothing,
        }
    }

    /// A device login (RFC 8628): config JSON `{deviceAuthorizationEndpoint,
    /// tokenEndpoint, clientId, scopes?, store?, profile?, issuer?, apiBase?}`. Emits
    /// `prompt` once the server has issued the code; done: the token view.
    #[wasm_bindgen(js_name = deviceLogin)]
    pub fn device_login(config: &str, jitter_seed: Option<f64>) -> JsResult<Machine> {
        js((|| {
            let v = parse_json(config, "config")?;
            let endpoint = req_str(&v, "deviceAuthorizationEndpoint")?;
            let mut c = login_config(&v, jitter_seed)?;
            c.token_endpoint = Some(token_endpoint(&v)?);
            let flow = DeviceLogin::new(&endpoint, &str_list(&v, "scopes")?, c);
            Ok(Machine::with(Kind::Device(flow)))
        })())
    }

    /// Device polling from an already received device authorization response
    /// (`status`, `headers` JSON, `body`), received at `now_ms`; tokens are not
    /// stored. For tests and for apps that request the code themselves.
    #[wasm_bindgen(js_name = deviceFlow)]
    #[allow(clippy::too_many_arguments)]
    pub fn device_flow(
        status: u16,
        headers: &str,
        body: Vec<u8>,
        token_endpoint: &str,
        client_id: &str,
        now_ms: Option<f64>,
        jitter_seed: Option<f64>,
    ) -> JsResult<Machine> {
        js((|| {
            let at = Now::from_wall(now(now_ms));
            let auth = parse_device_authorization(&response(status, headers, body), at.wall)?;
            let mut c = LoginConfig::new(Client::new(client_id));
            c.token_endpoint = Some(token_endpoint.to_string());
            c.store = false;
            c.seed = seed(jitter_seed)?;
            Ok(Machine::with(Kind::Device(DeviceLogin::started(
                auth, at, c,
            ))))
        })())
    }

    /// The browser login's second half: checks the callback (`query`) against the
    /// saved login (`pending`, from `authorizationStart`) and exchanges the code.
    /// Config JSON as for `authorizationStart`, plus `tokenEndpoint`, `store?`,
    /// `profile?`, `apiBase?`. Throws at once for a callback that does not match.
    #[wasm_bindgen(js_name = browserLogin)]
    pub fn browser_login(
        config: &str,
        pending: &str,
        query: &str,
        now_ms: Option<f64>,
        jitter_seed: Option<f64>,
    ) -> JsResult<Machine> {
        js((|| {
            let v = parse_json(config, "config")?;
            let grant = complete(&v, pending, query, now(now_ms))?;
            let mut c = login_config(&v, jitter_seed)?;
            c.token_endpoint = Some(token_endpoint(&v)?);
            Ok(Machine::with(Kind::Browser(CodeExchange::new(&grant, c))))
        })())
    }

    /// A valid access token from storage, refreshed first when due (core's refresh
    /// protocol: rotate, persist before use; `invalid_grant` re-reads). Config JSON
    /// `{tokenEndpoint, clientId, profile?, issuer?, apiBase?, force?, marginMs?,
    /// leewayMs?}`. Done: the token view with `refreshed` and `rotated`, or `{kind:
    /// "api_key", accessToken}` for a profile holding an API key.
    #[wasm_bindgen(js_name = accessToken)]
    pub fn access_token(config: &str, jitter_seed: Option<f64>) -> JsResult<Machine> {
        js((|| {
            let v = parse_json(config, "config")?;
            let mut policy = RefreshPolicy::default();
            if let Some(m) = opt_u64(&v, "marginMs")? {
                policy.margin = Duration::from_millis(m);
            }
            if let Some(l) = opt_u64(&v, "leewayMs")? {
                policy.leeway = Duration::from_millis(l);
            }
            let mut endpoints = Endpoints::default();
            endpoints.token = Some(token_endpoint(&v)?);
            let mut c = AccessConfig::new(
                Client::new(req_str(&v, "clientId")?),
                ServerEndpoints::Known(endpoints),
            );
            c.profile = opt_str(&v, "profile")?;
            c.issuer = opt_str(&v, "issuer")?;
            c.api_base = opt_str(&v, "apiBase")?;
            c.policy = policy;
            c.want = if flag(&v, "force") {
                Want::Forced
            } else {
                Want::Token
            };
            // The JS loop holds the page's Web Lock for the whole flow.
            c.locked = true;
            c.seed = seed(jitter_seed)?;
            Ok(Machine::with(Kind::Access(AccessToken::new(c))))
        })())
    }

    /// The device-verification page's approval request (`POST endpoint
    /// {"user_code", "action"}`), sent once unless provably not processed. Done: the
    /// response body text; an error status throws (401, 404, …).
    #[wasm_bindgen(js_name = deviceApproval)]
    pub fn device_approval(endpoint: &str, user_code: &str, approve: bool) -> JsResult<Machine> {
        js((|| {
            let request = device_approval_request(
                endpoint,
                user_code,
                &crate::config::user_code_format(),
                approve,
            )?;
            let exchange = Exchange::new(request, RetryPolicy::default(), seed(None)?);
            Ok(Machine::with(Kind::Request(exchange)))
        })())
    }

    /// The next step (see the module docs); throws the flow's error.
    pub fn poll(&mut self, now_ms: Option<f64>) -> JsResult<String> {
        let at = Now::from_wall(now(now_ms));
        js(loop {
            let asked = &mut self.asked;
            let json = match &mut self.kind {
                Kind::Device(f) => step_json(f.poll(at), asked, |l| Ok(login_view(l))),
                Kind::Browser(f) => step_json(f.poll(at), asked, |l| Ok(login_view(l))),
                Kind::Access(f) => step_json(f.poll(at), asked, |b| Ok(bearer_view(b))),
                Kind::Request(f) => step_json(f.poll(at), asked, |r| body_text(at, r)),
            };
            if let Some(json) = json {
                break json;
            }
        })
    }

    /// The response to the last `send`: status, headers as JSON `[[name, value]]`,
    /// body bytes.
    #[wasm_bindgen(js_name = handleResponse)]
    pub fn handle_response(
        &mut self,
        now_ms: Option<f64>,
        status: u16,
        headers: &str,
        body: Vec<u8>,
    ) {
        let input = Input::Response(response(status, headers, body));
        self.handle(now_ms, input);
    }

    /// The last `send` failed without a response. `not_sent`: provably never reached
    /// the server; `reason` must not contain a URL or secret.
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(&mut self, now_ms: Option<f64>, not_sent: bool, reason: &str) {
        let e = if not_sent {
            TransportError::not_sent(reason)
        } else {
            TransportError::unknown(reason)
        };
        self.handle(now_ms, Input::TransportError(e));
    }

    /// The document read for `read_storage` (`undefined` or `null`: nothing stored).
    #[wasm_bindgen(js_name = handleStored)]
    pub fn handle_stored(&mut self, now_ms: Option<f64>, text: Option<String>) {
        let stored: Result<Option<CredentialsDocument>, Error> = match text {
            Some(t) => parse_doc(Some(&t)).map(Some),
            None => Ok(None),
        };
        self.handle(now_ms, Input::Stored(stored));
    }

    /// The document from `persist` is written.
    #[wasm_bindgen(js_name = handlePersisted)]
    pub fn handle_persisted(&mut self) {
        self.handle(None, Input::Persisted(Ok(())));
    }

    /// Reading or writing storage failed: the flow decides (a failed write of
    /// rotated tokens ends it with `storage_error`).
    #[wasm_bindgen(js_name = handleStorageError)]
    pub fn handle_storage_error(&mut self, reason: &str) {
        let e = Error::storage(reason.to_string());
        let input = match self.asked {
            Asked::Persist => Input::Persisted(Err(e)),
            _ => Input::Stored(Err(e)),
        };
        self.handle(None, input);
    }

    /// Stops the flow; the next `poll` throws `cancelled`.
    pub fn cancel(&mut self) {
        self.handle(None, Input::Cancel);
    }

    /// Device polling counters: JSON `{polls, pending, slowDowns, failures}`.
    pub fn stats(&self) -> String {
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
}

impl Machine {
    fn handle(&mut self, now_ms: Option<f64>, input: Input) {
        self.asked = Asked::Nothing;
        let at = Now::from_wall(now(now_ms));
        match &mut self.kind {
            Kind::Device(f) => f.handle(at, input),
            Kind::Browser(f) => f.handle(at, input),
            Kind::Access(f) => f.handle(at, input),
            Kind::Request(f) => f.handle(at, input),
        }
    }
}
