//! Refreshing an access token, safe when several CLI processes race.
//!
//! [`Refresh`] encodes the protocol that keeps rotating refresh tokens intact:
//!
//! 1. **Lock and re-read.** The first step is always [`RefreshStep::ReadStorage`]: the
//!    shell takes the cross-process lock on the credential store and reads the current
//!    token set. Another process may already have refreshed; then no request is sent.
//! 2. **Refresh only if still needed**, with at most one request in flight, retried only
//!    when the server provably did not process it (a rotated refresh token must never
//!    be replayed).
//! 3. **Persist before use.** A new token set is handed out only after
//!    [`RefreshStep::Persist`] has been acknowledged with [`Refresh::handle_persisted`]:
//!    a rotated refresh token is on disk before the new access token is used.
//! 4. **`invalid_grant` is not the end at once.** The machine asks to re-read storage:
//!    if another process rotated the token meanwhile, its result is used; only if the
//!    stored refresh token is the one that was refused is the session declared gone
//!    ([`crate::Error::SessionExpired`]).
//! 5. If the refresh fails for a server or network reason while the old access token
//!    is still usable (inside the refresh margin), that token is returned.
//!
//! Drain rule: call [`Refresh::poll`] until it returns `Ready`, `Failed` or `Finished`;
//! answer `ReadStorage` with [`Refresh::handle_stored`], `Send` with
//! [`Refresh::handle_response`] or [`Refresh::handle_transport_error`], `Persist`
//! with [`Refresh::handle_persisted`] (or [`Refresh::handle_persist_failed`]), and
//! `WaitUntil` by polling again at that time. Release the storage lock when the
//! machine is finished.

use crate::error::Error;
use crate::exchange::{Exchange, ExchangeStep, TransportError};
use crate::http::{HttpRequest, HttpResponse};
use crate::retry::RetryPolicy;
use crate::secret::RefreshToken;
use crate::time::Timestamp;
use crate::token::{
    RefreshPolicy, TokenEndpointResponse, TokenGrant, TokenSet, TokenStatus, parse_token_response,
    token_request,
};

/// Where and how to refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshConfig {
    /// The token endpoint.
    pub token_endpoint: String,
    /// The public client's id.
    pub client_id: String,
    /// When a refresh is due.
    pub policy: RefreshPolicy,
    /// Retries for the refresh request.
    pub retry: RetryPolicy,
}

/// What the shell does next.
#[derive(Debug)]
pub enum RefreshStep<'a> {
    /// Lock the store (if not yet locked), read the token set, call
    /// [`Refresh::handle_stored`].
    ReadStorage,
    /// Send this request.
    Send(&'a HttpRequest),
    /// Poll again at this instant.
    WaitUntil(Timestamp),
    /// Write this token set to the store (under the lock), then call
    /// [`Refresh::handle_persisted`].
    Persist(&'a TokenSet),
    /// A valid token set; `refreshed` says whether this machine obtained it.
    Ready {
        /// The tokens.
        tokens: TokenSet,
        /// Whether a refresh happened here (false: stored tokens were valid).
        refreshed: bool,
    },
    /// The refresh failed.
    Failed(Error),
    /// The outcome was already returned.
    Finished,
}

#[derive(Debug)]
enum State {
    NeedStored,
    Exchanging(Exchange),
    Persisting(TokenSet),
    Ready(TokenSet, bool),
    Failed(Error),
    Finished,
}

/// The refresh protocol (see the module docs).
#[derive(Debug)]
pub struct Refresh {
    config: RefreshConfig,
    seed: u64,
    force: bool,
    state: State,
    /// The token set read from storage that the current request refreshes.
    current: Option<TokenSet>,
    /// The refresh token that was refused with `invalid_grant`, if any.
    refused: Option<RefreshToken>,
}

impl Refresh {
    /// A refresh that happens only if the stored tokens need it.
    pub fn new(config: RefreshConfig, seed: u64) -> Self {
        Refresh {
            config,
            seed,
            force: false,
            state: State::NeedStored,
            current: None,
            refused: None,
        }
    }

    /// A refresh that happens even when the stored access token is still valid (e.g.
    /// after the API answered 401 to it).
    pub fn forced(config: RefreshConfig, seed: u64) -> Self {
        Refresh {
            force: true,
            ..Refresh::new(config, seed)
        }
    }

    /// The next step.
    pub fn poll(&mut self, now: Timestamp) -> RefreshStep<'_> {
        if matches!(self.state, State::Ready(..) | State::Failed(_)) {
            return match core::mem::replace(&mut self.state, State::Finished) {
                State::Ready(tokens, refreshed) => RefreshStep::Ready { tokens, refreshed },
                State::Failed(e) => RefreshStep::Failed(e),
                _ => RefreshStep::Finished,
            };
        }
        match &mut self.state {
            State::NeedStored => RefreshStep::ReadStorage,
            State::Exchanging(ex) => match ex.poll(now) {
                ExchangeStep::Send(r) => RefreshStep::Send(r),
                ExchangeStep::WaitUntil(t) => RefreshStep::WaitUntil(t),
                ExchangeStep::Finished => RefreshStep::Finished,
            },
            State::Persisting(t) => RefreshStep::Persist(t),
            _ => RefreshStep::Finished,
        }
    }

    /// The token set read from storage (`None`: no OAuth credential stored).
    pub fn handle_stored(&mut self, now: Timestamp, stored: Option<TokenSet>) {
        if !matches!(self.state, State::NeedStored) {
            self.state = State::Failed(Error::Misuse("handle_stored without ReadStorage"));
            return;
        }
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
        let status = stored.status(now, &self.config.policy);
        // A forced refresh is satisfied by tokens another process obtained after ours
        // were refused; otherwise it refreshes whatever is stored.
        let force = self.force && self.refused.is_none();
        match (status, &stored.refresh_token) {
            (TokenStatus::Valid { .. }, _) if !force => {
                self.state = State::Ready(stored, false);
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
                let request = token_request(
                    &self.config.token_endpoint,
                    &self.config.client_id,
                    TokenGrant::RefreshToken {
                        refresh_token,
                        scope: None,
                    },
                );
                self.seed = self.seed.wrapping_add(1);
                self.state =
                    State::Exchanging(Exchange::new(request, self.config.retry, self.seed));
                self.current = Some(stored);
            }
        }
    }

    /// The response to the last `Send`.
    pub fn handle_response(&mut self, now: Timestamp, response: HttpResponse) {
        let State::Exchanging(ex) = &mut self.state else {
            self.state = State::Failed(Error::Misuse("handle_response without Send"));
            return;
        };
        ex.handle_response(now, response);
        self.after_exchange(now);
    }

    /// The transport failure of the last `Send`.
    pub fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        let State::Exchanging(ex) = &mut self.state else {
            self.state = State::Failed(Error::Misuse("handle_transport_error without Send"));
            return;
        };
        ex.handle_transport_error(now, error);
        self.after_exchange(now);
    }

    fn after_exchange(&mut self, now: Timestamp) {
        let State::Exchanging(ex) = &mut self.state else {
            return;
        };
        if !ex.is_finished() {
            return;
        }
        let outcome = ex.finish();
        let Some(current) = self.current.take() else {
            self.state = State::Failed(Error::Misuse("refresh without stored tokens"));
            return;
        };
        let parsed = outcome.and_then(|r| parse_token_response(&r, now));
        self.state = match parsed {
            Ok(TokenEndpointResponse::Tokens(t)) => State::Persisting(current.refreshed(t, now)),
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
                        current.status(now, &self.config.policy),
                        TokenStatus::Valid { .. } | TokenStatus::RefreshDue
                    );
                if usable {
                    State::Ready(current, false)
                } else {
                    State::Failed(e)
                }
            }
        };
    }

    /// The token set from `Persist` is durably stored.
    pub fn handle_persisted(&mut self) {
        match core::mem::replace(&mut self.state, State::Finished) {
            State::Persisting(t) => self.state = State::Ready(t, true),
            _ => self.state = State::Failed(Error::Misuse("handle_persisted without Persist")),
        }
    }

    /// Storing failed. The new tokens are dropped (the rotated refresh token is lost,
    /// and with it the session): the error is reported rather than handing out an
    /// access token whose refresh token is not on disk.
    pub fn handle_persist_failed(&mut self, error: Error) {
        self.state = State::Failed(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use core::time::Duration;
    use serde_json::json;

    const T0: Timestamp = Timestamp::from_unix_secs(1_000_000);

    fn config() -> RefreshConfig {
        RefreshConfig {
            token_endpoint: "https://as/token".into(),
            client_id: "cli".into(),
            policy: RefreshPolicy::default(),
            retry: RetryPolicy::default(),
        }
    }

    fn set(access: &str, refresh: &str, expires_in: i64) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new(access),
            token_type: "Bearer".into(),
            expires_at: Some(if expires_in >= 0 {
                T0.saturating_add(Duration::from_secs(expires_in as u64))
            } else {
                T0.saturating_sub(Duration::from_secs((-expires_in) as u64))
            }),
            refresh_token: Some(RefreshToken::new(refresh)),
            scope: None,
            id_token: None,
            // Obtained an hour ago: a normal lifetime, so the full margin applies.
            obtained_at: T0.saturating_sub(Duration::from_secs(3600)),
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
        let mut r = Refresh::new(config(), 1);
        assert!(matches!(r.poll(T0), RefreshStep::ReadStorage));
        r.handle_stored(T0, Some(set("a1", "r1", 3600)));
        let RefreshStep::Ready { tokens, refreshed } = r.poll(T0) else {
            panic!()
        };
        assert_eq!(
            (tokens.access_token.expose_secret(), refreshed),
            ("a1", false)
        );
        assert!(matches!(r.poll(T0), RefreshStep::Finished));
    }

    #[test]
    fn expired_refreshes_and_persists_before_ready() {
        let mut r = Refresh::new(config(), 1);
        let _ = r.poll(T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let RefreshStep::Send(req) = r.poll(T0) else {
            panic!()
        };
        assert!(String::from_utf8_lossy(&req.body).contains("refresh_token=r1"));
        r.handle_response(T0, ok("a2", "r2"));
        let RefreshStep::Persist(t) = r.poll(T0) else {
            panic!()
        };
        assert_eq!(t.refresh_token.as_ref().unwrap().expose_secret(), "r2");
        // Not ready until persisted.
        assert!(matches!(r.poll(T0), RefreshStep::Persist(_)));
        r.handle_persisted();
        let RefreshStep::Ready {
            tokens,
            refreshed: true,
        } = r.poll(T0)
        else {
            panic!()
        };
        assert_eq!(tokens.access_token.expose_secret(), "a2");
    }

    #[test]
    fn invalid_grant_rereads_and_uses_tokens_rotated_elsewhere() {
        let mut r = Refresh::new(config(), 1);
        let _ = r.poll(T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = r.poll(T0);
        r.handle_response(
            T0,
            HttpResponse::json(400, &json!({"error": "invalid_grant"})),
        );
        assert!(matches!(r.poll(T0), RefreshStep::ReadStorage));
        r.handle_stored(T0, Some(set("a2", "r2", 3600)));
        let RefreshStep::Ready {
            tokens,
            refreshed: false,
        } = r.poll(T0)
        else {
            panic!()
        };
        assert_eq!(tokens.access_token.expose_secret(), "a2");
    }

    #[test]
    fn invalid_grant_with_same_token_is_session_expired() {
        let mut r = Refresh::new(config(), 1);
        let _ = r.poll(T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = r.poll(T0);
        r.handle_response(
            T0,
            HttpResponse::json(400, &json!({"error": "invalid_grant"})),
        );
        let _ = r.poll(T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        assert!(matches!(
            r.poll(T0),
            RefreshStep::Failed(Error::SessionExpired)
        ));
    }

    #[test]
    fn refresh_due_survives_server_failure_but_expired_does_not() {
        for (expires_in, expect_ready) in [(70, true), (-5, false)] {
            let mut r = Refresh::new(config(), 1);
            let _ = r.poll(T0);
            r.handle_stored(T0, Some(set("a1", "r1", expires_in)));
            let RefreshStep::Send(_) = r.poll(T0) else {
                panic!()
            };
            // 500 on a non-idempotent refresh is not retried.
            r.handle_response(T0, HttpResponse::new(500));
            match r.poll(T0) {
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
        let mut r = Refresh::new(config(), 1);
        let _ = r.poll(T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = r.poll(T0);
        r.handle_transport_error(T0, TransportError::unknown("timed out"));
        assert!(matches!(
            r.poll(T0),
            RefreshStep::Failed(Error::Network { .. })
        ));
    }

    #[test]
    fn rate_limited_refresh_waits_and_retries() {
        let mut r = Refresh::new(config(), 1);
        let _ = r.poll(T0);
        r.handle_stored(T0, Some(set("a1", "r1", -10)));
        let _ = r.poll(T0);
        r.handle_response(T0, HttpResponse::new(429).with_header("retry-after", "3"));
        let RefreshStep::WaitUntil(t) = r.poll(T0) else {
            panic!()
        };
        assert_eq!(t, T0.saturating_add(Duration::from_secs(3)));
        assert!(matches!(r.poll(t), RefreshStep::Send(_)));
    }

    #[test]
    fn forced_refresh_and_missing_credentials() {
        let mut r = Refresh::forced(config(), 1);
        let _ = r.poll(T0);
        r.handle_stored(T0, Some(set("a1", "r1", 3600)));
        assert!(matches!(r.poll(T0), RefreshStep::Send(_)));
        let mut r = Refresh::new(config(), 1);
        let _ = r.poll(T0);
        r.handle_stored(T0, None);
        assert!(matches!(
            r.poll(T0),
            RefreshStep::Failed(Error::NotAuthenticated)
        ));
        let mut r = Refresh::new(config(), 1);
        r.handle_persisted();
        assert!(matches!(r.poll(T0), RefreshStep::Failed(Error::Misuse(_))));
    }
}
