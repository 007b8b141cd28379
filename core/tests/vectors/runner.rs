//! Runs the shared test vectors in `tests/vectors/*.json` against cliauth-core.
//!
//! This one file is compiled into core's native tests (`core/tests/vectors.rs`) and,
//! through `#[path]`, into the wasm crate's tests that run in Chromium and Node — so
//! every target checks the same cases with the same code. It depends only on
//! `cliauth_core` and `serde_json`.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use core::time::Duration;

use cliauth_core::authorize::{
    AuthorizationConfig, CallbackParams, LOGIN_ENTROPY_LEN, PendingAuthorization,
};
use cliauth_core::credentials::{self, CredentialsDocument, ResolveInput, StatusReport};
use cliauth_core::device::{self, DeviceFlow, UserCodeFormat};
use cliauth_core::exchange::TransportError;
use cliauth_core::flow::{Flow, Input, Step};
use cliauth_core::handoff::{HandoffCredential, HandoffRequest};
use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
use cliauth_core::loopback::{LoopbackConfig, LoopbackEvent, LoopbackHandler};
use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::retry::{Attempt, RetryDecision, RetryPolicy};
use cliauth_core::secret::{ApiKey, AuthorizationCode};
use cliauth_core::state::StateToken;
use cliauth_core::time::Now;
use cliauth_core::token::{RefreshPolicy, TokenEndpointResponse, parse_token_response};
use cliauth_core::{AppContext, Error, HttpResponse, Timestamp};
use serde_json::{Value, json};

/// The vector files: embedded, and one test each (`#[test]` natively,
/// `#[wasm_bindgen_test]` in wasm), from this one list.
macro_rules! vector_files {
    ($($name:ident),* $(,)?) => {
        /// Every vector file, embedded at compile time.
        pub const FILES: &[(&str, &str)] = &[$(
            (
                stringify!($name),
                include_str!(concat!("../../../tests/vectors/", stringify!($name), ".json")),
            ),
        )*];

        /// One test per vector file.
        mod file {
            $(
                #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
                #[cfg_attr(not(target_arch = "wasm32"), test)]
                fn $name() {
                    super::assert_passes(stringify!($name));
                }
            )*
        }
    };
}

vector_files!(
    pkce,
    keys,
    jwt,
    authorize,
    loopback,
    token_responses,
    http_errors,
    retry,
    device,
    user_codes,
    handoff,
    credentials,
    discovery,
    refresh,
    browser_login,
);

/// The flow transcripts.
#[path = "transcripts.rs"]
pub mod transcripts;

/// Runs one file and fails with every failing case listed.
pub fn assert_passes(name: &str) {
    let outcome = run(name);
    assert!(
        outcome.failures.is_empty(),
        "{} of {} {name} vectors failed:\n{}",
        outcome.failures.len(),
        outcome.cases,
        outcome.failures.join("\n")
    );
}

/// Results of one file: how many cases ran and the failures.
pub struct Outcome {
    pub cases: usize,
    pub failures: Vec<String>,
}

/// Runs one file by name.
pub fn run(name: &str) -> Outcome {
    let text = FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .expect("unknown vector file");
    let v: Value = serde_json::from_str(text).expect("vector file is valid JSON");
    let mut o = Outcome {
        cases: 0,
        failures: Vec::new(),
    };
    match name {
        "pkce" => pkce(&v, &mut o),
        "keys" => keys(&v, &mut o),
        "jwt" => jwt(&v, &mut o),
        "authorize" => authorize(&v, &mut o),
        "loopback" => loopback(&v, &mut o),
        "token_responses" => token_responses(&v, &mut o),
        "http_errors" => http_errors(&v, &mut o),
        "retry" => retry(&v, &mut o),
        "device" => device_flows(&v, &mut o),
        "user_codes" => user_codes(&v, &mut o),
        "handoff" => handoff(&v, &mut o),
        "credentials" => credentials_doc(&v, &mut o),
        "discovery" => discovery(&v, &mut o),
        "refresh" => transcripts::refresh(&v, &mut o),
        "browser_login" => transcripts::browser_login(&v, &mut o),
        _ => o.failures.push(format!("no runner for {name}")),
    }
    assert!(
        o.cases > 0 || !o.failures.is_empty(),
        "{name}: no cases ran"
    );
    o
}

fn check(o: &mut Outcome, case: &str, actual: Value, expected: &Value) {
    o.cases += 1;
    if &actual != expected {
        o.failures.push(format!(
            "{case}\n    expected: {expected}\n    actual:   {actual}"
        ));
    }
}

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string `{key}` in {v}"))
        .to_string()
}

fn name(v: &Value) -> String {
    v.get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

pub fn response(v: &Value) -> HttpResponse {
    let mut r = HttpResponse::new(v["status"].as_u64().unwrap() as u16);
    for h in v["headers"].as_array().into_iter().flatten() {
        r = r.with_header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    r.with_body(v["body"].as_str().unwrap_or_default().as_bytes().to_vec())
}

fn err_code(e: &Error) -> Value {
    json!({ "error": e.code() })
}

fn opt_str<T: AsRef<str>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.as_ref().to_string()))
}

// ── pkce ───────────────────────────────────────────────────────────────────

fn pkce(v: &Value, o: &mut Outcome) {
    for c in v["from_entropy"].as_array().unwrap() {
        let bytes = hex(&s(c, "entropy_hex"));
        let verifier = PkceVerifier::from_entropy_bytes(&bytes).unwrap();
        let actual = json!({
            "verifier": verifier.expose_secret(),
            "challenge_s256": verifier.challenge(PkceMethod::S256).as_str(),
        });
        check(
            o,
            &name(c),
            actual,
            &json!({ "verifier": c["verifier"], "challenge_s256": c["challenge_s256"] }),
        );
        // A verifier accepted from outside gives the same challenge.
        let again = PkceVerifier::new(s(c, "verifier")).unwrap();
        check(
            o,
            &format!("{} (re-parsed)", name(c)),
            json!(again.challenge(PkceMethod::S256).as_str()),
            &c["challenge_s256"],
        );
    }
    for c in v["verifier_checks"].as_array().unwrap() {
        let ok = PkceVerifier::new(s(c, "verifier")).is_ok();
        check(
            o,
            &format!("verifier check {}", c["verifier"]),
            json!(ok),
            &c["valid"],
        );
    }
    for c in v["negotiate"].as_array().unwrap() {
        let list: Option<Vec<String>> = c["server"]
            .as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect());
        let actual =
            match PkceMethod::negotiate(list.as_deref(), c["allow_plain"].as_bool().unwrap()) {
                Ok(m) => json!(m.as_str()),
                Err(e) => err_code(&e),
            };
        check(o, &format!("negotiate {c}"), actual, &c["expect"]);
    }
}

// ── keys ───────────────────────────────────────────────────────────────────

pub fn registry(formats: &Value) -> KeyRegistry {
    KeyRegistry::new(
        formats
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                if f["jwt"].as_bool() == Some(true) {
                    KeyFormat::jwt(
                        s(f, "id"),
                        s(f, "product"),
                        s(f, "label"),
                        f["min_len"].as_u64().unwrap() as usize,
                    )
                } else {
                    let charset = match f["charset"].as_str().unwrap() {
                        "base62" => Charset::Base62,
                        "base62_underscore" => Charset::Base62Underscore,
                        "base64url" => Charset::Base64Url,
                        "hex_lower" => Charset::HexLower,
                        other => Charset::Custom(other.to_string()),
                    };
                    KeyFormat::prefixed(
                        s(f, "id"),
                        s(f, "product"),
                        s(f, "label"),
                        s(f, "prefix"),
                        charset,
                        f["min_len"].as_u64().unwrap() as usize,
                        f["max_len"].as_u64().unwrap() as usize,
                    )
                }
            })
            .collect(),
    )
}

fn keys(v: &Value, o: &mut Outcome) {
    let reg = |c: &Value| registry(&v["registries"][s(c, "registry")]);
    for c in v["validate"].as_array().unwrap() {
        let actual = match reg(c).validate(&s(c, "input")) {
            Ok(k) => json!({ "ok": { "format_id": k.format_id(), "masked": k.masked() } }),
            Err(p) => json!({ "problem": { "kind": p.kind.code(), "message": p.to_string() } }),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
    for c in v["mask"].as_array().unwrap() {
        check(
            o,
            &format!("mask {}", c["input"]),
            json!(reg(c).mask(&s(c, "input"))),
            &c["masked"],
        );
    }
}

// ── jwt ────────────────────────────────────────────────────────────────────

fn jwt(v: &Value, o: &mut Outcome) {
    for c in v["decode"].as_array().unwrap() {
        let actual = match cliauth_core::jwt::decode_unverified(&s(c, "token")) {
            Ok(d) => json!({
                "header": { "alg": d.header.alg, "typ": d.header.typ, "kid": d.header.kid },
                "claims": {
                    "sub": d.claims.sub, "iss": d.claims.iss, "aud": d.claims.aud, "exp": d.claims.exp,
                    "iat": d.claims.iat, "nbf": d.claims.nbf, "scope": d.claims.scope,
                },
            }),
            Err(e) => json!({ "error": e.to_string() }),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
}

// ── authorize ──────────────────────────────────────────────────────────────

fn login_entropy(c: &Value) -> [u8; LOGIN_ENTROPY_LEN] {
    let bytes = hex(&s(c, "entropy_hex"));
    let mut e = [0u8; LOGIN_ENTROPY_LEN];
    e.copy_from_slice(&bytes);
    e
}

fn callback_json(p: &CallbackParams) -> Value {
    json!({
        "code": opt_str(p.code.as_ref().map(AuthorizationCode::expose_secret)),
        "api_key": opt_str(p.api_key.as_ref().map(ApiKey::expose_secret)),
        "state": p.state, "error": p.error, "error_description": p.error_description, "iss": p.iss,
    })
}

fn authorize(v: &Value, o: &mut Outcome) {
    let now = Timestamp::from_unix_secs(1_795_341_600);
    for c in v["authorize_url"].as_array().unwrap() {
        let cfg = &c["config"];
        let mut config =
            AuthorizationConfig::new(s(cfg, "authorization_endpoint"), s(cfg, "client_id")).scopes(
                cfg["scopes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string()),
            );
        for pair in cfg["extra"].as_array().unwrap() {
            config = config.param(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        }
        let port = c["port"].as_u64().unwrap() as u16;
        let actual = match PendingAuthorization::start(&config, port, &login_entropy(c), now) {
            Ok(p) => {
                // The verifier is only reachable through a completed callback.
                let state = p.state().expose_secret().to_string();
                let url = p.url().to_string();
                let redirect = p.redirect_uri().to_string();
                let mut p = p;
                let cb = CallbackParams::parse(&format!("code=x&state={state}")).unwrap();
                let grant = p.complete(now, &cb).unwrap();
                json!({ "url": url, "state": state, "verifier": grant.verifier.expose_secret(), "redirect_uri": redirect })
            }
            Err(e) => err_code(&e),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
    for c in v["parse_callback"].as_array().unwrap() {
        let actual = match CallbackParams::parse(&s(c, "query")) {
            Ok(p) => callback_json(&p),
            Err(e) => err_code(&e),
        };
        check(o, &format!("parse {}", c["query"]), actual, &c["expect"]);
    }
    for c in v["complete"].as_array().unwrap() {
        let mut config =
            AuthorizationConfig::new("https://auth.acme.example/authorize", "acme-cli");
        if let Some(iss) = c["issuer"].as_str() {
            config = config.issuer(iss, c["require_iss"].as_bool().unwrap());
        }
        let mut p = PendingAuthorization::start(&config, 4711, &login_entropy(c), now).unwrap();
        let state = p.state().expose_secret().to_string();
        let mut step = |query: &str, at: Timestamp| {
            let cb = CallbackParams::parse(&query.replace("{state}", &state)).unwrap();
            match p.complete(at, &cb) {
                Ok(g) => {
                    json!({ "code": g.code.expose_secret(), "verifier": g.verifier.expose_secret(), "redirect_uri": g.redirect_uri })
                }
                Err(e) => err_code(&e),
            }
        };
        let at = now.saturating_add(Duration::from_secs(c["after_secs"].as_u64().unwrap()));
        let first = step(&s(c, "query"), at);
        check(o, &name(c), first, &c["expect"]);
        if let Some(then) = c.get("then") {
            let second = step(&s(then, "query"), at);
            check(o, &format!("{} (then)", name(c)), second, &then["expect"]);
        }
    }
    for c in v["id_token_nonce"].as_array().unwrap() {
        let scopes = c["scopes"].as_array().unwrap().iter();
        let config = AuthorizationConfig::new("https://auth.acme.example/authorize", "acme-cli")
            .scopes(scopes.map(|x| x.as_str().unwrap().to_string()));
        let mut p = PendingAuthorization::start(&config, 4711, &login_entropy(c), now).unwrap();
        let nonce_sent = p.url().contains("&nonce=");
        let cb =
            CallbackParams::parse(&format!("code=c&state={}", p.state().expose_secret())).unwrap();
        let grant = p.complete(now, &cb).unwrap();
        let actual = match parse_token_response(&response(&c["response"]), now) {
            Ok(TokenEndpointResponse::Tokens(t)) => match grant.check_tokens(&t) {
                Ok(()) => {
                    json!({ "nonce_sent": nonce_sent, "access_token": t.access_token.expose_secret() })
                }
                Err(e) => err_code(&e),
            },
            Ok(TokenEndpointResponse::Error(e)) => json!({ "oauth_error": e.error }),
            Err(e) => err_code(&e),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
}

// ── loopback ───────────────────────────────────────────────────────────────

fn loopback(v: &Value, o: &mut Outcome) {
    let cfg = &v["config"];
    let fill = cfg["state_fill"].as_u64().unwrap() as u8;
    for c in v["cases"].as_array().unwrap() {
        let mut config =
            LoopbackConfig::new(cfg["port"].as_u64().unwrap() as u16, s(cfg, "product"));
        config.allowed_origins = cfg["allowed_origins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        let accept = s(c, "accept");
        config.accept.code = accept.split(',').any(|a| a == "code");
        config.accept.api_key = accept.split(',').any(|a| a == "api_key");
        let mut handler = LoopbackHandler::new(config, &StateToken::from_entropy(&[fill; 32]));
        for (i, step) in c["steps"].as_array().unwrap().iter().enumerate() {
            let label = format!("{} (step {})", name(c), i + 1);
            let reply = handler.handle_bytes(s(step, "request").as_bytes());
            let expect = &step["expect"];
            let Some(reply) = reply else {
                check(o, &label, json!("incomplete"), expect);
                continue;
            };
            if expect == "incomplete" {
                check(
                    o,
                    &label,
                    json!({ "status": reply.response.status }),
                    expect,
                );
                continue;
            }
            let event = match &reply.event {
                None => Value::Null,
                Some(LoopbackEvent::Callback(p)) => {
                    let mut m = serde_json::Map::new();
                    for (k, val) in callback_json(p).as_object().unwrap() {
                        if !val.is_null() && k != "state" {
                            m.insert(k.clone(), val.clone());
                        }
                    }
                    Value::Object(m)
                }
            };
            let mut actual = json!({ "status": reply.response.status, "event": event });
            let mut wanted = json!({ "status": expect["status"], "event": expect["event"] });
            if let Some(headers) = expect["headers"].as_object() {
                for (h, want) in headers {
                    actual[format!("header {h}")] = opt_str(reply.response.header(h));
                    wanted[format!("header {h}")] = want.clone();
                }
            }
            let body = String::from_utf8_lossy(&reply.response.body).into_owned();
            for needle in expect["body_contains"].as_array().into_iter().flatten() {
                let n = needle.as_str().unwrap();
                actual[format!("body contains {n}")] = json!(body.contains(n));
                wanted[format!("body contains {n}")] = json!(true);
            }
            for needle in expect["body_excludes"].as_array().into_iter().flatten() {
                let n = needle.as_str().unwrap();
                actual[format!("body excludes {n}")] = json!(!body.contains(n));
                wanted[format!("body excludes {n}")] = json!(true);
            }
            check(o, &label, actual, &wanted);
        }
    }
}

// ── token responses and HTTP outcomes ──────────────────────────────────────

fn token_responses(v: &Value, o: &mut Outcome) {
    let now = Timestamp::from_unix_secs(1_795_341_600);
    for c in v["cases"].as_array().unwrap() {
        let actual = match parse_token_response(&response(&c["response"]), now) {
            Ok(TokenEndpointResponse::Tokens(t)) => json!({ "tokens": {
                "access_token": t.access_token.expose_secret(),
                "token_type": t.token_type,
                "expires_in_ms": t.expires_in.map(|d| d.as_millis() as u64),
                "refresh_token": opt_str(t.refresh_token.as_ref().map(|r| r.expose_secret())),
                "scope": t.scope,
                "id_token": opt_str(t.id_token.as_ref().map(|r| r.expose_secret())),
            }}),
            Ok(TokenEndpointResponse::Error(e)) => {
                json!({ "oauth_error": { "error": e.error, "description": e.description } })
            }
            Err(e) => json!({ "error": { "code": e.code(), "message": e.to_string() } }),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
}

pub fn app(v: &Value) -> AppContext {
    AppContext::new(s(v, "cli"), s(v, "product"))
}

fn http_errors(v: &Value, o: &mut Outcome) {
    let now = Timestamp::from_unix_secs(v["now"].as_u64().unwrap());
    let app = app(&v["app"]);
    for c in v["cases"].as_array().unwrap() {
        let actual = match cliauth_core::http::api_error(&response(&c["response"]), now) {
            None => Value::Null,
            Some(e) => {
                let envelope = e.to_json(&app);
                json!({
                    "code": e.code(), "exit_code": e.exit_code(), "message": e.to_string(),
                    "hint": e.hint(&app), "retry_after": envelope["error"]["retry_after"],
                })
            }
        };
        check(o, &name(c), actual, &c["expect"]);
    }
}

fn retry(v: &Value, o: &mut Outcome) {
    let now = Timestamp::from_unix_secs(v["now"].as_u64().unwrap());
    let policy = RetryPolicy::default();
    for c in v["cases"].as_array().unwrap() {
        let resp;
        let outcome = match &c["outcome"] {
            Value::String(t) if t == "not_sent" => Attempt::NotSent,
            Value::String(_) => Attempt::OutcomeUnknown,
            r => {
                resp = response(r);
                Attempt::Response(&resp)
            }
        };
        let d = policy.decide(
            c["attempt"].as_u64().unwrap() as u32,
            outcome,
            c["idempotent"].as_bool().unwrap(),
            now,
            c["jitter"].as_u64().unwrap() as u32,
        );
        let actual = match d {
            RetryDecision::RetryAfter(wait) => json!(wait.as_millis() as u64),
            RetryDecision::Stop => json!("stop"),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
}

// ── device ─────────────────────────────────────────────────────────────────

fn device_flows(v: &Value, o: &mut Outcome) {
    let start = Timestamp::from_unix_millis(v["start_ms"].as_u64().unwrap());
    for c in v["parse"].as_array().unwrap() {
        let actual = match device::parse_device_authorization(&response(&c["response"]), start) {
            Ok(a) => json!({
                "user_code": a.user_code, "verification_uri": a.verification_uri,
                "verification_uri_complete": a.verification_uri_complete,
                "expires_in_secs": a.expires_in.as_secs(), "interval_secs": a.interval.map(|d| d.as_secs()),
            }),
            Err(e) => err_code(&e),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
    for c in v["flows"].as_array().unwrap() {
        let body = c["authorization"].to_string();
        let started = HttpResponse::new(200)
            .with_header("content-type", "application/json")
            .with_body(body);
        let auth = device::parse_device_authorization(&started, start).unwrap();
        let mut flow = DeviceFlow::new(
            auth,
            s(v, "token_endpoint"),
            s(v, "client_id"),
            start.into(),
            0,
        );
        let mut answers: Vec<&Value> = c["responses"].as_array().unwrap().iter().collect();
        answers.reverse();
        let mut now = Now::from(start);
        let mut transcript = Vec::new();
        let expected: Vec<Value> = c["expect"]["transcript"].as_array().unwrap().clone();
        for _ in 0..100 {
            match flow.poll(now) {
                Step::WaitUntil(t) => {
                    let waited = t.saturating_duration_since(now.instant).as_millis() as u64;
                    // Ranges are checked here; the transcript records the expected entry.
                    match expected.get(transcript.len()) {
                        Some(e) if e.get("wait_between").is_some() => {
                            let lo = e["wait_between"][0].as_u64().unwrap();
                            let hi = e["wait_between"][1].as_u64().unwrap();
                            transcript.push(if (lo..=hi).contains(&waited) {
                                e.clone()
                            } else {
                                json!({ "wait": waited })
                            });
                        }
                        _ => transcript.push(json!({ "wait": waited })),
                    }
                    now = now.saturating_add(Duration::from_millis(waited));
                }
                Step::Send(_) => {
                    transcript.push(json!("send"));
                    match answers.pop() {
                        Some(Value::String(t)) if t == "transport_not_sent" => {
                            flow.handle(
                                now,
                                Input::TransportError(TransportError::not_sent(
                                    "connection refused",
                                )),
                            );
                        }
                        Some(r) => flow.handle(now, Input::Response(response(r))),
                        None => {
                            transcript.push(json!("ran out of responses"));
                            break;
                        }
                    }
                }
                Step::Done(t) => {
                    transcript.push(json!({ "authorized": t.access_token.expose_secret() }));
                    break;
                }
                Step::Failed(e) => {
                    transcript.push(json!({ "failed": e.code() }));
                    break;
                }
                Step::Finished => break,
                other => {
                    transcript.push(json!({ "unexpected": format!("{other:?}") }));
                    break;
                }
            }
        }
        let st = flow.stats();
        let actual = json!({
            "transcript": transcript,
            "stats": { "polls": st.polls, "pending": st.pending, "slow_downs": st.slow_downs, "failures": st.failures },
        });
        check(o, &name(c), actual, &c["expect"]);
    }
}

fn user_codes(v: &Value, o: &mut Outcome) {
    let f = UserCodeFormat::default();
    for c in v["normalize"].as_array().unwrap() {
        let actual = match device::normalize_user_code(&s(c, "input"), &f) {
            Ok(code) => json!(code),
            Err(p) => json!({ "problem": p.to_string() }),
        };
        check(
            o,
            &format!("normalize {}", c["input"]),
            actual,
            &c["expect"],
        );
    }
    for c in v["typing"].as_array().unwrap() {
        let t = device::user_code_input(&s(c, "input"), &f);
        check(
            o,
            &format!("typing {}", c["input"]),
            json!({ "display": t.display, "complete": t.complete }),
            &c["expect"],
        );
    }
    for c in v["approval"].as_array().unwrap() {
        let actual = match device::device_approval_request(
            &s(c, "endpoint"),
            &s(c, "user_code"),
            &f,
            c["approve"].as_bool().unwrap(),
        ) {
            Ok(r) => {
                json!({ "url": r.url, "body": serde_json::from_slice::<Value>(&r.body).unwrap() })
            }
            Err(e) => err_code(&e),
        };
        check(
            o,
            &format!("approval {}", c["user_code"]),
            actual,
            &c["expect"],
        );
    }
}

// ── handoff ────────────────────────────────────────────────────────────────

fn handoff(v: &Value, o: &mut Outcome) {
    for c in v["parse"].as_array().unwrap() {
        let actual = match HandoffRequest::from_url(&s(c, "url")) {
            Ok(r) => {
                json!({ "port": r.port, "state": r.state, "mode": r.mode.as_str(), "code_challenge": r.code_challenge, "accepts_api_key": r.accepts_api_key })
            }
            Err(e) => json!({ "error": e.code(), "message": e.to_string() }),
        };
        check(o, &s(c, "url"), actual, &c["expect"]);
    }
    for c in v["deliver"].as_array().unwrap() {
        let r = HandoffRequest::from_url(&s(c, "url")).unwrap();
        let cred = match c["credential"].get("code") {
            Some(code) => HandoffCredential::Code(AuthorizationCode::new(code.as_str().unwrap())),
            None => HandoffCredential::ApiKey(ApiKey::new(s(&c["credential"], "api_key"))),
        };
        let post = r.post_request(&cred);
        let actual = json!({
            "redirect_url": r.redirect_url(&cred),
            "post_url": post.url,
            "post_body": serde_json::from_slice::<Value>(&post.body).unwrap(),
        });
        check(o, &format!("deliver {}", c["url"]), actual, &c["expect"]);
    }
    for c in v["check"].as_array().unwrap() {
        let r = HandoffRequest::from_url(&s(c, "url")).unwrap();
        let cred = match c["credential"].get("code") {
            Some(code) => HandoffCredential::Code(AuthorizationCode::new(code.as_str().unwrap())),
            None => HandoffCredential::ApiKey(ApiKey::new(s(&c["credential"], "api_key"))),
        };
        let actual = match r.check(&cred) {
            Ok(()) => json!("ok"),
            Err(e) => json!({ "error": e.code() }),
        };
        check(
            o,
            &format!("check {} {}", c["url"], c["credential"]),
            actual,
            &c["expect"],
        );
    }
}

// ── credentials ────────────────────────────────────────────────────────────

fn credentials_doc(v: &Value, o: &mut Outcome) {
    for c in v["parse"].as_array().unwrap() {
        let text = s(c, "text");
        let actual = match CredentialsDocument::from_json(text.as_bytes()) {
            Ok(doc) => {
                let profiles: serde_json::Map<String, Value> = doc
                    .profiles
                    .iter()
                    .map(|(k, p)| {
                        let kind = match p.credential {
                            credentials::Credential::ApiKey(_) => "api_key",
                            credentials::Credential::OAuth(_) => "oauth",
                        };
                        (
                            k.clone(),
                            json!({ "method": p.method.as_str(), "credential_type": kind }),
                        )
                    })
                    .collect();
                if c["round_trip"].as_bool() == Some(true) {
                    let written = String::from_utf8(doc.to_json()).unwrap();
                    check(
                        o,
                        &format!("{} (round trip)", name(c)),
                        json!(written),
                        &json!(text),
                    );
                }
                let mut out = json!({ "active_profile": doc.active_profile, "profiles": profiles });
                if doc.unknown_profiles().next().is_some() {
                    out["skipped"] = doc
                        .unknown_profiles()
                        .map(|(k, u)| (k.to_string(), json!(u.notice(k))))
                        .collect::<serde_json::Map<String, Value>>()
                        .into();
                }
                out
            }
            Err(e) => {
                if c["expect"].get("message").is_some() {
                    json!({ "error": e.code(), "message": e.to_string() })
                } else {
                    err_code(&e)
                }
            }
        };
        check(o, &name(c), actual, &c["expect"]);
    }
    let doc = CredentialsDocument::from_json(s(v, "document").as_bytes()).unwrap();
    let env_of = |c: &Value| {
        c["env"].as_array().map(|e| {
            (
                e[0].as_str().unwrap().to_string(),
                e[1].as_str().unwrap().to_string(),
            )
        })
    };
    for c in v["resolve"].as_array().unwrap() {
        let env = env_of(c);
        let input = ResolveInput {
            flag: c["flag"].as_str(),
            env: env.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
            env_token: None,
            profile: c["profile"].as_str(),
            document: Some(&doc),
        };
        let actual = match credentials::resolve(input) {
            Ok(Some(r)) => json!({ "source": r.source().label() }),
            Ok(None) => Value::Null,
            Err(e) => json!({ "error": e.code(), "message": e.to_string() }),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
    let keys = registry(
        &json!([{"id":"acme-dev","product":"Acme","label":"developer key","prefix":"acme_dev_","charset":"base62","min_len":24,"max_len":64}]),
    );
    let app = app(&v["app"]);
    for c in v["status"].as_array().unwrap() {
        let env = env_of(c);
        let input = ResolveInput {
            flag: c["flag"].as_str(),
            env: env.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
            env_token: None,
            profile: c["profile"].as_str(),
            document: Some(&doc),
        };
        let resolved = credentials::resolve(input).unwrap();
        let now = Timestamp::from_unix_secs(c["now"].as_u64().unwrap());
        let report = StatusReport::new(
            resolved.as_ref(),
            Some(&doc),
            &keys,
            now,
            &RefreshPolicy::default(),
        );
        check(
            o,
            &name(c),
            serde_json::to_value(&report).unwrap(),
            &c["expect"],
        );
        if let Some(text) = c.get("text") {
            check(
                o,
                &format!("{} (text)", name(c)),
                json!(report.render(&app)),
                text,
            );
        }
    }
}

// ── discovery ──────────────────────────────────────────────────────────────

fn discovery(v: &Value, o: &mut Outcome) {
    for c in v["urls"].as_array().unwrap() {
        let actual = match cliauth_core::discovery::discovery_urls(&s(c, "issuer")) {
            Ok(urls) => json!(urls),
            Err(e) => err_code(&e),
        };
        check(o, &s(c, "issuer"), actual, &c["expect"]);
    }
    for c in v["metadata"].as_array().unwrap() {
        let actual = match cliauth_core::discovery::parse_metadata(
            &response(&c["response"]),
            &s(c, "issuer"),
            Timestamp::EPOCH,
        ) {
            Ok(m) => json!({
                "issuer": m.issuer,
                "authorization_endpoint": m.authorization_endpoint,
                "token_endpoint": m.token_endpoint,
                "device_authorization_endpoint": m.device_authorization_endpoint,
                "revocation_endpoint": m.revocation_endpoint,
                "userinfo_endpoint": m.userinfo_endpoint,
                "scopes_supported": m.scopes_supported,
                "grant_types_supported": m.grant_types_supported,
                "code_challenge_methods_supported": m.code_challenge_methods_supported,
                "authorization_response_iss_parameter_supported": m.authorization_response_iss_parameter_supported,
            }),
            Err(e) => err_code(&e),
        };
        check(o, &name(c), actual, &c["expect"]);
    }
}
