//! The shared flow transcripts (`tests/vectors/refresh.json`, `browser_login.json`)
//! through the native [`Authenticator`] on a virtual clock: the transcript's answers
//! come from an injected transport and a store that replays the transcript's reads,
//! and the documents the Authenticator writes must be the vector's, byte for byte —
//! the same bytes core's runner and the wasm binding (tests/npm) are held to, so the
//! native shell and the web shell write identical credentials documents.
//!
//! The browser login runs the real loopback server: a test browser delivers the
//! callback over a socket, and the login's entropy (verifier, `state`, nonce) is the
//! vector's, so the ID token carries the nonce that was sent. Cases that cancel are skipped (the Authenticator cancels
//! on Ctrl-C only); the runners of core and npm cover them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cliauth::browser::Browser;
use cliauth::cliauth_core::credentials::CredentialsDocument;
use cliauth::cliauth_core::exchange::TransportError;
use cliauth::cliauth_core::secret::SecretString;
use cliauth::clock::{Clock, Sleep};
use cliauth::entropy::Entropy;
use cliauth::http::{SendFailure, Sending, Transport};
use cliauth::store::{CredentialStore, StoreLock};
use cliauth::ui::{Notice, Ui};
use cliauth::{Authenticator, Error, HttpRequest, HttpResponse};
use cliauth_core::{Instant, Now, Timestamp};
use serde_json::{Value, json};

/// What the shell did, in order: the transcript entries of the vectors.
type Log = Arc<Mutex<Vec<Value>>>;

/// A virtual clock: waits of up to a minute (backoff, `Retry-After`) pass at once;
/// longer ones (a login's deadline) end only by an input.
#[derive(Debug)]
struct VirtualClock {
    now: Mutex<Now>,
    log: Log,
}

impl Clock for VirtualClock {
    fn now(&self) -> Now {
        *self.now.lock().unwrap()
    }

    fn sleep_until(&self, at: Instant) -> Sleep<'_> {
        let mut now = self.now.lock().unwrap();
        let wait = at.saturating_duration_since(now.instant);
        if wait > Duration::from_secs(60) {
            return Box::pin(std::future::pending());
        }
        *now = now.saturating_add(wait);
        self.log
            .lock()
            .unwrap()
            .push(json!({ "wait": wait.as_millis() as u64 }));
        Box::pin(std::future::ready(()))
    }
}

/// The transcript's answers to requests.
#[derive(Debug)]
struct Replay {
    responses: Mutex<VecDeque<Value>>,
    bodies: Mutex<Vec<String>>,
    log: Log,
}

impl Transport for Replay {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> Sending<'a> {
        self.log.lock().unwrap().push(json!("send"));
        self.bodies
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&request.body).into_owned());
        let answer = match self.responses.lock().unwrap().pop_front() {
            Some(Value::String(t)) if t == "transport_not_sent" => Err(SendFailure::Transport(
                TransportError::not_sent("connection refused"),
            )),
            Some(r) => {
                let mut response = HttpResponse::new(r["status"].as_u64().unwrap() as u16);
                for h in r["headers"].as_array().into_iter().flatten() {
                    response = response.with_header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
                }
                Ok(response.with_body(r["body"].as_str().unwrap().as_bytes().to_vec()))
            }
            None => Err(SendFailure::Fatal(Error::Misuse("ran out of responses"))),
        };
        Box::pin(std::future::ready(answer))
    }
}

/// A store that answers reads with the transcript's documents and records writes.
#[derive(Debug)]
struct ReplayStore {
    first: Option<String>,
    stored: Mutex<VecDeque<Option<String>>>,
    persist: Mutex<VecDeque<bool>>,
    documents: Mutex<Vec<String>>,
    log: Log,
}

fn parse(text: Option<String>) -> Result<Option<CredentialsDocument>, Error> {
    text.map(|t| CredentialsDocument::from_json(t.as_bytes()))
        .transpose()
}

impl CredentialStore for ReplayStore {
    fn location(&self) -> String {
        "transcript".into()
    }

    /// The unlocked snapshot sees what the first locked read sees.
    fn read(&self) -> Result<Option<CredentialsDocument>, Error> {
        parse(self.first.clone())
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        Ok(StoreLock::new(7, ()))
    }

    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error> {
        lock.check(7)?;
        parse(self.stored.lock().unwrap().pop_front().flatten())
    }

    fn write(&self, lock: &StoreLock, document: &CredentialsDocument) -> Result<(), Error> {
        lock.check(7)?;
        self.log.lock().unwrap().push(json!("persist"));
        self.documents
            .lock()
            .unwrap()
            .push(String::from_utf8(document.to_json()).unwrap());
        match self.persist.lock().unwrap().pop_front() {
            Some(true) => Ok(()),
            _ => Err(Error::storage("disk full")),
        }
    }
}

/// The transcript's entropy: the login's verifier, `state` and nonce are the vector's,
/// and the jitter seed (8 bytes) is 0, as in core's and npm's runners.
#[derive(Debug)]
struct Fixed(Vec<u8>);

impl Entropy for Fixed {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        // Jitter seeds (8 bytes): 0, as core's and npm's runners use.
        if buf.len() == 8 {
            buf.fill(0);
            return Ok(());
        }
        // The launch link's own draw is not part of the transcripts.
        if buf.len() == cliauth::cliauth_core::flow::LAUNCH_ENTROPY_LEN && self.0.len() != buf.len()
        {
            buf.fill(0x5a);
            return Ok(());
        }
        if buf.len() != self.0.len() {
            return Err(Error::Misuse("the transcript's entropy has another length"));
        }
        buf.copy_from_slice(&self.0);
        Ok(())
    }
}

#[derive(Debug)]
struct Quiet;

impl Ui for Quiet {
    fn notice(&self, _: &Notice<'_>) {}
    fn read_secret(&self, _: &str) -> Result<Option<SecretString>, Error> {
        Ok(None)
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn vector(name: &str) -> Value {
    let path = format!(
        "{}/../tests/vectors/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The shell's pieces for one case.
struct Shell {
    clock: Arc<VirtualClock>,
    transport: Arc<Replay>,
    store: Arc<ReplayStore>,
    log: Log,
}

impl Shell {
    fn new(v: &Value, c: &Value) -> Shell {
        let log: Log = Arc::default();
        let start = Timestamp::from_unix_millis(v["start_ms"].as_u64().unwrap());
        let list = |k: &str| c[k].as_array().cloned().unwrap_or_default();
        let stored: VecDeque<Option<String>> = list("stored")
            .into_iter()
            .map(|d| d.as_str().map(str::to_string))
            .collect();
        Shell {
            clock: Arc::new(VirtualClock {
                now: Mutex::new(Now::from_wall(start)),
                log: Arc::clone(&log),
            }),
            transport: Arc::new(Replay {
                responses: Mutex::new(list("responses").into()),
                bodies: Mutex::default(),
                log: Arc::clone(&log),
            }),
            store: Arc::new(ReplayStore {
                first: stored.front().cloned().flatten(),
                stored: Mutex::new(stored),
                persist: Mutex::new(list("persist").iter().map(|p| p == "ok").collect()),
                documents: Mutex::default(),
                log: Arc::clone(&log),
            }),
            log,
        }
    }

    fn builder(&self, v: &Value) -> cliauth::AuthenticatorBuilder {
        Authenticator::builder("acme")
            .issuer(v["issuer"].as_str().unwrap())
            .token_endpoint(v["token_endpoint"].as_str().unwrap())
            .client_id(v["client_id"].as_str().unwrap())
            .store(Arc::clone(&self.store))
            .clock(Arc::clone(&self.clock))
            .transport(Arc::clone(&self.transport))
            .cancel_on_ctrl_c(false)
            .ui(Arc::new(Quiet))
    }

    /// The transcript (waits matched against the expected ranges) and the documents.
    fn outcome(&self, c: &Value, end: Result<Value, Error>) -> Value {
        let expected = c["expect"]["transcript"].as_array().unwrap();
        let mut transcript: Vec<Value> = self.log.lock().unwrap().clone();
        for (i, entry) in transcript.iter_mut().enumerate() {
            if let (Some(e), Some(waited)) = (expected.get(i), entry["wait"].as_u64())
                && let Some(range) = e.get("wait_between")
                && (range[0].as_u64().unwrap()..=range[1].as_u64().unwrap()).contains(&waited)
            {
                *entry = e.clone();
            }
        }
        transcript.push(match end {
            Ok(done) => json!({ "done": done }),
            Err(e) => json!({ "failed": e.code() }),
        });
        json!({
            "transcript": transcript,
            "documents": *self.store.documents.lock().unwrap(),
        })
    }
}

/// The expected transcript with `done` narrowed to the fields this shell reports.
fn expected(c: &Value, fields: &[&str]) -> Value {
    let mut transcript = c["expect"]["transcript"].as_array().unwrap().clone();
    for entry in &mut transcript {
        if let Some(done) = entry.get_mut("done") {
            let narrowed: serde_json::Map<String, Value> = done
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| fields.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            *done = Value::Object(narrowed);
        }
    }
    json!({ "transcript": transcript, "documents": c["expect"]["documents"] })
}

#[tokio::test]
async fn refresh_transcripts_write_the_vectors_documents() {
    let v = vector("refresh");
    let mut ran = 0;
    for c in v["cases"].as_array().unwrap() {
        if c.get("cancel_at").is_some() {
            continue;
        }
        let shell = Shell::new(&v, c);
        let auth = shell.builder(&v).build().unwrap();
        let (end, fields): (Result<Value, Error>, &[&str]) = if c["force"] == json!(true) {
            (
                auth.refresh_now()
                    .await
                    .map(|o| json!({ "rotated": o.rotated })),
                &["rotated"],
            )
        } else {
            (
                auth.access_token()
                    .await
                    .map(|t| json!({ "access_token": t.expose_secret() })),
                &["access_token"],
            )
        };
        let name = c["name"].as_str().unwrap();
        assert_eq!(shell.outcome(c, end), expected(c, fields), "{name}");
        assert_eq!(
            json!(*shell.transport.bodies.lock().unwrap()),
            c["expect"]["requests"],
            "{name}: requests"
        );
        ran += 1;
    }
    assert_eq!(ran, 8);
}

/// A browser that opens the login's launch link, then delivers the case's callback
/// to the loopback server.
fn delivering(callback: String) -> Browser {
    Browser::custom(move |link| {
        let url = common::launch_target(link)?;
        let query = |name: &str| {
            url.split_once('?')?.1.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name).then(|| v.to_string())
            })
        };
        let state = query("state").ok_or("no state")?;
        let redirect = query("redirect_uri").ok_or("no redirect_uri")?;
        let port: u16 = redirect
            .rsplit("%3A")
            .next()
            .and_then(|p| p.split("%2F").next())
            .and_then(|p| p.parse().ok())
            .ok_or("no port")?;
        let target = format!("/callback?{}", callback.replace("{state}", &state));
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").unwrap();
            let mut page = String::new();
            let _ = s.read_to_string(&mut page);
        });
        Ok(())
    })
}

#[tokio::test]
async fn browser_login_transcripts_write_the_vectors_documents() {
    let v = vector("browser_login");
    let mut ran = 0;
    for c in v["cases"].as_array().unwrap() {
        if c.get("cancel_at").is_some() {
            continue;
        }
        let shell = Shell::new(&v, c);
        let scopes: Vec<&str> = v["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let mut auth = shell
            .builder(&v)
            .authorization_endpoint(v["authorization_endpoint"].as_str().unwrap())
            .scopes(scopes)
            .browser(delivering(c["callback"].as_str().unwrap().to_string()))
            .entropy(Fixed(hex(v["entropy_hex"].as_str().unwrap())))
            .cancel_on_ctrl_c(false)
            .build()
            .unwrap();
        if let Some(profile) = c["profile"].as_str() {
            auth = auth.with_profile(profile).unwrap();
        }
        let end = auth.login_browser().await.map(|_| {
            let doc = shell.store.documents.lock().unwrap();
            let stored: Value = serde_json::from_str(doc.last().unwrap()).unwrap();
            let name = c["profile"].as_str().unwrap_or("default");
            json!({ "access_token": stored["profiles"][name]["credential"]["access_token"] })
        });
        let name = c["name"].as_str().unwrap();
        assert_eq!(
            shell.outcome(c, end),
            expected(c, &["access_token"]),
            "{name}"
        );
        ran += 1;
    }
    assert_eq!(ran, 7);
}
