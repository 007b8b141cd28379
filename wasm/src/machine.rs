//! Core's state machines, driven from JS by one loop.
//!
//! A [`Machine`] wraps a core flow — a device login, a code exchange, a refresh, an
//! approval request — and speaks one step protocol. `poll(now)` returns JSON:
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
//! backoff, `slow_down`, expiry, refresh rotation, what to store — is core's; the JS
//! loop only moves bytes and sleeps.

use cliauth_core::authorize::check_id_token_nonce;
use cliauth_core::credentials::{
    Credential, CredentialsDocument, DEFAULT_PROFILE, LoginMethod, Profile,
};
use cliauth_core::device::{
    DeviceFlow, DevicePoll, DeviceStats, device_approval_request, device_authorization_request,
    parse_device_authorization,
};
use cliauth_core::exchange::{Exchange, ExchangeStep, TransportError};
use cliauth_core::http::api_error;
use cliauth_core::refresh::{Refresh, RefreshConfig, RefreshStep};
use cliauth_core::retry::RetryPolicy;
use cliauth_core::state::Nonce;
use cliauth_core::token::{
    RefreshPolicy, TokenEndpointResponse, TokenGrant, TokenSet, parse_token_response, token_request,
};
use cliauth_core::{Error, HttpRequest, HttpResponse, Timestamp};
use core::time::Duration;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert::{
    Obj, flag, now, opt_str, opt_u64, parse_json, req_str, request_json, response, seed, str_list,
};
use crate::credentials::{doc_text, parse_doc};
use crate::error::{JsResult, js};
use crate::tokens::{complete, token_endpoint, token_view};

/// Where tokens go once obtained.
struct StoreTarget {
    profile: String,
    method: LoginMethod,
    issuer: Option<String>,
}

// One Phase lives in each Machine (a JS-owned heap object); boxing would save nothing.
#[allow(clippy::large_enum_variant)]
enum Phase {
    /// A request whose non-2xx answer is an error; done: the body text.
    Request(Exchange),
    /// The device authorization request.
    DeviceStart {
        exchange: Exchange,
        token_endpoint: String,
        client_id: String,
        seed: u64,
    },
    /// Show the code, then poll.
    DevicePrompt(DeviceFlow),
    DevicePolling(DeviceFlow),
    /// A token request (authorization code).
    Exchanging(Exchange),
    /// Core's refresh protocol; `doc` is the document read under the lock.
    Refreshing {
        refresh: Refresh,
        profile: Option<String>,
        issuer: Option<String>,
        doc: Option<(CredentialsDocument, String)>,
        persisting: bool,
    },
    /// Read the document to store new tokens in it.
    Storing(TokenSet),
    /// Write the document holding these tokens (`Some`: not yet handed to JS).
    Writing(TokenSet, Option<String>),
    Done(String),
    Failed(Error),
    Finished,
}

/// One of core's flows with the step protocol of the module docs.
#[wasm_bindgen]
pub struct Machine {
    phase: Phase,
    store: Option<StoreTarget>,
    /// The device flow's counters, kept after polling ends.
    device_stats: DeviceStats,
    /// The nonce a browser login sent: its token response is checked against it.
    nonce: Option<Nonce>,
}

fn target(v: &Value, method: LoginMethod) -> Result<Option<StoreTarget>, Error> {
    if v.get("store") == Some(&Value::Bool(false)) {
        return Ok(None);
    }
    let profile = opt_str(v, "profile")?.unwrap_or_else(|| DEFAULT_PROFILE.to_string());
    cliauth_core::credentials::validate_profile_name(&profile)?;
    Ok(Some(StoreTarget {
        profile,
        method,
        issuer: opt_str(v, "issuer")?,
    }))
}

fn send(r: &HttpRequest) -> String {
    Obj::new()
        .str("type", "send")
        .raw("request", &request_json(r))
        .end()
}

fn wait(t: Timestamp) -> String {
    Obj::new()
        .str("type", "wait")
        .num("until", t.unix_millis())
        .end()
}

fn kind(t: &str) -> String {
    Obj::new().str("type", t).end()
}

fn persist(document: &str) -> String {
    Obj::new()
        .str("type", "persist")
        .str("document", document)
        .end()
}

#[wasm_bindgen]
impl Machine {
    fn with(phase: Phase, store: Option<StoreTarget>) -> Machine {
        Machine {
            phase,
            store,
            device_stats: DeviceStats::default(),
            nonce: None,
        }
    }

    /// A device login (RFC 8628): config JSON `{deviceAuthorizationEndpoint,
    /// tokenEndpoint, clientId, scopes?, store?, profile?, issuer?}`. Emits `prompt`
    /// once the server has issued the code; done: the token view.
    #[wasm_bindgen(js_name = deviceLogin)]
    pub fn device_login(config: &str, jitter_seed: Option<f64>) -> JsResult<Machine> {
        js((|| {
            let v = parse_json(config, "config")?;
            let request = device_authorization_request(
                &req_str(&v, "deviceAuthorizationEndpoint")?,
                &req_str(&v, "clientId")?,
                &str_list(&v, "scopes")?,
            );
            let seed = seed(jitter_seed)?;
            Ok(Machine::with(
                Phase::DeviceStart {
                    exchange: Exchange::new(request, RetryPolicy::default(), seed),
                    token_endpoint: token_endpoint(&v)?,
                    client_id: req_str(&v, "clientId")?,
                    seed: seed.wrapping_add(1),
                },
                target(&v, LoginMethod::Device)?,
            ))
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
            let at = now(now_ms);
            let auth = parse_device_authorization(&response(status, headers, body), at)?;
            let flow = DeviceFlow::new(auth, token_endpoint, client_id, at, seed(jitter_seed)?);
            Ok(Machine::with(Phase::DevicePrompt(flow), None))
        })())
    }

    /// The browser login's second half: checks the callback (`query`) against the
    /// saved login (`pending`, from `authorizationStart`) and exchanges the code.
    /// Config JSON as for `authorizationStart`, plus `tokenEndpoint`, `store?`,
    /// `profile?`. Throws at once for a callback that does not match.
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
            let request = token_request(
                &token_endpoint(&v)?,
                &req_str(&v, "clientId")?,
                TokenGrant::AuthorizationCode {
                    code: &grant.code,
                    verifier: &grant.verifier,
                    redirect_uri: &grant.redirect_uri,
                },
            );
            let mut machine = Machine::with(
                Phase::Exchanging(Exchange::new(
                    request,
                    RetryPolicy::default(),
                    seed(jitter_seed)?,
                )),
                target(&v, LoginMethod::Browser)?,
            );
            machine.nonce = grant.nonce;
            Ok(machine)
        })())
    }

    /// A valid access token from storage, refreshed first when due (core's refresh
    /// protocol: re-read under the lock, rotate, persist before use). Config JSON
    /// `{tokenEndpoint, clientId, profile?, issuer?, force?, marginMs?, leewayMs?}`.
    /// Done: the token view with `refreshed`, or `{kind: "api_key", accessToken}` for
    /// a profile holding an API key.
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
            let config = RefreshConfig {
                token_endpoint: token_endpoint(&v)?,
                client_id: req_str(&v, "clientId")?,
                policy,
                retry: RetryPolicy::default(),
            };
            let seed = seed(jitter_seed)?;
            let refresh = if flag(&v, "force") {
                Refresh::forced(config, seed)
            } else {
                Refresh::new(config, seed)
            };
            Ok(Machine::with(
                Phase::Refreshing {
                    refresh,
                    profile: opt_str(&v, "profile")?,
                    issuer: opt_str(&v, "issuer")?,
                    doc: None,
                    persisting: false,
                },
                None,
            ))
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
            Ok(Machine::with(
                Phase::Request(Exchange::new(request, RetryPolicy::default(), seed(None)?)),
                None,
            ))
        })())
    }

    /// The next step (see the module docs); throws the flow's error.
    pub fn poll(&mut self, now_ms: Option<f64>) -> JsResult<String> {
        js(self.step(now(now_ms)))
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
        self.on_response(now(now_ms), Ok(response(status, headers, body)));
    }

    /// The last `send` failed without a response. `not_sent`: provably never reached
    /// the server; `reason` must not contain a URL or secret.
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(&mut self, now_ms: Option<f64>, not_sent: bool, reason: &str) {
        let e = TransportError {
            not_sent,
            reason: reason.to_string(),
        };
        self.on_response(now(now_ms), Err(e));
    }

    /// The document read for `read_storage` (`undefined` or `null`: nothing stored).
    #[wasm_bindgen(js_name = handleStored)]
    pub fn handle_stored(&mut self, now_ms: Option<f64>, text: Option<String>) {
        let at = now(now_ms);
        if let Err(e) = self.on_stored(at, text.as_deref()) {
            self.phase = Phase::Failed(e);
        }
    }

    /// The document from `persist` is written.
    #[wasm_bindgen(js_name = handlePersisted)]
    pub fn handle_persisted(&mut self) {
        match core::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Writing(t, None) => self.phase = Phase::Done(token_view(&t).end()),
            Phase::Refreshing {
                mut refresh,
                profile,
                issuer,
                doc,
                persisting: true,
            } => {
                refresh.handle_persisted();
                self.phase = Phase::Refreshing {
                    refresh,
                    profile,
                    issuer,
                    doc,
                    persisting: false,
                };
            }
            _ => self.phase = Phase::Failed(Error::Misuse("handlePersisted without persist")),
        }
    }

    /// Reading or writing storage failed: the flow ends with `storage_error`.
    #[wasm_bindgen(js_name = handleStorageError)]
    pub fn handle_storage_error(&mut self, reason: &str) {
        let e = Error::Storage {
            reason: reason.to_string(),
        };
        match &mut self.phase {
            Phase::Refreshing { refresh, .. } => refresh.handle_persist_failed(e),
            _ => self.phase = Phase::Failed(e),
        }
    }

    /// Stops the flow; the next `poll` throws `cancelled`.
    pub fn cancel(&mut self) {
        match &mut self.phase {
            Phase::DevicePrompt(f) | Phase::DevicePolling(f) => f.cancel(),
            Phase::Done(_) | Phase::Finished => {}
            _ => self.phase = Phase::Failed(Error::Cancelled),
        }
    }

    /// Device polling counters: JSON `{polls, pending, slowDowns, failures}`.
    pub fn stats(&self) -> String {
        let s = match &self.phase {
            Phase::DevicePrompt(f) | Phase::DevicePolling(f) => f.stats(),
            _ => self.device_stats,
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
    fn step(&mut self, now: Timestamp) -> Result<String, Error> {
        loop {
            match &mut self.phase {
                Phase::Request(ex)
                | Phase::DeviceStart { exchange: ex, .. }
                | Phase::Exchanging(ex) => match ex.poll(now) {
                    ExchangeStep::Send(r) => return Ok(send(r)),
                    ExchangeStep::WaitUntil(t) => return Ok(wait(t)),
                    ExchangeStep::Finished => {
                        let outcome = ex.finish();
                        self.finish_exchange(now, outcome);
                    }
                },
                Phase::DevicePrompt(flow) => {
                    let prompt = Obj::new()
                        .str("type", "prompt")
                        .str("userCode", flow.user_code())
                        .str("verificationUri", flow.verification_uri())
                        .opt("verificationUriComplete", flow.verification_uri_complete())
                        .num("expiresAt", flow.expires_at().unix_millis())
                        .num("intervalMs", flow.interval().as_secs() * 1000)
                        .end();
                    if let Phase::DevicePrompt(f) =
                        core::mem::replace(&mut self.phase, Phase::Finished)
                    {
                        self.phase = Phase::DevicePolling(f);
                    }
                    return Ok(prompt);
                }
                Phase::DevicePolling(flow) => {
                    let polled = flow.poll(now);
                    self.device_stats = flow.stats();
                    match polled {
                        DevicePoll::Send(r) => return Ok(send(&r)),
                        DevicePoll::WaitUntil(t) => return Ok(wait(t)),
                        DevicePoll::Authorized(t) => self.obtained(t),
                        DevicePoll::Failed(e) => {
                            self.phase = Phase::Finished;
                            return Err(e);
                        }
                        DevicePoll::Finished => self.phase = Phase::Finished,
                    }
                }
                Phase::Refreshing {
                    refresh,
                    doc,
                    persisting,
                    ..
                } => match refresh.poll(now) {
                    RefreshStep::ReadStorage => return Ok(kind("read_storage")),
                    RefreshStep::Send(r) => return Ok(send(r)),
                    RefreshStep::WaitUntil(t) => return Ok(wait(t)),
                    RefreshStep::Persist(tokens) => {
                        let Some((d, name)) = doc.as_mut() else {
                            self.phase = Phase::Failed(Error::Misuse("persist without a document"));
                            continue;
                        };
                        if let Some(p) = d.profile_mut(name) {
                            p.credential = Credential::OAuth(tokens.clone_secret());
                        }
                        *persisting = true;
                        return Ok(persist(&doc_text(d)));
                    }
                    RefreshStep::Ready { tokens, refreshed } => {
                        let v = token_view(&tokens).bool("refreshed", refreshed).end();
                        self.phase = Phase::Done(v);
                    }
                    RefreshStep::Failed(e) => {
                        self.phase = Phase::Finished;
                        return Err(e);
                    }
                    RefreshStep::Finished => self.phase = Phase::Finished,
                },
                Phase::Storing(_) => return Ok(kind("read_storage")),
                Phase::Writing(_, document) => match document.take() {
                    Some(d) => return Ok(persist(&d)),
                    None => {
                        self.phase = Phase::Failed(Error::Misuse("poll while a write is pending"));
                    }
                },
                Phase::Done(_) => {
                    let Phase::Done(v) = core::mem::replace(&mut self.phase, Phase::Finished)
                    else {
                        continue;
                    };
                    return Ok(Obj::new().str("type", "done").raw("value", &v).end());
                }
                Phase::Failed(_) => {
                    let Phase::Failed(e) = core::mem::replace(&mut self.phase, Phase::Finished)
                    else {
                        continue;
                    };
                    return Err(e);
                }
                Phase::Finished => return Ok(kind("finished")),
            }
        }
    }

    /// New tokens: store them if configured, else done.
    fn obtained(&mut self, tokens: TokenSet) {
        self.phase = match self.store {
            Some(_) => Phase::Storing(tokens),
            None => Phase::Done(token_view(&tokens).end()),
        };
    }

    fn finish_exchange(&mut self, now: Timestamp, outcome: Result<HttpResponse, Error>) {
        let phase = core::mem::replace(&mut self.phase, Phase::Finished);
        let result = outcome.and_then(|r| match phase {
            Phase::Request(_) => match api_error(&r, now) {
                Some(e) => Err(e),
                None => {
                    let mut text = String::new();
                    crate::convert::push_str(&mut text, &String::from_utf8_lossy(&r.body));
                    Ok(Phase::Done(text))
                }
            },
            Phase::DeviceStart {
                token_endpoint,
                client_id,
                seed,
                ..
            } => {
                let auth = parse_device_authorization(&r, now)?;
                Ok(Phase::DevicePrompt(DeviceFlow::new(
                    auth,
                    token_endpoint,
                    client_id,
                    now,
                    seed,
                )))
            }
            _ => match parse_token_response(&r, now)? {
                TokenEndpointResponse::Tokens(t) => {
                    check_id_token_nonce(t.id_token.as_ref(), self.nonce.as_ref())?;
                    self.obtained(TokenSet::from_response(t, now));
                    Ok(core::mem::replace(&mut self.phase, Phase::Finished))
                }
                TokenEndpointResponse::Error(e) => Err(e.into_error()),
            },
        });
        self.phase = result.unwrap_or_else(Phase::Failed);
    }

    fn on_response(&mut self, now: Timestamp, r: Result<HttpResponse, TransportError>) {
        match &mut self.phase {
            Phase::Request(ex)
            | Phase::DeviceStart { exchange: ex, .. }
            | Phase::Exchanging(ex) => match r {
                Ok(r) => ex.handle_response(now, r),
                Err(e) => ex.handle_transport_error(now, e),
            },
            Phase::DevicePolling(f) => match r {
                Ok(r) => f.handle_response(now, r),
                Err(e) => f.handle_transport_error(now, e),
            },
            Phase::Refreshing { refresh, .. } => match r {
                Ok(r) => refresh.handle_response(now, r),
                Err(e) => refresh.handle_transport_error(now, e),
            },
            _ => {
                self.phase = Phase::Failed(Error::Misuse("a response without a request in flight"))
            }
        }
    }

    fn on_stored(&mut self, now: Timestamp, text: Option<&str>) -> Result<(), Error> {
        match &mut self.phase {
            Phase::Storing(_) => {
                let Phase::Storing(tokens) = core::mem::replace(&mut self.phase, Phase::Finished)
                else {
                    return Ok(());
                };
                let target = self
                    .store
                    .as_ref()
                    .ok_or(Error::Misuse("storing without a target"))?;
                let mut doc = parse_doc(text)?;
                let mut profile =
                    Profile::new(Credential::OAuth(tokens.clone_secret()), target.method, now);
                profile.issuer = target.issuer.clone();
                doc.set_profile(&target.profile, profile)?;
                doc.switch(&target.profile)?;
                self.phase = Phase::Writing(tokens, Some(doc_text(&doc)));
                Ok(())
            }
            Phase::Refreshing {
                refresh,
                profile,
                issuer,
                doc,
                ..
            } => {
                let parsed = parse_doc(text)?;
                let name = match profile {
                    Some(p) => {
                        if parsed.profile(p).is_none() {
                            return Err(Error::ProfileNotFound { name: p.clone() });
                        }
                        Some(p.clone())
                    }
                    None => parsed.active().map(|(n, _)| n.to_string()),
                };
                let Some(name) = name else {
                    refresh.handle_stored(now, None);
                    return Ok(());
                };
                let Some(p) = parsed.profile(&name) else {
                    refresh.handle_stored(now, None);
                    return Ok(());
                };
                p.check_server(&name, issuer.as_deref(), None)?;
                match &p.credential {
                    Credential::ApiKey(k) => {
                        let v = Obj::new()
                            .str("kind", "api_key")
                            .str("accessToken", k.expose_secret())
                            .end();
                        self.phase = Phase::Done(v);
                    }
                    Credential::OAuth(t) => {
                        refresh.handle_stored(now, Some(t.clone_secret()));
                        *doc = Some((parsed, name));
                    }
                }
                Ok(())
            }
            _ => Err(Error::Misuse("handleStored without read_storage")),
        }
    }
}
