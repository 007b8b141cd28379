//! Refreshing an access token, safe when several CLI processes race.
//!
//! [`Refresh`] is a [flow](crate::flow) that encodes the protocol keeping rotating
//! refresh tokens intact. It takes the whole credentials document and returns it:
//!
//! 1. **Lock and re-read.** The first step is always
//!    [`Step::ReadStorage`]`(`[`Access::Locked`]`)`: the shell takes the cross-process
//!    lock on the credential store and reads the current document. Another process may
//!    already have refreshed; then no request is sent.
//! 2. **Refresh only if still needed**, with at most one request in flight, retried only
//!    when the server provably did not process it (a rotated refresh token must never
//!    be replayed).
//! 3. **Persist before use.** The new tokens go into the profile (with `verified_at`:
//!    the server just accepted the refresh token) and the whole document is handed out
//!    as [`Step::Persist`]; the tokens come out ([`Step::Done`]) only after the write
//!    is acknowledged: a rotated refresh token is on disk before the new access token
//!    is used. From sending the request until then the flow is
//!    [critical](Flow::critical): a cancellation takes effect after it.
//! 4. **`invalid_grant` is not the end at once.** The machine asks to re-read storage:
//!    if another process rotated the token meanwhile, its result is used; only if the
//!    stored refresh token is the one that was refused is the session declared gone
//!    ([`crate::Error::SessionExpired`]).
//! 5. If the refresh fails for a server or network reason while the old access token
//!    is still usable (inside the refresh margin), that token is returned.
//!
//! The shell releases the storage lock when the flow has ended.

use crate::client::Client;
use crate::credentials::{Credential, CredentialsDocument};
use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::{Access, Flow, Input, Step};
use crate::retry::RetryPolicy;
use crate::secret::RefreshToken;
use crate::time::Now;
use crate::token::{RefreshPolicy, TokenEndpointResponse, TokenGrant, TokenSet, TokenStatus};

/// Where and how to refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshConfig {
    /// The token endpoint.
    pub token_endpoint: String,
    /// The client: its id, and its secret, extra parameters for
    /// [`RequestKind::Refresh`](crate::client::RequestKind::Refresh) and quirks if
    /// any ([`Client::new`] for a public client).
    pub client: Client,
    /// When a refresh is due.
    pub policy: RefreshPolicy,
    /// Retries for the refresh request.
    pub retry: RetryPolicy,
    /// The configured authorization server: a profile of another is never refreshed
    /// here ([`Error::ProfileServerMismatch`]).
    pub issuer: Option<String>,
    /// The configured API, checked the same way.
    pub api_base: Option<String>,
}

impl RefreshConfig {
    /// A configuration with the default policies and no server checks.
    pub fn new(token_endpoint: impl Into<String>, client_id: impl Into<String>) -> Self {
        RefreshConfig {
            token_endpoint: token_endpoint.into(),
            client: Client::new(client_id),
            policy: RefreshPolicy::default(),
            retry: RetryPolicy::default(),
            issuer: None,
            api_base: None,
        }
    }
}

/// What a [`Refresh`] ends with.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refreshed {
    /// A valid token set.
    pub tokens: TokenSet,
    /// Whether this flow refreshed (false: the stored tokens were valid, or were
    /// refreshed by another process meanwhile, or are still usable after a failure).
    pub refreshed: bool,
    /// Whether the server rotated the refresh token (the new one is persisted).
    pub rotated: bool,
}

#[derive(Debug)]
enum State {
    NeedStored,
    Exchanging(Exchange),
    Persisting(CredentialsDocument, TokenSet, bool),
    Ready(Refreshed),
    Failed(Error),
    Finished,
}

/// The refresh protocol for one profile (see the module docs).
#[derive(Debug)]
pub struct Refresh {
    config: RefreshConfig,
    profile: String,
    seed: u64,
    force: bool,
    state: State,
    /// The document read under the lock, whose profile the current request refreshes.
    doc: Option<CredentialsDocument>,
    /// The token set that the current request refreshes.
    current: Option<TokenSet>,
    /// The refresh token that was refused with `invalid_grant`, if any.
    refused: Option<RefreshToken>,
    /// A cancellation that arrived in the critical section.
    cancelled: bool,
    /// A narrower scope to ask for (RFC 6749 §6), if any.
    scope: Option<String>,
}

impl Refresh {
    /// A refresh of `profile` that happens only if its stored tokens need it.
    pub fn new(config: RefreshConfig, profile: impl Into<String>, seed: u64) -> Self {
        Refresh {
            config,
            profile: profile.into(),
            seed,
            force: false,
            state: State::NeedStored,
            doc: None,
            current: None,
            refused: None,
            cancelled: false,
            scope: None,
        }
    }

    /// Asks the server for `scope` — space-separated, no wider than what was granted
    /// (RFC 6749 §6) — in the refresh request. When the answer names no scope, the new
    /// tokens carry the requested one (RFC 6749 §5.1: the scope is only returned
    /// when it differs from the request).
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        self.scope = (!scope.trim().is_empty()).then_some(scope);
        self
    }

    /// A refresh that happens even when the stored access token is still valid (e.g.
    /// after the API answered 401 to it).
    pub fn forced(config: RefreshConfig, profile: impl Into<String>, seed: u64) -> Self {
        Refresh {
            force: true,
            ..Refresh::new(config, profile, seed)
        }
    }

    /// Continues with a document the shell already read under the lock (the wasm
    /// binding holds the page's lock for the whole flow), instead of asking for it.
    pub fn with_stored(mut self, now: Now, document: CredentialsDocument) -> Self {
        self.on_stored(now, Some(document));
        self
    }

    fn on_stored(&mut self, now: Now, doc: Option<CredentialsDocument>) {
        let name = self.profile.as_str();
        let stored = match doc.as_ref().and_then(|d| d.profile(name)) {
            Some(p) => {
                if let Err(e) = p.check_server(
                    name,
                    self.config.issuer.as_deref(),
                    self.config.api_base.as_deref(),
                ) {
                    self.state = State::Failed(e);
                    return;
                }
                match &p.credential {
                    Credential::OAuth(t) => Some(t.clone_secret()),
                    Credential::ApiKey(_) => None,
                }
            }
            None => None,
        };
        let Some(stored) = stored else {
            self.state = State::Failed(Error::NotAuthenticated);
            return;
        };
        let rotated_elsewhere = match (&self.refused, &stored.refresh_token) {
            (Some(refused), Some(now_stored)) => refused != now_stored,
            (Some(_), None) => false,
            (None, _) => true,
        };
        if self.refused.is_some() && !rotated_elsewhere {
            self.state = State::Failed(Error::SessionExpired);
            return;
        }
        let status = stored.status(now.wall, &self.config.policy);
        // A forced refresh is satisfied by tokens another process obtained after ours
        // were refused; otherwise it refreshes whatever is stored.
        let force = self.force && self.refused.is_none();
        match (status, &stored.refresh_token) {
            (TokenStatus::Valid { .. }, _) if !force => {
                self.state = State::Ready(Refreshed {
                    tokens: stored,
                    refreshed: false,
                    rotated: false,
                });
            }
            (TokenStatus::NeedsLogin, _) | (_, None) => {
                self.state = State::Failed(if force {
                    Error::Unauthorized {
                        detail: Some(
                            "the access token was rejected and cannot be refreshed".into(),
                        ),
                    }
                } else {
                    Error::SessionExpired
                });
            }
            (_, Some(refresh_token)) => {
                let request = self.config.client.token_request(
                    &self.config.token_endpoint,
                    TokenGrant::RefreshToken {
                        refresh_token,
                        scope: self.scope.as_deref(),
                    },
                );
                self.seed = self.seed.wrapping_add(1);
                self.state =
                    State::Exchanging(Exchange::new(request, self.config.retry, self.seed));
                self.current = Some(stored);
                self.doc = doc;
            }
        }
    }

    fn after_exchange(&mut self, now: Now, outcome: Result<crate::HttpResponse, Error>) {
        let Some(current) = self.current.take() else {
            self.state = State::Failed(Error::Misuse("refresh without stored tokens"));
            return;
        };
        let parsed = outcome.and_then(|r| self.config.client.parse_token_response(&r, now.wall));
        self.state = match parsed {
            Ok(TokenEndpointResponse::Tokens(mut t)) => {
                // RFC 6749 §5.1: a response without `scope` granted the requested one.
                if t.scope.is_none() {
                    t.scope = self.scope.clone();
                }
                let tokens = current.refreshed(t, now.wall);
                let rotated = tokens.refresh_token != current.refresh_token;
                let mut doc = self.doc.take().unwrap_or_default();
                match doc.profile_mut(&self.profile) {
                    Some(p) => {
                        p.credential = Credential::OAuth(tokens.clone_secret());
                        p.verified_at = Some(now.wall);
                        State::Persisting(doc, tokens, rotated)
                    }
                    None => State::Failed(Error::NotAuthenticated),
                }
            }
            Ok(TokenEndpointResponse::Error(e)) if e.error == "invalid_grant" => {
                if self.refused.is_some() {
                    State::Failed(Error::SessionExpired)
                } else {
                    self.refused = current
                        .refresh_token
                        .as_ref()
                        .map(RefreshToken::clone_secret);
                    State::NeedStored
                }
            }
            Ok(TokenEndpointResponse::Error(e)) => State::Failed(e.into_error()),
            Err(e) => {
                let usable = !self.force
                    && matches!(
                        current.status(now.wall, &self.config.policy),
                        TokenStatus::Valid { .. } | TokenStatus::RefreshDue
                    );
                if usable {
                    State::Ready(Refreshed {
                        tokens: current,
                        refreshed: false,
                        rotated: false,
                    })
                } else {
                    State::Failed(e)
                }
            }
        };
        if self.cancelled && !self.critical() {
            self.state = State::Failed(Error::Cancelled);
        }
    }
}

impl Flow for Refresh {
    type Output = Refreshed;

    fn poll(&mut self, now: Now) -> Step<Refreshed> {
        loop {
            return match &mut self.state {
                State::NeedStored => Step::ReadStorage(Access::Locked),
                State::Exchanging(ex) => match ex.poll(now).outcome() {
                    Err(step) => step,
                    Ok(outcome) => {
                        self.after_exchange(now, outcome);
                        continue;
                    }
                },
                // The tokens wait for the acknowledgement; until then every poll asks
                // for the same write.
                State::Persisting(doc, ..) => Step::Persist(doc.clone_secret()),
                State::Ready(_) | State::Failed(_) | State::Finished => {
                    match core::mem::replace(&mut self.state, State::Finished) {
                        State::Ready(r) => Step::Done(r),
                        State::Failed(e) => Step::Failed(e),
                        _ => Step::Finished,
                    }
                }
            };
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        if matches!(self.state, State::Finished) {
            return;
        }
        if let Input::Cancel = input {
            if self.critical() {
                self.cancelled = true;
            } else {
                self.state = State::Failed(Error::Cancelled);
            }
            return;
        }
        match (&mut self.state, input) {
            (State::NeedStored, Input::Stored(Ok(doc))) => self.on_stored(now, doc),
            (State::NeedStored, Input::Stored(Err(e))) => self.state = State::Failed(e),
            (
                State::Exchanging(ex),
                input @ (Input::Response(_) | Input::TransportError(_) | Input::SendFailed(_)),
            ) => {
                ex.handle(now, input);
            }
            (State::Persisting(..), Input::Persisted(result)) => {
                let State::Persisting(_, tokens, rotated) =
                    core::mem::replace(&mut self.state, State::Finished)
                else {
                    return;
                };
                self.state = match result {
                    // The rotated refresh token is lost with the write, and with it the
                    // session: the error is reported rather than handing out an access
                    // token whose refresh token is not on disk.
                    Err(e) => State::Failed(e),
                    Ok(()) if self.cancelled => State::Failed(Error::Cancelled),
                    Ok(()) => State::Ready(Refreshed {
                        tokens,
                        refreshed: true,
                        rotated,
                    }),
                };
            }
            (_, input) => self.state = State::Failed(crate::flow::unexpected(&input)),
        }
    }

    /// From the moment the refresh request is sent until its result is persisted:
    /// in flight, answered but not yet read (the answer may carry a rotated refresh
    /// token that exists nowhere else), and persisting. Waiting to retry a request
    /// the server provably did not process is not critical.
    fn critical(&self) -> bool {
        match &self.state {
            State::Exchanging(ex) => ex.in_flight() || ex.settled(),
            State::Persisting(..) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HttpResponse;
    use crate::credentials::{LoginMethod, Profile};
    use crate::exchange::TransportError;
    use crate::flow::Answers;
    use crate::secret::AccessToken;
    use crate::time::Timestamp;
    use core::time::Duration;
    use serde_json::json;

    const T0: Now = Now::from_wall(Timestamp::from_unix_secs(1_000_000));

    fn config() -> RefreshConfig {
        RefreshConfig::new("https://as/token", "cli")
    }

    /// The machines' former `RefreshStep` and `handle_stored` / `handle_persisted`,
    /// in terms of the flow protocol and a one-profile document.
    trait Shell {
        fn handle_stored(&mut self, now: Now, stored: Option<TokenSet>);
        fn handle_persisted(&mut self);
    }

    impl Shell for Refresh {
        fn handle_stored(&mut self, now: Now, stored: Option<TokenSet>) {
            let doc = stored.map(|t| {
                let mut d = CredentialsDocument::new();
                d.set_profile(
                    "default",
                    Profile::new(Credential::OAuth(t), LoginMethod::Device, now.wall),
                )
                .unwrap();
                d
            });
            self.handle(now, Input::Stored(Ok(doc)));
        }

        fn handle_persisted(&mut self) {
            self.handle(T0, Input::Persisted(Ok(())));
        }
    }

    #[derive(Debug)]
    enum RefreshStep {
        ReadStorage,
        Send(crate::HttpRequest),
        WaitUntil(crate::time::Instant),
        Persist(TokenSet),
        Ready { tokens: TokenSet, refreshed: bool },
        Failed(Error),
        Finished,
    }

    fn poll(r: &mut Refresh, now: Now) -> RefreshStep {
        match Flow::poll(r, now) {
            Step::ReadStorage(Access::Locked) => RefreshStep::ReadStorage,
            Step::Send(q) => RefreshStep::Send(q),
            Step::WaitUntil(t) => RefreshStep::WaitUntil(t),
            Step::Persist(doc) => match &doc.profile("default").unwrap().credential {
                Credential::OAuth(t) => RefreshStep::Persist(t.clone_secret()),
                Credential::ApiKey(_) => panic!("an API key persisted"),
            },
            Step::Done(r) => RefreshStep::Ready {
                tokens: r.tokens,
                refreshed: r.refreshed,
            },
            Step::Failed(e) => RefreshStep::Failed(e),
            Step::Finished => RefreshStep::Finished,
            other => panic!("{other:?}"),
        }
    }

    fn set(access: &str, refresh: &str, expires_in: i64) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new(access),
            token_type: "Bearer".into(),
            expires_at: Some(if expires_in >= 0 {
                T0.wall
                    .saturating_add(Duration::from_secs(expires_in as u64))
            } else {
                T0.wall
                    .saturating_sub(Duration::from_secs((-expires_in) as u64))
            }),
            refresh_token: Some(RefreshToken::new(refresh)),
            scope: None,
            id_token: None,
            // Obtained an hour ago: a normal lifetime, so the full margin applies.
            obtained_at: T0.wall.saturating_sub(Duration::from_secs(3600)),
        }
    }

    fn ok(access: &str, refresh: &str) -> HttpResponse {
        HttpResponse::json(
            200,
            &json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh}),
        )
    }

    #[test]
    fn valid_tokens_need_no_request() {
        let mut r = Refresh::new(config(), "default", 1);
        assert!(matches!(poll(&mut r, T0), RefreshStep::ReadStorage));
        r.handle_stored(T0, Some(set("a1", "r1", 3600)));
        let RefreshStep::Ready { tokens, refreshed } = poll(&mut r, T0) else {
            panic!()
        };
        assert_eq!(
            (tokens.access_token.expose_secret(), refreshed),
            ("a1", false)
        );
        assert!(matches!(poll(&mut r, T0), RefreshStep::Finished));
    }

    #[test]
    fn a_narrower_scope_is_requested_and_recorded() {
        let mut stored = set("a1", "r1", 3600);
        stored.scope = Some("read write admin".into());
        let scoped = |answer: HttpResponse| {
            let mut r = Refresh::forced(config(), "default", 1).with_scope("read");
            let _ = poll(&mut r, T0);
            r.handle_stored(T0, Some(stored.clone_secret()));
            let RefreshStep::Send(req) = poll(&mut r, T0) else {
                panic!()
            };
            let body = String::from_utf8_lossy(&req.body).into_owned();
            assert!(
                body.contains("grant_type=refresh_token") && body.contains("&scope=read"),
                "{body}"
            );
            r.handle_response(T0, answer);
            let RefreshStep::Persist(t) = poll(&mut r, T0) else {
                panic!()
            };
            t.scope.clone()
        };
        // No scope in the answer: the requested one was granted (RFC 6749 §5.1).
        assert_eq!(scoped(ok("a2", "r2")).as_deref(), Some("read"));
        // The server says what it granted.
        let answer = HttpResponse::json(
            200,
            &json!({"access_token": "a2", "token_type": "Bearer", "scope": "read write"}),
        );
        assert_eq!(scoped(answer).as_deref(), Some("read write"));
        // Without a scope nothing is added to the request; a blank one is no scope.
        let mut r = Refresh::forced(config(), "default", 1).with_scope("  ");
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(stored.clone_secret()));
        let RefreshStep::Send(req) = poll(&mut r, T0) else {
            panic!()
        };
        assert!(!String::from_utf8_lossy(&req.body).contains("scope="));
    }

    #[test]
    fn expired_refreshes_and_persists_before_ready() {
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let RefreshStep::Send(req) = poll(&mut r, T0) else {
            panic!()
        };
        assert!(String::from_utf8_lossy(&req.body).contains("refresh_token=r1"));
        r.handle_response(T0, ok("a2", "r2"));
        let RefreshStep::Persist(t) = poll(&mut r, T0) else {
            panic!()
        };
        assert_eq!(t.refresh_token.as_ref().unwrap().expose_secret(), "r2");
        // Not ready until persisted.
        assert!(matches!(poll(&mut r, T0), RefreshStep::Persist(_)));
        r.handle_persisted();
        let RefreshStep::Ready {
            tokens,
            refreshed: true,
        } = poll(&mut r, T0)
        else {
            panic!()
        };
        assert_eq!(tokens.access_token.expose_secret(), "a2");
    }

    #[test]
    fn a_cancel_right_after_the_answer_still_persists_the_rotated_token() {
        // Issue 10 item 6: the answer has arrived but the flow has not read it yet —
        // the rotated refresh token exists only in that answer. The section is still
        // critical: the cancellation waits until the token is persisted.
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        assert!(!r.critical(), "nothing sent yet");
        let _ = poll(&mut r, T0);
        assert!(r.critical(), "in flight");
        r.handle_response(T0, ok("a2", "r2"));
        assert!(r.critical(), "answered, not yet read");
        r.handle(T0, Input::Cancel);
        let RefreshStep::Persist(t) = poll(&mut r, T0) else {
            panic!()
        };
        assert_eq!(t.refresh_token.as_ref().unwrap().expose_secret(), "r2");
        r.handle_persisted();
        assert!(!r.critical());
        assert!(matches!(r.poll(T0), Step::Failed(crate::Error::Cancelled)));
        // A cancellation while waiting to retry a request that never reached the
        // server ends the refresh at once: nothing was rotated.
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = poll(&mut r, T0);
        r.handle_transport_error(T0, TransportError::not_sent("connection refused"));
        assert!(!r.critical());
        r.handle(T0, Input::Cancel);
        assert!(matches!(r.poll(T0), Step::Failed(crate::Error::Cancelled)));
    }

    #[test]
    fn invalid_grant_rereads_and_uses_tokens_rotated_elsewhere() {
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = poll(&mut r, T0);
        r.handle_response(
            T0,
            HttpResponse::json(400, &json!({"error": "invalid_grant"})),
        );
        assert!(matches!(poll(&mut r, T0), RefreshStep::ReadStorage));
        r.handle_stored(T0, Some(set("a2", "r2", 3600)));
        let RefreshStep::Ready {
            tokens,
            refreshed: false,
        } = poll(&mut r, T0)
        else {
            panic!()
        };
        assert_eq!(tokens.access_token.expose_secret(), "a2");
    }

    #[test]
    fn invalid_grant_with_same_token_is_session_expired() {
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = poll(&mut r, T0);
        r.handle_response(
            T0,
            HttpResponse::json(400, &json!({"error": "invalid_grant"})),
        );
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        assert!(matches!(
            poll(&mut r, T0),
            RefreshStep::Failed(Error::SessionExpired)
        ));
    }

    #[test]
    fn refresh_due_survives_server_failure_but_expired_does_not() {
        for (expires_in, expect_ready) in [(70, true), (-5, false)] {
            let mut r = Refresh::new(config(), "default", 1);
            let _ = poll(&mut r, T0);
            r.handle_stored(T0, Some(set("a1", "r1", expires_in)));
            let RefreshStep::Send(_) = poll(&mut r, T0) else {
                panic!()
            };
            // 500 on a non-idempotent refresh is not retried.
            r.handle_response(T0, HttpResponse::new(500));
            match poll(&mut r, T0) {
                RefreshStep::Ready { tokens, .. } => {
                    assert!(expect_ready);
                    assert_eq!(tokens.access_token.expose_secret(), "a1");
                }
                RefreshStep::Failed(e) => {
                    assert!(!expect_ready);
                    assert_eq!(e, Error::Server { status: 500 });
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn timeout_after_send_is_not_replayed() {
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = poll(&mut r, T0);
        r.handle_transport_error(T0, TransportError::unknown("timed out"));
        assert!(matches!(
            poll(&mut r, T0),
            RefreshStep::Failed(Error::Network { .. })
        ));
    }

    #[test]
    fn rate_limited_refresh_waits_and_retries() {
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = poll(&mut r, T0);
        r.handle_response(T0, HttpResponse::new(429).with_header("retry-after", "3"));
        let RefreshStep::WaitUntil(t) = poll(&mut r, T0) else {
            panic!()
        };
        assert_eq!(t, T0.saturating_add(Duration::from_secs(3)).instant);
        assert!(matches!(
            poll(&mut r, T0.saturating_add(Duration::from_secs(3))),
            RefreshStep::Send(_)
        ));
    }

    #[test]
    fn forced_refresh_and_missing_credentials() {
        let mut r = Refresh::forced(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, Some(set("a1", "r1", 3600)));
        assert!(matches!(poll(&mut r, T0), RefreshStep::Send(_)));
        let mut r = Refresh::new(config(), "default", 1);
        let _ = poll(&mut r, T0);
        r.handle_stored(T0, None);
        assert!(matches!(
            poll(&mut r, T0),
            RefreshStep::Failed(Error::NotAuthenticated)
        ));
        let mut r = Refresh::new(config(), "default", 1);
        r.handle_persisted();
        assert!(matches!(
            poll(&mut r, T0),
            RefreshStep::Failed(Error::Misuse(_))
        ));
    }
}
