//! The journey flows' decisions, driven through the protocol with scripted answers.

use std::collections::VecDeque;

use serde_json::json;

use super::*;
use crate::credentials::{Credential, LoginMethod, Profile, ResolveInput, resolve};
use crate::keys::{Charset, KeyFormat, KeyRegistry};
use crate::loopback::{LoopbackConfig, LoopbackHandler, ParseProgress, parse_request};
use crate::retry::RetryPolicy;
use crate::secret::ApiKey;
use crate::state::StateToken;
use crate::time::Timestamp;
use crate::token::TokenSet;

const KEY: &str = "acme_0123456789abcdefghij";
const T0: Now = Now::from_wall(Timestamp::from_unix_secs(1_800_000_000));

fn keys() -> KeyRegistry {
    KeyRegistry::new(vec![KeyFormat::prefixed(
        "acme",
        "Acme",
        "API key",
        "acme_",
        Charset::Base62,
        20,
        64,
    )])
}

fn config() -> LoginConfig {
    let mut c = LoginConfig::new(Client::new("acme-cli"));
    c.keys = keys();
    c.token_endpoint = Some("https://as.example/token".into());
    c.issuer = Some("https://as.example".into());
    c
}

fn json_response(status: u16, body: serde_json::Value) -> Input {
    Input::Response(HttpResponse::json(status, &body))
}

fn doc_with(name: &str, credential: Credential) -> CredentialsDocument {
    let mut d = CredentialsDocument::new();
    d.set_profile(name, Profile::new(credential, LoginMethod::ApiKey, T0.wall))
        .unwrap();
    d
}

/// What a scripted shell saw, and what it answers.
#[derive(Default)]
struct Shell {
    responses: VecDeque<Input>,
    stored: VecDeque<Result<Option<CredentialsDocument>, Error>>,
    requests: Vec<HttpRequest>,
    prompts: Vec<Prompt>,
    written: Vec<CredentialsDocument>,
    replies: Vec<(u64, u16)>,
    /// Replies handed out after `StopListening`: a real shell never writes them.
    late_replies: Vec<(u64, u16)>,
    stopped: bool,
    reads: usize,
}

impl Shell {
    fn answering(responses: impl IntoIterator<Item = Input>) -> Shell {
        Shell {
            responses: responses.into_iter().collect(),
            ..Shell::default()
        }
    }

    fn storing(mut self, stored: Option<CredentialsDocument>) -> Shell {
        self.stored.push_back(Ok(stored));
        self
    }

    /// Drives `flow` until it ends or waits with nothing left to answer.
    fn drive<F: Flow>(&mut self, flow: &mut F) -> Option<Result<F::Output, Error>> {
        let mut now = T0;
        for _ in 0..200 {
            match flow.poll(now) {
                Step::Send(r) => {
                    self.requests.push(r);
                    let answer = self
                        .responses
                        .pop_front()
                        .unwrap_or(Input::TransportError(TransportError::unknown("timed out")));
                    flow.handle(now, answer);
                }
                Step::WaitUntil(t) => {
                    if t.saturating_duration_since(now.instant) > Duration::from_secs(60) {
                        return None;
                    }
                    now = now.saturating_add(t.saturating_duration_since(now.instant));
                }
                Step::Prompt(p) => self.prompts.push(p),
                Step::ReadStorage(_) => {
                    self.reads += 1;
                    let stored = self.stored.pop_front().unwrap_or(Ok(None));
                    flow.handle(now, Input::Stored(stored));
                }
                Step::Persist(doc) => {
                    self.written.push(doc);
                    flow.handle(now, Input::Persisted(Ok(())));
                }
                Step::Reply {
                    connection,
                    response,
                    ..
                } => {
                    if self.stopped {
                        self.late_replies.push((connection, response.status));
                    }
                    self.replies.push((connection, response.status));
                }
                Step::StopListening => self.stopped = true,
                Step::Done(v) => return Some(Ok(v)),
                Step::Failed(e) => return Some(Err(e)),
                Step::Finished => return Some(Err(Error::Misuse("finished"))),
            }
        }
        None
    }
}

fn get(connection: u64, target: &str, port: u16) -> Input {
    get_from(connection, target, port, Peer::Unknown)
}

fn get_from(connection: u64, target: &str, port: u16, peer: Peer) -> Input {
    let raw = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let Ok(ParseProgress::Complete(request, _)) =
        parse_request(raw.as_bytes(), &Default::default())
    else {
        panic!("not a request")
    };
    Input::Loopback {
        connection,
        request: Ok(request),
        peer,
    }
}

// ── API keys ───────────────────────────────────────────────────────────────

#[test]
fn a_bad_key_fails_before_any_request() {
    let mut c = config();
    c.verify = Some("https://api.example/whoami".into());
    let mut shell = Shell::default();
    let r = shell.drive(&mut KeyLogin::new(
        &format!("Bearer {KEY}"),
        LoginMethod::ApiKey,
        c,
    ));
    assert!(matches!(r, Some(Err(Error::InvalidKey(_)))));
    assert!(shell.requests.is_empty() && shell.reads == 0);
}

#[test]
fn the_verification_answer_decides_what_is_stored() {
    let verify = |answer: Input| {
        let mut c = config();
        c.verify = Some("https://api.example/whoami".into());
        let mut shell = Shell::answering([answer]);
        let r = shell.drive(&mut KeyLogin::new(KEY, LoginMethod::ApiKey, c));
        (r, shell)
    };
    // 401 and 403: the login fails, nothing is read or written.
    for status in [401, 403] {
        let (r, shell) = verify(json_response(status, json!({})));
        assert!(r.unwrap().is_err(), "{status}");
        assert!(shell.written.is_empty() && shell.reads == 0);
        assert_eq!(
            shell.requests[0].header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
    // 2xx: verified, the subject read from the body, verified_at set.
    let (r, shell) = verify(json_response(200, json!({"user": {"email": "a@b.c"}})));
    let login = r.unwrap().unwrap();
    assert_eq!(login.outcome.verification, Verification::Verified);
    assert_eq!(login.outcome.subject.as_deref(), Some("a@b.c"));
    assert_eq!(login.outcome.masked_key.as_deref(), Some("acme_…ghij"));
    let p = shell.written[0].profile("default").unwrap();
    assert_eq!(
        (p.verified_at, p.subject.as_deref()),
        (Some(T0.wall), Some("a@b.c"))
    );
    // A server error or no answer: stored, unverified, with the reason.
    let (r, shell) = verify(Input::TransportError(TransportError::unknown("timed out")));
    let login = r.unwrap().unwrap();
    assert!(
        matches!(login.outcome.verification, Verification::Unverified { ref reason } if reason.contains("timed out"))
    );
    assert_eq!(
        shell.written[0].profile("default").unwrap().verified_at,
        None
    );
}

// ── where logins are stored ────────────────────────────────────────────────

#[test]
fn logins_go_to_the_named_or_active_profile_and_switch_only_when_none_is_active() {
    let existing = doc_with("ci", Credential::ApiKey(ApiKey::new(KEY)));
    let store = |profile: Option<&str>| {
        let mut c = config();
        c.profile = profile.map(str::to_string);
        c.api_base = Some("https://api.example".into());
        let mut shell = Shell::default().storing(Some(existing.clone_secret()));
        let r = shell.drive(&mut KeyLogin::new(KEY, LoginMethod::Paste, c));
        (r.unwrap().unwrap(), shell.written.remove(0))
    };
    let (login, doc) = store(None);
    assert_eq!(
        (login.outcome.profile.as_str(), login.outcome.active),
        ("ci", true)
    );
    assert_eq!(doc.profile("ci").unwrap().method, LoginMethod::Paste);
    let (login, doc) = store(Some("work"));
    assert_eq!(
        (login.outcome.profile.as_str(), login.outcome.active),
        ("work", false)
    );
    assert_eq!(doc.active_profile.as_deref(), Some("ci"));
    let work = doc.profile("work").unwrap();
    // Keys record the API, not the issuer (that belongs to OAuth credentials).
    assert_eq!(
        (work.api_base.as_deref(), work.issuer.as_deref()),
        (Some("https://api.example"), None)
    );
}

#[test]
fn a_damaged_file_kept_aside_is_announced_and_replaced() {
    let mut shell = Shell::default();
    shell.stored.push_back(Err(Error::CorruptCredentials {
        reason: "x".into(),
        moved_to: Some("/tmp/credentials.json.corrupt".into()),
    }));
    let r = shell.drive(&mut KeyLogin::new(KEY, LoginMethod::ApiKey, config()));
    assert!(r.unwrap().is_ok());
    assert!(
        matches!(&shell.prompts[..], [Prompt::Warning(w)] if w.contains("/tmp/credentials.json.corrupt"))
    );
    assert_eq!(shell.written[0].profiles.len(), 1);
    // Not kept aside: never overwritten.
    let mut shell = Shell::default();
    shell.stored.push_back(Err(Error::CorruptCredentials {
        reason: "x".into(),
        moved_to: None,
    }));
    let r = shell.drive(&mut KeyLogin::new(KEY, LoginMethod::ApiKey, config()));
    assert!(matches!(r, Some(Err(Error::CorruptCredentials { .. }))));
    assert!(shell.written.is_empty());
}

// ── the loopback wait and the handoff ──────────────────────────────────────

#[test]
fn forged_callbacks_are_answered_and_the_real_one_ends_the_wait() {
    let state = StateToken::from_entropy(&[9; 32]);
    let handler = LoopbackHandler::new(LoopbackConfig::new(4000, "Acme"), &state);
    let mut wait = CallbackWait::new(handler, T0, Duration::from_secs(300));
    let mut shell = Shell::default();
    assert!(shell.drive(&mut wait).is_none(), "waits for the browser");
    wait.handle(T0, get(1, "/callback?code=evil&state=forged", 4000));
    wait.handle(T0, get(2, "/favicon.ico", 4000));
    assert!(
        shell.drive(&mut wait).is_none(),
        "forged requests never end it"
    );
    assert!(!shell.stopped);
    let real = format!("/callback?code=abc&state={}", state.expose_secret());
    wait.handle(T0, get(3, &real, 4000));
    let params = shell.drive(&mut wait).unwrap().unwrap();
    assert_eq!(params.code.unwrap().expose_secret(), "abc");
    assert!(shell.stopped);
    assert_eq!(shell.replies, [(1, 400), (2, 404), (3, 200)]);
    // The deadline, and the user, end it too.
    let handler = LoopbackHandler::new(LoopbackConfig::new(4000, "Acme"), &state);
    let mut wait = CallbackWait::new(handler, T0, Duration::from_secs(300));
    let later = T0.saturating_add(Duration::from_secs(300));
    assert!(matches!(
        wait.poll(later),
        Step::Failed(Error::LoginTimedOut { .. })
    ));
    let handler = LoopbackHandler::new(LoopbackConfig::new(4000, "Acme"), &state);
    let mut wait = CallbackWait::new(handler, T0, Duration::from_secs(300));
    wait.handle(T0, Input::Cancel);
    assert!(matches!(wait.poll(T0), Step::StopListening));
    assert!(matches!(wait.poll(T0), Step::Failed(Error::Cancelled)));
}

fn handoff(config: LoginConfig) -> (HandoffLogin, String) {
    let login = HandoffLogin::new(
        "https://app.example/cli-auth",
        4000,
        &[5; 64],
        &[6; 32],
        T0,
        Duration::from_secs(300),
        config,
    );
    let state = StateToken::from_entropy(&[5; 32])
        .expose_secret()
        .to_string();
    (login, state)
}

#[test]
fn the_handoff_takes_a_pasted_key_or_what_the_page_delivers() {
    // Pasted: an invalid line is explained, a valid key ends the wait.
    let (mut login, _) = handoff(config());
    let mut shell = Shell::default();
    assert!(shell.drive(&mut login).is_none());
    assert!(
        matches!(&shell.prompts[..], [Prompt::OpenBrowser { url }, Prompt::PasteKey] if url.starts_with("http://127.0.0.1:4000/start/"))
    );
    login.handle(T0, Input::Pasted(SecretString::new("nope")));
    assert!(shell.drive(&mut login).is_none());
    assert!(matches!(shell.prompts.last(), Some(Prompt::Warning(_))));
    login.handle(T0, Input::Pasted(SecretString::new(KEY)));
    let done = shell.drive(&mut login).unwrap().unwrap();
    assert!(shell.stopped);
    assert_eq!(done.outcome.method, LoginMethod::Paste);
    // Delivered by the page: a raw key only when the app opted in, or an error.
    let (mut login, state) = handoff(config());
    let mut shell = Shell::default();
    let _ = shell.drive(&mut login);
    login.handle(
        T0,
        get(1, &format!("/callback?api_key={KEY}&state={state}"), 4000),
    );
    assert!(shell.drive(&mut login).is_none(), "a raw key is refused");
    assert_eq!(shell.replies, [(1, 400)]);
    let mut c = config();
    c.raw_key_handoff = true;
    let (mut login, state) = handoff(c);
    let mut shell = Shell::default();
    let _ = shell.drive(&mut login);
    login.handle(
        T0,
        get(1, &format!("/callback?api_key={KEY}&state={state}"), 4000),
    );
    let done = shell.drive(&mut login).unwrap().unwrap();
    assert_eq!(
        (done.outcome.method, done.outcome.credential_type),
        (LoginMethod::Handoff, "api_key")
    );
    let (mut login, state) = handoff(config());
    let _ = Shell::default().drive(&mut login);
    login.handle(
        T0,
        get(
            1,
            &format!("/callback?error=access_denied&state={state}"),
            4000,
        ),
    );
    assert!(matches!(
        Shell::default().drive(&mut login),
        Some(Err(Error::AccessDenied { .. }))
    ));
}

#[test]
fn a_handoff_code_is_exchanged_with_the_verifier_and_may_be_a_key() {
    let (mut login, state) = handoff(config());
    let mut shell = Shell::answering([json_response(
        200,
        json!({"access_token": KEY, "token_type": "Bearer"}),
    )]);
    let _ = shell.drive(&mut login);
    login.handle(
        T0,
        get(1, &format!("/callback?code=one-time&state={state}"), 4000),
    );
    let done = shell.drive(&mut login).unwrap().unwrap();
    let body = String::from_utf8_lossy(&shell.requests[0].body).into_owned();
    assert!(body.contains("code=one-time") && body.contains("code_verifier="));
    assert_eq!(done.outcome.credential_type, "api_key");
    // Both a code and a key: the code, bound to the challenge, is what counts.
    let mut c = config();
    c.raw_key_handoff = true;
    let (mut login, state) = handoff(c);
    let mut shell = Shell::answering([json_response(
        200,
        json!({"access_token": "opaque", "token_type": "Bearer", "expires_in": 60}),
    )]);
    let _ = shell.drive(&mut login);
    let target = format!("/callback?code=one-time&api_key={KEY}&state={state}");
    login.handle(T0, get(1, &target, 4000));
    let done = shell.drive(&mut login).unwrap().unwrap();
    assert_eq!(done.outcome.credential_type, "oauth");
    // Without a token endpoint codes cannot be exchanged: nothing to accept unless
    // the app takes raw keys, and then the page is told so.
    let mut c = config();
    c.token_endpoint = None;
    let (mut login, _) = handoff(c.clone());
    assert!(matches!(
        Shell::default().drive(&mut login),
        Some(Err(Error::InvalidConfig { .. }))
    ));
    c.raw_key_handoff = true;
    let (mut login, state) = handoff(c);
    let mut shell = Shell::default();
    let _ = shell.drive(&mut login);
    login.handle(
        T0,
        get(1, &format!("/callback?code=one-time&state={state}"), 4000),
    );
    assert!(shell.drive(&mut login).is_none());
    assert_eq!(shell.replies, [(1, 400)]);
}

/// The page URL the handoff's launch link redirects to, from the first fetch.
fn open_link(login: &mut impl Flow, shell: &mut Shell, connection: u64) -> Option<String> {
    let url = shell.prompts.iter().find_map(|p| match p {
        Prompt::OpenBrowser { url } => Some(url.clone()),
        _ => None,
    })?;
    let path = url.strip_prefix("http://127.0.0.1:4000")?.to_string();
    login.handle(T0, get(connection, &path, 4000));
    let _ = shell.drive(login);
    Some(path)
}

#[test]
fn the_browser_opens_a_one_time_link_that_names_no_secret() {
    let (mut login, state) = handoff(config());
    let mut shell = Shell::default();
    let _ = shell.drive(&mut login);
    let Some(Prompt::OpenBrowser { url }) = shell.prompts.first().cloned() else {
        panic!("{:?}", shell.prompts)
    };
    assert!(!url.contains(&state) && !url.contains("challenge"), "{url}");
    let path = open_link(&mut login, &mut shell, 1).unwrap();
    assert_eq!(shell.replies, [(1, 303)]);
    // A second fetch of the link ends the login loudly, with nothing stored.
    login.handle(T0, get(2, &path, 4000));
    let r = shell.drive(&mut login);
    assert!(matches!(r, Some(Err(Error::LoginIntercepted))), "{r:?}");
    assert_eq!(shell.replies, [(1, 303), (2, 410)]);
    assert_eq!(
        shell.late_replies,
        [],
        "the 410 is written before listening stops"
    );
    assert!(shell.stopped && shell.written.is_empty());
    // Also when it arrives right behind a callback, before the result is handed out.
    let (mut login, state) = handoff(config());
    let mut shell = Shell::default();
    let _ = shell.drive(&mut login);
    let path = open_link(&mut login, &mut shell, 1).unwrap();
    login.handle(T0, get(2, &format!("/callback?code=c&state={state}"), 4000));
    login.handle(T0, get(3, &path, 4000));
    let r = shell.drive(&mut login);
    assert!(matches!(r, Some(Err(Error::LoginIntercepted))), "{r:?}");
    assert!(shell.requests.is_empty(), "the code was not exchanged");
}

#[test]
fn another_users_requests_are_refused_and_reported_once() {
    let (mut login, state) = handoff(config());
    let mut shell = Shell::default();
    let _ = shell.drive(&mut login);
    let url = match &shell.prompts[0] {
        Prompt::OpenBrowser { url } => url.clone(),
        other => panic!("{other:?}"),
    };
    let path = url
        .strip_prefix("http://127.0.0.1:4000")
        .unwrap()
        .to_string();
    let intruder = Peer::User {
        uid: 1001,
        own: 1000,
    };
    // The link and the callback, from another user's program: refused, unconsumed.
    login.handle(T0, get_from(1, &path, 4000, intruder));
    let target = format!("/callback?code=c&state={state}");
    login.handle(T0, get_from(2, &target, 4000, intruder));
    login.handle(T0, get_from(3, &target, 4000, Peer::Unowned));
    assert!(shell.drive(&mut login).is_none(), "the login goes on");
    assert_eq!(shell.replies, [(1, 403), (2, 403), (3, 403)]);
    let warnings: Vec<_> = shell
        .prompts
        .iter()
        .filter_map(|p| match p {
            Prompt::Warning(w) => Some(w.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("uid 1001"), "{warnings:?}");
    // The user's own browser (and root's relay) are served: the link was not used up.
    let own = Peer::User {
        uid: 1000,
        own: 1000,
    };
    login.handle(T0, get_from(4, &path, 4000, own));
    login.handle(
        T0,
        get_from(5, &target, 4000, Peer::User { uid: 0, own: 1000 }),
    );
    let mut shell = Shell::answering([json_response(
        200,
        json!({"access_token": KEY, "token_type": "Bearer"}),
    )]);
    let done = shell.drive(&mut login).unwrap().unwrap();
    assert_eq!(shell.replies, [(4, 303), (5, 200)]);
    assert_eq!(done.outcome.credential_type, "api_key");
}

// ── access tokens and API calls ────────────────────────────────────────────

fn tokens(access: &str, expires_in: i64) -> TokenSet {
    TokenSet {
        access_token: crate::secret::AccessToken::new(access),
        token_type: "Bearer".into(),
        expires_at: Some(if expires_in >= 0 {
            T0.wall
                .saturating_add(Duration::from_secs(expires_in as u64))
        } else {
            T0.wall
                .saturating_sub(Duration::from_secs(expires_in.unsigned_abs()))
        }),
        refresh_token: Some(crate::secret::RefreshToken::new("rt")),
        scope: None,
        id_token: None,
        obtained_at: T0.wall.saturating_sub(Duration::from_secs(3600)),
    }
}

fn access(want: Want) -> AccessConfig {
    let endpoints = Endpoints {
        token: Some("https://as.example/token".into()),
        ..Endpoints::default()
    };
    let mut c = AccessConfig::new(Client::new("acme-cli"), ServerEndpoints::Known(endpoints));
    c.keys = keys();
    c.want = want;
    c
}

#[test]
fn the_credential_is_resolved_flag_first_and_checked() {
    let doc = doc_with("default", Credential::OAuth(tokens("at", 3600)));
    let mut c = access(Want::Token);
    c.flag = Some(ApiKey::new(KEY));
    let b = Shell::default()
        .storing(Some(doc.clone_secret()))
        .drive(&mut AccessToken::new(c));
    let b = b.unwrap().unwrap();
    assert_eq!((b.token(), b.source.label()), (KEY, "flag".into()));
    let mut c = access(Want::Token);
    c.env = Some(("ACME_API_KEY".into(), ApiKey::new("Bearer x")));
    let r = Shell::default()
        .storing(None)
        .drive(&mut AccessToken::new(c));
    assert!(matches!(r, Some(Err(Error::InvalidKey(_)))));
    let b = Shell::default()
        .storing(Some(doc.clone_secret()))
        .drive(&mut AccessToken::new(access(Want::Token)))
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.token(), b.refreshed, b.oauth_profile()),
        ("at", false, Some("default"))
    );
    let mut c = access(Want::Token);
    c.issuer = Some("https://other.example".into());
    let mut stored = doc.clone_secret();
    stored.profile_mut("default").unwrap().issuer = Some("https://as.example".into());
    let r = Shell::default()
        .storing(Some(stored))
        .drive(&mut AccessToken::new(c));
    assert!(matches!(r, Some(Err(Error::ProfileServerMismatch { .. }))));
    let keyed = doc_with("ci", Credential::ApiKey(ApiKey::new(KEY)));
    let r = Shell::default()
        .storing(Some(keyed))
        .drive(&mut AccessToken::new(access(Want::RefreshNow)));
    assert!(matches!(r, Some(Err(Error::InvalidArgument { .. }))));
}

#[test]
fn a_bearer_token_from_the_environment_wins_over_profiles_and_is_never_refreshed() {
    use crate::credentials::StatusReport;
    // An expired OAuth profile: the token variable is used as it is instead.
    let doc = doc_with("default", Credential::OAuth(tokens("at", -5)));
    let mut c = access(Want::Token);
    c.env_token = Some((
        "ACME_TOKEN".into(),
        crate::secret::AccessToken::new("gho_16C7e42F\n"),
    ));
    let mut shell = Shell::default().storing(Some(doc.clone_secret()));
    let b = shell
        .drive(&mut AccessToken::new(c.clone_secret()))
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.token(), b.source.label()),
        ("gho_16C7e42F", "env:ACME_TOKEN".into())
    );
    assert!(!b.refreshed && b.oauth_profile().is_none() && shell.requests.is_empty());
    // `status` names the variable and masks the token.
    let input = ResolveInput {
        env_token: Some(("ACME_TOKEN", "gho_16C7e42F")),
        document: Some(&doc),
        ..ResolveInput::default()
    };
    let r = resolve(input).unwrap();
    let s = StatusReport::new(
        r.as_ref(),
        Some(&doc),
        &keys(),
        T0.wall,
        &Default::default(),
    );
    assert_eq!(
        (s.source.as_deref(), s.credential_type),
        (Some("env:ACME_TOKEN"), Some("token"))
    );
    assert!(
        !s.render(&crate::AppContext::new("acme", "Acme"))
            .contains("gho_16C7e42F")
    );
    // The API-key variable comes first; a malformed token is refused, not skipped.
    let mut keyed = c.clone_secret();
    keyed.env = Some(("ACME_API_KEY".into(), ApiKey::new(KEY)));
    let b = Shell::default()
        .storing(None)
        .drive(&mut AccessToken::new(keyed));
    assert_eq!(b.unwrap().unwrap().source.label(), "env:ACME_API_KEY");
    let mut bad = c.clone_secret();
    bad.env_token = Some((
        "ACME_TOKEN".into(),
        crate::secret::AccessToken::new("Bearer x"),
    ));
    let r = Shell::default()
        .storing(None)
        .drive(&mut AccessToken::new(bad));
    assert!(
        matches!(r, Some(Err(Error::InvalidArgument { ref name, .. })) if name == "ACME_TOKEN")
    );
    // `auth refresh` refreshes the stored profile, never the variable.
    c.want = Want::RefreshNow;
    let r = Shell::default()
        .storing(None)
        .drive(&mut AccessToken::new(c));
    assert!(matches!(r, Some(Err(Error::NotAuthenticated))));
}

#[test]
fn a_refresh_sends_the_secret_as_the_metadata_allows_and_the_scopes_asked() {
    let doc = doc_with("default", Credential::OAuth(tokens("at", -5)));
    let mut c = access(Want::RefreshNow);
    c.client = Client::new("acme-cli").with_secret("s3cret");
    c.scope = Some("read".into());
    let ServerEndpoints::Known(e) = &mut c.endpoints else {
        unreachable!()
    };
    e.token_auth_methods = Some(vec!["client_secret_post".into()]);
    let mut shell = Shell::answering([json_response(
        200,
        json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 60}),
    )])
    .storing(Some(doc.clone_secret()))
    .storing(Some(doc));
    let b = shell.drive(&mut AccessToken::new(c)).unwrap().unwrap();
    let body = String::from_utf8(shell.requests[0].body.clone()).unwrap();
    assert_eq!(
        body,
        "grant_type=refresh_token&refresh_token=rt&client_id=acme-cli&client_secret=s3cret&scope=read"
    );
    assert!(shell.requests[0].header("authorization").is_none());
    // No `scope` in the answer: the one asked for (RFC 6749 §5.1).
    let Credential::OAuth(t) = &b.credential else {
        unreachable!()
    };
    assert_eq!(t.scope.as_deref(), Some("read"));
}

#[test]
fn discovery_runs_only_when_a_refresh_needs_it() {
    let valid = doc_with("default", Credential::OAuth(tokens("at", 3600)));
    let mut c = access(Want::Token);
    c.endpoints = ServerEndpoints::Discover {
        issuer: "https://as.example".into(),
        urls: Vec::new(),
        explicit: Endpoints::default(),
    };
    let mut shell = Shell::default().storing(Some(valid));
    let b = shell
        .drive(&mut AccessToken::new(c.clone_secret()))
        .unwrap()
        .unwrap();
    assert!(shell.requests.is_empty() && b.discovered.is_none());
    let due = doc_with("default", Credential::OAuth(tokens("at", -5)));
    let metadata =
        json!({"issuer": "https://as.example", "token_endpoint": "https://as.example/t"});
    let mut shell = Shell::answering([
        json_response(404, json!({})),
        json_response(200, metadata),
        json_response(
            200,
            json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 60}),
        ),
    ])
    .storing(Some(due.clone_secret()))
    .storing(Some(due));
    let b = shell.drive(&mut AccessToken::new(c)).unwrap().unwrap();
    let urls: Vec<&str> = shell.requests.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://as.example/.well-known/oauth-authorization-server",
            "https://as.example/.well-known/openid-configuration",
            "https://as.example/t"
        ]
    );
    assert_eq!((b.token(), b.refreshed, b.rotated), ("at-2", true, false));
    assert_eq!(
        b.discovered.unwrap().token.as_deref(),
        Some("https://as.example/t")
    );
}

#[test]
fn an_api_call_announces_retries_and_refreshes_once_after_401() {
    let doc = doc_with("default", Credential::OAuth(tokens("at-1", 3600)));
    let mut shell = Shell::answering([
        Input::Response(HttpResponse::new(429).with_header("retry-after", "2")),
        Input::Response(HttpResponse::new(401)),
        json_response(
            200,
            json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600}),
        ),
        json_response(200, json!({"ok": true})),
    ])
    .storing(Some(doc.clone_secret()))
    .storing(Some(doc.clone_secret()))
    .storing(Some(doc));
    let request = HttpRequest::get("https://api.example/v1/me");
    let r = shell
        .drive(&mut ApiCall::new(request, access(Want::Token)))
        .unwrap();
    assert_eq!(r.unwrap().status, 200);
    let bearers: Vec<_> = shell
        .requests
        .iter()
        .map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert_eq!(bearers[1].as_deref(), Some("Bearer at-1"));
    assert_eq!(bearers[3].as_deref(), Some("Bearer at-2"));
    assert!(
        matches!(&shell.prompts[..], [Prompt::Retrying { attempt: 2, wait, .. }] if *wait == Duration::from_secs(2))
    );
    // Refused again after the refresh: the error, no third attempt.
    let doc = doc_with("default", Credential::OAuth(tokens("at-1", 3600)));
    let mut shell = Shell::answering([
        Input::Response(HttpResponse::new(401)),
        json_response(
            200,
            json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600}),
        ),
        Input::Response(HttpResponse::new(401)),
    ])
    .storing(Some(doc.clone_secret()))
    .storing(Some(doc.clone_secret()))
    .storing(Some(doc));
    let request = HttpRequest::get("https://api.example/v1/me");
    let r = shell
        .drive(&mut ApiCall::new(request, access(Want::Token)))
        .unwrap();
    assert!(matches!(r, Err(Error::Unauthorized { .. })));
    assert_eq!(shell.requests.len(), 3);
}

// ── logout ─────────────────────────────────────────────────────────────────

fn logout(profile: Option<&str>, env: Option<&str>, endpoints: ServerEndpoints) -> Logout {
    Logout::new(
        profile.map(str::to_string),
        env.map(str::to_string),
        Client::new("acme-cli"),
        endpoints,
        Some("https://as.example".into()),
        None,
        RetryPolicy::never(),
        1,
    )
}

#[test]
fn logout_revokes_then_deletes_and_says_what_happened() {
    let endpoints = ServerEndpoints::Known(Endpoints {
        revocation: Some("https://as.example/revoke".into()),
        ..Endpoints::default()
    });
    let mut doc = doc_with("default", Credential::OAuth(tokens("at", 3600)));
    let mut shell = Shell::answering([Input::Response(HttpResponse::new(200))])
        .storing(Some(doc.clone_secret()));
    let o = shell
        .drive(&mut logout(None, None, endpoints.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(o.revocation, Revocation::Revoked);
    assert!(shell.written[0].profiles.is_empty());
    assert!(
        String::from_utf8_lossy(&shell.requests[0].body).contains("token_type_hint=refresh_token")
    );
    // Another server's profile: nothing sent, deleted anyway.
    doc.profile_mut("default").unwrap().issuer = Some("https://other.example".into());
    let mut shell = Shell::default().storing(Some(doc));
    let o = shell
        .drive(&mut logout(None, None, endpoints))
        .unwrap()
        .unwrap();
    assert!(matches!(o.revocation, Revocation::Skipped { .. }) && shell.requests.is_empty());
    // No OAuth server: not supported; only an environment key: say how to log out.
    let doc = doc_with("default", Credential::OAuth(tokens("at", 3600)));
    let missing = ServerEndpoints::Missing(Error::NotAuthenticated);
    let o = Shell::default()
        .storing(Some(doc))
        .drive(&mut logout(None, None, missing.clone()));
    assert_eq!(o.unwrap().unwrap().revocation, Revocation::NotSupported);
    let r = Shell::default()
        .storing(None)
        .drive(&mut logout(None, Some("ACME_API_KEY"), missing));
    assert!(matches!(r, Some(Err(Error::InvalidArgument { .. }))));
}

#[test]
fn offline_key_login_applies_the_login_rules_to_a_document_in_memory() {
    // `work` is named while `default` is active: stored, not switched to.
    let mut stored = doc_with("default", Credential::ApiKey(ApiKey::new(KEY)));
    let mut old = Profile::new(
        Credential::ApiKey(ApiKey::new(KEY)),
        LoginMethod::ApiKey,
        T0.wall,
    );
    old.extra.insert("future", &serde_json::json!(1));
    stored.set_profile("work", old).unwrap();
    let mut c = config();
    c.profile = Some("work".into());
    let mut flow = KeyLogin::new("acme_abcdefghij0123456789", LoginMethod::ApiKey, c);
    let (login, written) = run_offline(&mut flow, Some(stored), T0).unwrap();
    assert_eq!(
        (login.outcome.profile.as_str(), login.outcome.active),
        ("work", false)
    );
    let doc = written.unwrap();
    assert_eq!(doc.active_profile.as_deref(), Some("default"));
    let work = doc.profile("work").unwrap();
    assert_eq!(work.verified_at, None, "not verified, so not marked");
    assert_eq!(work.extra.get("future"), Some(serde_json::json!(1)));
    // A key of no known format: nothing written.
    let mut flow = KeyLogin::new("Bearer nope", LoginMethod::ApiKey, config());
    assert!(matches!(
        run_offline(&mut flow, None, T0),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn offline_flows_that_need_the_network_are_refused() {
    let mut c = config();
    c.verify = Some("https://api.example/whoami".into());
    let mut flow = KeyLogin::new(KEY, LoginMethod::ApiKey, c);
    let (login, written) = run_offline(&mut flow, None, T0).unwrap();
    // The verification could not be sent: stored as unverified, as any other failure.
    assert!(matches!(
        login.outcome.verification,
        Verification::Unverified { .. }
    ));
    assert!(written.is_some());
    let mut ex = crate::exchange::Exchange::new(
        HttpRequest::get("https://api.example/"),
        RetryPolicy::default(),
        1,
    );
    assert!(matches!(
        run_offline(&mut ex, None, T0),
        Err(Error::Misuse(_))
    ));
}

#[test]
fn offline_logout_removes_the_named_or_active_profile() {
    let local = |profile: Option<&str>| {
        Logout::new(
            profile.map(str::to_string),
            None,
            Client::new("acme-cli"),
            ServerEndpoints::Missing(Error::NotAuthenticated),
            None,
            None,
            RetryPolicy::default(),
            0,
        )
    };
    let stored = doc_with("default", Credential::ApiKey(ApiKey::new(KEY)));
    let (_, written) = run_offline(&mut local(None), Some(stored.clone_secret()), T0).unwrap();
    let doc = written.unwrap();
    assert!(doc.profile("default").is_none());
    assert_eq!(doc.active_profile, None);
    assert!(matches!(
        run_offline(&mut local(Some("work")), Some(stored), T0),
        Err(Error::ProfileNotFound { .. })
    ));
    assert!(matches!(
        run_offline(&mut local(None), None, T0),
        Err(Error::NotAuthenticated)
    ));
}

#[test]
fn logout_of_a_profile_a_newer_version_stored_removes_it_and_sends_nothing() {
    let endpoints = ServerEndpoints::Known(Endpoints {
        revocation: Some("https://as.example/revoke".into()),
        ..Endpoints::default()
    });
    let text = include_str!("../../../tests/fixtures/credentials-1.1.json");
    let doc = CredentialsDocument::from_json(text.as_bytes()).unwrap();
    let mut shell = Shell::default().storing(Some(doc.clone_secret()));
    let o = shell
        .drive(&mut logout(Some("next"), None, endpoints))
        .unwrap()
        .unwrap();
    assert_eq!(
        o.revocation,
        Revocation::Skipped {
            reason: "this version cannot revoke a credential type `passkey`".into()
        }
    );
    assert!(shell.requests.is_empty(), "nothing is sent for it");
    let written = &shell.written[0];
    assert!(written.unknown_profile("next").is_none());
    // Everything else is as it was: the other unknown profile, the known ones.
    assert!(written.unknown_profile("hw").is_some());
    assert_eq!(written.profiles.len(), doc.profiles.len());
}
