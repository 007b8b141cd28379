//! The flow transcripts (`refresh.json`, `browser_login.json`): core's flows driven
//! through the one protocol on a virtual clock, with the answers a case scripts.
//! Part of the shared runner (see `runner.rs`).

use core::time::Duration;

use cliauth_core::authorize::{AuthorizationConfig, CallbackParams, PendingAuthorization};
use cliauth_core::credentials::{Credential, CredentialsDocument};
use cliauth_core::exchange::TransportError;
use cliauth_core::flow::{
    AccessConfig, AccessToken, Client, CodeExchange, Endpoints, Flow, Input, LoginConfig,
    ServerEndpoints, Step, Want,
};
use cliauth_core::time::Now;
use cliauth_core::{Error, Timestamp};
use serde_json::{Value, json};

use super::{Outcome, check, hex, name, response, s};

/// What a case scripts: the documents successive reads return, the answers to
/// successive requests, the results of successive writes, and when the user cancels.
pub struct Script {
    stored: Vec<Option<String>>,
    responses: Vec<Value>,
    persist: Vec<bool>,
    cancel_at: Option<usize>,
}

impl Script {
    pub fn of(c: &Value) -> Script {
        let list = |k: &str| c[k].as_array().cloned().unwrap_or_default();
        Script {
            stored: list("stored")
                .into_iter()
                .map(|d| d.as_str().map(str::to_string))
                .collect(),
            responses: list("responses"),
            persist: list("persist").iter().map(|p| p == "ok").collect(),
            cancel_at: c["cancel_at"].as_u64().map(|n| n as usize),
        }
    }
}

/// What a run produced: the transcript (sends, waits, writes, the end), the written
/// documents, the request bodies, and the result.
pub struct Run<T> {
    pub transcript: Vec<Value>,
    pub documents: Vec<String>,
    pub requests: Vec<String>,
    pub result: Result<T, Error>,
}

fn wait_entry(expected: Option<&Value>, waited: u64) -> Value {
    match expected {
        Some(e) if e.get("wait_between").is_some() => {
            let lo = e["wait_between"][0].as_u64().unwrap();
            let hi = e["wait_between"][1].as_u64().unwrap();
            if (lo..=hi).contains(&waited) {
                e.clone()
            } else {
                json!({ "wait": waited })
            }
        }
        _ => json!({ "wait": waited }),
    }
}

/// Drives `flow` from `start` as the script says (the drain rule of core's `Step`).
pub fn drive<F: Flow>(
    flow: &mut F,
    start: Now,
    script: Script,
    expected: &[Value],
) -> Run<F::Output> {
    let Script {
        stored,
        responses,
        persist,
        cancel_at,
    } = script;
    let (mut stored, mut responses, mut persist) = (
        stored.into_iter(),
        responses.into_iter(),
        persist.into_iter(),
    );
    let mut now = start;
    let mut run = Run {
        transcript: Vec::new(),
        documents: Vec::new(),
        requests: Vec::new(),
        result: Err(Error::Misuse("the flow never ended")),
    };
    for _ in 0..100 {
        let cancel_here = |run: &Run<F::Output>| cancel_at == Some(run.transcript.len() - 1);
        match flow.poll(now) {
            Step::Send(request) => {
                run.transcript.push(json!("send"));
                run.requests
                    .push(String::from_utf8_lossy(&request.body).into_owned());
                if cancel_here(&run) {
                    flow.handle(now, Input::Cancel);
                }
                let answer = match responses.next() {
                    Some(Value::String(t)) if t == "transport_not_sent" => {
                        Input::TransportError(TransportError::not_sent("connection refused"))
                    }
                    Some(r) => Input::Response(response(&r)),
                    None => {
                        run.transcript.push(json!("ran out of responses"));
                        break;
                    }
                };
                flow.handle(now, answer);
            }
            Step::WaitUntil(t) => {
                let waited = t.saturating_duration_since(now.instant).as_millis() as u64;
                let entry = wait_entry(expected.get(run.transcript.len()), waited);
                run.transcript.push(entry);
                if cancel_here(&run) {
                    flow.handle(now, Input::Cancel);
                } else {
                    now = now.saturating_add(Duration::from_millis(waited));
                }
            }
            Step::ReadStorage(_) => {
                let doc = match stored.next() {
                    Some(Some(text)) => CredentialsDocument::from_json(text.as_bytes()).map(Some),
                    Some(None) | None => Ok(None),
                };
                flow.handle(now, Input::Stored(doc));
            }
            Step::Persist(doc) => {
                run.transcript.push(json!("persist"));
                run.documents
                    .push(String::from_utf8(doc.to_json()).unwrap());
                let written = match persist.next() {
                    Some(true) => Ok(()),
                    _ => Err(Error::storage("disk full")),
                };
                flow.handle(now, Input::Persisted(written));
            }
            Step::Done(output) => {
                run.result = Ok(output);
                break;
            }
            Step::Failed(e) => {
                run.transcript.push(json!({ "failed": e.code() }));
                run.result = Err(e);
                break;
            }
            Step::Finished => break,
            // Prompts and loopback steps need no answer.
            _ => {}
        }
    }
    run
}

/// The result as a case records it.
fn checked<T>(
    o: &mut Outcome,
    case: &str,
    c: &Value,
    mut run: Run<T>,
    done: impl FnOnce(T) -> Value,
) {
    if let Ok(output) = run.result {
        run.transcript.push(json!({ "done": done(output) }));
    }
    let actual = json!({
        "transcript": run.transcript,
        "documents": run.documents,
    });
    let expected = json!({
        "transcript": c["expect"]["transcript"],
        "documents": c["expect"]["documents"],
    });
    check(o, case, actual, &expected);
    if let Some(requests) = c["expect"].get("requests") {
        check(
            o,
            &format!("{case} (requests)"),
            json!(run.requests),
            requests,
        );
    }
}

// ── refresh ────────────────────────────────────────────────────────────────

pub fn refresh(v: &Value, o: &mut Outcome) {
    let start = Now::from(Timestamp::from_unix_millis(v["start_ms"].as_u64().unwrap()));
    for c in v["cases"].as_array().unwrap() {
        // Both reading modes must give the same transcript and documents: the wasm
        // binding reads under the lock from the start, the native shell first takes
        // an unlocked snapshot.
        for locked in [true, false] {
            let mut endpoints = Endpoints::default();
            endpoints.token = Some(s(v, "token_endpoint"));
            let mut config = AccessConfig::new(
                Client::new(s(v, "client_id")),
                ServerEndpoints::Known(endpoints),
            );
            config.issuer = Some(s(v, "issuer"));
            config.want = if c["force"] == json!(true) {
                Want::Forced
            } else {
                Want::Token
            };
            config.locked = locked;
            let mut script = Script::of(c);
            if !locked {
                // The snapshot sees what the first locked read sees.
                let first = script.stored.first().cloned().flatten();
                script.stored.insert(0, first);
            }
            let expected = c["expect"]["transcript"].as_array().unwrap();
            let mut flow = AccessToken::new(config);
            let run = drive(&mut flow, start, script, expected);
            let case = format!(
                "{} ({})",
                name(c),
                if locked { "locked" } else { "snapshot first" }
            );
            checked(o, &case, c, run, |b| {
                json!({
                    "access_token": b.token(),
                    "refreshed": b.refreshed,
                    "rotated": b.rotated,
                })
            });
        }
    }
}

// ── browser login ──────────────────────────────────────────────────────────

pub fn browser_login(v: &Value, o: &mut Outcome) {
    let start = Now::from(Timestamp::from_unix_millis(v["start_ms"].as_u64().unwrap()));
    let mut entropy = [0u8; cliauth_core::authorize::LOGIN_ENTROPY_LEN];
    entropy.copy_from_slice(&hex(&s(v, "entropy_hex")));
    let scopes: Vec<String> = v["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let authorization = AuthorizationConfig::new(s(v, "authorization_endpoint"), s(v, "client_id"))
        .scopes(scopes)
        .issuer(s(v, "issuer"), false);
    for c in v["cases"].as_array().unwrap() {
        let mut pending = PendingAuthorization::start_with_redirect(
            &authorization,
            s(v, "redirect_uri"),
            &entropy,
            start.wall,
        )
        .unwrap();
        let query = s(c, "callback").replace("{state}", pending.state().expose_secret());
        let grant = pending
            .complete(start.wall, &CallbackParams::parse(&query).unwrap())
            .unwrap();
        let mut config = LoginConfig::new(Client::new(s(v, "client_id")));
        config.token_endpoint = Some(s(v, "token_endpoint"));
        config.issuer = Some(s(v, "issuer"));
        config.profile = c["profile"].as_str().map(str::to_string);
        let mut flow = CodeExchange::new(&grant, config);
        let expected = c["expect"]["transcript"].as_array().unwrap();
        let run = drive(&mut flow, start, Script::of(c), expected);
        checked(o, &name(c), c, run, |login| {
            let token = match &login.credential {
                Credential::OAuth(t) => t.access_token.expose_secret().to_string(),
                Credential::ApiKey(k) => k.expose_secret().to_string(),
            };
            json!({ "access_token": token })
        });
    }
}
