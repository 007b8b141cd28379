//! The cli-auth handoff: a vendor web page gives the CLI a credential.
//!
//! The CLI starts its loopback server and opens
//! `https://app.example/cli-auth?port=P&state=S[&code_challenge=C&code_challenge_method=S256][&accept=api_key][&mode=M]`
//! ([`handoff_page_url`]; the browser is started on the CLI's
//! [launch link](crate::flow::LaunchLink), which redirects there once). The page signs
//! the user in, obtains a one-time code from its backend, and delivers it with this
//! module's help.
//!
//! **What is delivered.** By default a **one-time code bound to the CLI's PKCE
//! challenge** (`code_challenge`): the CLI exchanges it with its verifier, so a code
//! that leaks from the URL is useless to anyone else. A raw **API key** is delivered
//! only when the CLI asked for one (`accept=api_key`, its explicit, less safe
//! `raw_key_handoff` option): a key is a bearer credential that nothing binds to this
//! login. [`HandoffRequest::check`] refuses a key the CLI did not ask for and a code
//! without a challenge, before anything is sent.
//!
//! **How it is delivered:**
//!
//! - [`DeliveryMode::Redirect`] (default): a **top-level navigation** to
//!   `http://127.0.0.1:P/callback?code=…&state=S`. Unlike a hidden iframe or a
//!   `fetch`, a top-level navigation is not blocked by Chrome's Local Network Access
//!   for pages on public origins.
//! - [`DeliveryMode::Post`]: `POST http://127.0.0.1:P/callback` with a JSON body, after
//!   a CORS preflight the loopback server answers only for origins it allows.
//! - [`DeliveryMode::Manual`]: for remote sessions (the browser is not on the CLI's
//!   machine), the page shows the credential masked, with the text to paste into the
//!   terminal.
//!
//! Every URL this module produces is built from a validated `u16` port and a fixed
//! loopback host: no input can point a delivery at another host or scheme.
//!
//! ```
//! use cliauth_core::handoff::{HandoffCredential, HandoffRequest};
//! use cliauth_core::secret::{ApiKey, AuthorizationCode};
//! let page = "https://app.example/cli-auth?port=49152&state=abcdefghijklmnopqrstuvwxyz012345\
//!             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
//! let request = HandoffRequest::from_url(page).unwrap();
//! let code = HandoffCredential::Code(AuthorizationCode::new("otc_123"));
//! assert!(request.check(&code).is_ok());
//! let url = request.redirect_url(&code);
//! assert_eq!(url, "http://127.0.0.1:49152/callback?code=otc_123&state=abcdefghijklmnopqrstuvwxyz012345");
//! // This CLI did not ask for a raw key (no `accept=api_key`).
//! assert!(request.check(&HandoffCredential::ApiKey(ApiKey::new("acme_k"))).is_err());
//! assert!(HandoffRequest::from_url("https://app.example/cli-auth?port=80&state=abcdefghijklmnopqrstuvwxyz").is_err());
//! ```

use crate::authorize::CALLBACK_PATH;
use crate::encoding::{append_query, decimal, parse_query, split_url};
use crate::error::Error;
use crate::error::sanitize_server_text;
use crate::http::{HttpRequest, HttpResponse};
use crate::pkce::PkceChallenge;
use crate::secret::{ApiKey, AuthorizationCode, SecretString};
use crate::state::check_token_text;

/// Lowest port a handoff may target: privileged ports are never a CLI's loopback server.
pub const MIN_PORT: u16 = 1024;

/// How the page delivers the credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMode {
    /// Top-level redirect to the loopback server (default).
    Redirect,
    /// CORS POST to the loopback server.
    Post,
    /// Show the credential for manual copy.
    Manual,
}

impl DeliveryMode {
    /// The `mode` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Redirect => "redirect",
            DeliveryMode::Post => "post",
            DeliveryMode::Manual => "manual",
        }
    }

    /// Parses a `mode` parameter value.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match value {
            "redirect" => Ok(DeliveryMode::Redirect),
            "post" => Ok(DeliveryMode::Post),
            "manual" => Ok(DeliveryMode::Manual),
            _ => Err(Error::invalid_argument(
                "mode",
                "must be redirect, post or manual",
            )),
        }
    }
}

/// What the page delivers.
#[derive(Debug)]
pub enum HandoffCredential {
    /// An API key.
    ApiKey(ApiKey),
    /// A one-time code the CLI exchanges.
    Code(AuthorizationCode),
}

impl HandoffCredential {
    fn param(&self) -> (&'static str, &str) {
        match self {
            HandoffCredential::ApiKey(k) => ("api_key", k.expose_secret()),
            HandoffCredential::Code(c) => ("code", c.expose_secret()),
        }
    }
}

/// The CLI's request to the page, read and validated from the page URL.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandoffRequest {
    /// The loopback port (1024–65535).
    pub port: u16,
    /// The CLI's `state` (not secret from the page, which must echo it).
    pub state: String,
    /// The delivery mode.
    pub mode: DeliveryMode,
    /// The PKCE challenge a one-time code should be bound to, if the CLI sent one.
    pub code_challenge: Option<String>,
    /// Whether the CLI accepts a raw API key (`accept=api_key`: its explicit
    /// `raw_key_handoff` option). Otherwise only a one-time code bound to
    /// `code_challenge` is delivered ([`HandoffRequest::check`]).
    pub accepts_api_key: bool,
}

impl HandoffRequest {
    /// Reads `port`, `state`, `mode`, `code_challenge` and `accept` from the page's URL
    /// (`location.href`). Refuses a missing, non-numeric, signed, padded or out-of-range
    /// port; a state that is too short, too long or has characters outside
    /// `A-Z a-z 0-9 - . _ ~`; an unknown mode; an `accept` other than `api_key`; and
    /// any repeated parameter. Other
    /// parameters (including any `host`, `callback` or `redirect`) are ignored: the
    /// target host is never taken from input.
    pub fn from_url(href: &str) -> Result<Self, Error> {
        let query = match split_url(href) {
            Some(u) => u.query.unwrap_or(""),
            None => href
                .split_once('?')
                .map_or("", |(_, q)| q.split('#').next().unwrap_or("")),
        };
        Self::from_query(query)
    }

    /// Like [`HandoffRequest::from_url`], from the query string alone.
    pub fn from_query(query: &str) -> Result<Self, Error> {
        let mut port = None;
        let mut state = None;
        let mut mode = None;
        let mut challenge = None;
        let mut accept = None;
        for (k, v) in parse_query(query) {
            let slot = match k.as_str() {
                "port" => &mut port,
                "state" => &mut state,
                "mode" => &mut mode,
                "code_challenge" => &mut challenge,
                "accept" => &mut accept,
                _ => continue,
            };
            if slot.is_some() {
                return Err(Error::InvalidArgument {
                    name: k,
                    reason: "appears more than once".into(),
                });
            }
            *slot = Some(v);
        }
        Self::build(
            port.as_deref(),
            state.as_deref(),
            mode.as_deref(),
            challenge.as_deref(),
            accept.as_deref(),
        )
    }

    /// A request from values the page already holds (a request object passed back by
    /// page code), checked exactly like [`HandoffRequest::from_url`] checks the URL:
    /// `port` is the decimal text of the port (`"49152"`; `"4000.5"`, `"1e4"`, `"NaN"`
    /// or `" 4000"` are refused), `state` must be 16–256 URL-safe characters, `mode`
    /// one of `redirect`, `post`, `manual` (absent or empty: redirect), a
    /// `code_challenge` 43 base64url characters, and `accept` `api_key` (absent or
    /// empty: codes only).
    ///
    /// ```
    /// use cliauth_core::handoff::HandoffRequest;
    /// let state = "abcdefghijklmnopqrstuvwxyz012345";
    /// let r = HandoffRequest::from_parts("49152", state, None, None, None).unwrap();
    /// assert_eq!(r.callback_url(), "http://127.0.0.1:49152/callback");
    /// assert!(HandoffRequest::from_parts("4000.5", state, None, None, None).is_err());
    /// ```
    pub fn from_parts(
        port: &str,
        state: &str,
        mode: Option<&str>,
        code_challenge: Option<&str>,
        accept: Option<&str>,
    ) -> Result<Self, Error> {
        Self::build(Some(port), Some(state), mode, code_challenge, accept)
    }

    fn build(
        port: Option<&str>,
        state: Option<&str>,
        mode: Option<&str>,
        challenge: Option<&str>,
        accept: Option<&str>,
    ) -> Result<Self, Error> {
        let port = parse_port(port)?;
        let state = state.ok_or_else(|| {
            Error::invalid_argument(
                "state",
                "is missing from the page URL; start the login from your terminal again",
            )
        })?;
        check_token_text(state, "state")?;
        let mode = match mode {
            None | Some("") => DeliveryMode::Redirect,
            Some(m) => DeliveryMode::parse(m)?,
        };
        if let Some(c) = challenge {
            let ok = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(Error::invalid_argument(
                    "code_challenge",
                    "must be 43 base64url characters (S256)",
                ));
            }
        }
        let accepts_api_key = match accept {
            None | Some("") => false,
            Some("api_key") => true,
            Some(_) => {
                return Err(Error::invalid_argument("accept", "must be api_key"));
            }
        };
        Ok(HandoffRequest {
            port,
            state: state.to_string(),
            mode,
            code_challenge: challenge.map(str::to_string),
            accepts_api_key,
        })
    }

    /// Whether the CLI takes `credential`: a one-time code only when it sent a PKCE
    /// challenge to bind it to, an API key only when it asked for one
    /// (`accept=api_key`). Pages call this before delivering (the npm package's
    /// `deliverHandoff` does), so nothing is sent that the CLI would refuse — or
    /// that it should not accept.
    pub fn check(&self, credential: &HandoffCredential) -> Result<(), Error> {
        let refused = |reason: &str| Err(Error::invalid_argument("credential", reason));
        match credential {
            HandoffCredential::Code(_) if self.code_challenge.is_none() => refused(
                "this CLI sent no PKCE challenge to bind a one-time code to; it accepts only an API key",
            ),
            HandoffCredential::ApiKey(_) if !self.accepts_api_key => refused(
                "this CLI accepts a one-time code bound to its PKCE challenge, not an API key \
                 (a raw key handoff must be enabled in the CLI: it then sends accept=api_key)",
            ),
            _ => Ok(()),
        }
    }

    /// `http://127.0.0.1:PORT`, the origin of the loopback server.
    pub fn loopback_origin(&self) -> String {
        ["http://127.0.0.1:", &decimal(u64::from(self.port))].concat()
    }

    /// `http://127.0.0.1:PORT/callback`.
    pub fn callback_url(&self) -> String {
        [&self.loopback_origin(), CALLBACK_PATH].concat()
    }

    /// The top-level navigation target carrying the credential and `state`.
    pub fn redirect_url(&self, credential: &HandoffCredential) -> String {
        let (name, value) = credential.param();
        append_query(
            &self.callback_url(),
            [(name, value), ("state", self.state.as_str())],
        )
    }

    /// The CORS POST (JSON body) for [`DeliveryMode::Post`].
    pub fn post_request(&self, credential: &HandoffCredential) -> HttpRequest {
        let (name, value) = credential.param();
        // Keys in sorted order (`api_key`/`code` < `state`), as serde_json wrote them.
        let body = crate::json::string_object(&[(name, value), ("state", &self.state)]);
        HttpRequest::post_json_text(self.callback_url(), body)
    }

    /// What to show for [`DeliveryMode::Manual`]: the credential masked (with the
    /// app's key formats, so the prefix stays visible), and the full text for the
    /// user to copy into the terminal.
    pub fn manual_copy(
        &self,
        credential: &HandoffCredential,
        formats: &crate::keys::KeyRegistry,
    ) -> ManualCopy {
        let (_, value) = credential.param();
        let masked = formats.mask(value);
        ManualCopy {
            masked,
            paste_text: SecretString::new(value),
        }
    }
}

/// What the loopback server's answer to a handoff POST ([`HandoffRequest::post_request`])
/// means. The server answers `{"ok": true, "code": "ok"}` when the CLI took the
/// credential; otherwise a status and a `code` naming why (read with core's small
/// JSON reader, [`crate::json`], so that pages need no serde_json):
///
/// - `state_mismatch` → [`Error::StateMismatch`] (the page's link does not belong to
///   the login running in the terminal);
/// - `already_completed` → [`Error::Rejected`] with status 409;
/// - anything else (`origin_not_allowed`, `missing_credential`, `expected_json`, …) →
///   [`Error::Rejected`] with the status and the code as detail.
///
/// ```
/// use cliauth_core::handoff::post_outcome;
/// use cliauth_core::{Error, HttpResponse};
/// let ok = HttpResponse::json(200, &serde_json::json!({"ok": true, "code": "ok"}));
/// assert!(post_outcome(&ok).is_ok());
/// let forged = HttpResponse::json(400, &serde_json::json!({"ok": false, "code": "state_mismatch"}));
/// assert_eq!(post_outcome(&forged), Err(Error::StateMismatch));
/// ```
pub fn post_outcome(response: &HttpResponse) -> Result<(), Error> {
    if response.is_success() {
        return Ok(());
    }
    let code = crate::json::Value::parse(&response.body).and_then(|v| {
        v.get("code")
            .and_then(crate::json::Value::as_str)
            .map(sanitize_server_text)
    });
    Err(match code.as_deref() {
        Some("state_mismatch") => Error::StateMismatch,
        Some("already_completed") => Error::Rejected {
            status: response.status,
            detail: Some("this login is already complete".into()),
        },
        _ => Error::Rejected {
            status: response.status,
            detail: code.filter(|c| !c.is_empty()),
        },
    })
}

fn parse_port(value: Option<&str>) -> Result<u16, Error> {
    let err = |reason: &str| Error::invalid_argument("port", reason);
    let v = value.ok_or_else(|| {
        err("is missing from the page URL; start the login from your terminal again")
    })?;
    if v.is_empty() || v.len() > 5 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("must be a number"));
    }
    // Parsed as u64 like core's other numbers (one parser in the pages' wasm).
    match v.parse::<u64>() {
        Ok(p) if (u64::from(MIN_PORT)..=65535).contains(&p) => Ok(p as u16),
        _ => Err(err("must be between 1024 and 65535")),
    }
}

/// The manual-copy fallback.
#[derive(Debug)]
pub struct ManualCopy {
    /// For display: `acme_dev_…a1b2`.
    pub masked: String,
    /// The text to paste into the terminal.
    pub paste_text: SecretString,
}

/// The vendor page's URL for a handoff: `port`, `state`, the PKCE challenge (when the
/// CLI accepts one-time codes), `accept=api_key` (when it accepts a raw key) and an
/// optional mode. The CLI does not start the browser on it: the
/// [launch link](crate::flow::LaunchLink) redirects there, so that `state` and the
/// challenge are on no command line.
pub fn handoff_page_url(
    page_url: &str,
    port: u16,
    state: &crate::state::StateToken,
    challenge: Option<&PkceChallenge>,
    accept_api_key: bool,
    mode: Option<DeliveryMode>,
) -> String {
    let port = port.to_string();
    let mut pairs: Vec<(&str, &str)> = vec![("port", &port), ("state", state.expose_secret())];
    if let Some(c) = challenge {
        pairs.push(("code_challenge", c.as_str()));
        pairs.push(("code_challenge_method", c.method().as_str()));
    }
    if accept_api_key {
        pairs.push(("accept", "api_key"));
    }
    if let Some(m) = mode {
        pairs.push(("mode", m.as_str()));
    }
    append_query(page_url, pairs)
}

/// What a one-time handoff code was exchanged for, as the credential to store.
///
/// Some cli-auth backends answer the code exchange with the user's **API key** in
/// `access_token`: no `refresh_token`, no `expires_in`, and a value in one of the app's
/// key formats. That is stored as an API key (it never expires and cannot be
/// refreshed); anything else is an OAuth token set.
///
/// ```
/// use cliauth_core::credentials::Credential;
/// use cliauth_core::handoff::handoff_credential;
/// use cliauth_core::keys::{Charset, KeyFormat, KeyRegistry};
/// use cliauth_core::token::{parse_token_response, TokenEndpointResponse};
/// use cliauth_core::{HttpResponse, Timestamp};
/// let keys = KeyRegistry::new(vec![KeyFormat::prefixed(
///     "acme", "Acme", "API key", "acme_", Charset::Base62, 20, 64,
/// )]);
/// let now = Timestamp::from_unix_secs(1_000);
/// let body = serde_json::json!({"access_token": "acme_0123456789abcdefghij", "token_type": "Bearer"});
/// let Ok(TokenEndpointResponse::Tokens(t)) = parse_token_response(&HttpResponse::json(200, &body), now) else { panic!() };
/// assert!(matches!(handoff_credential(t, &keys, now), Credential::ApiKey(_)));
/// ```
pub fn handoff_credential(
    response: crate::token::TokenResponse,
    keys: &crate::keys::KeyRegistry,
    now: crate::time::Timestamp,
) -> crate::credentials::Credential {
    use crate::credentials::Credential;
    let plain = response.refresh_token.is_none() && response.expires_in.is_none();
    if plain && keys.validate(response.access_token.expose_secret()).is_ok() {
        return Credential::ApiKey(ApiKey::new(response.access_token.expose_secret()));
    }
    Credential::OAuth(crate::token::TokenSet::from_response(response, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn code_exchange_results() {
        use crate::credentials::Credential;
        use crate::keys::{Charset, KeyFormat, KeyRegistry};
        use crate::token::{TokenEndpointResponse, parse_token_response};
        let keys = KeyRegistry::new(vec![KeyFormat::prefixed(
            "acme",
            "Acme",
            "API key",
            "acme_",
            Charset::Base62,
            20,
            64,
        )]);
        let now = crate::time::Timestamp::from_unix_secs(1_000);
        let parse = |body: serde_json::Value| match parse_token_response(
            &crate::http::HttpResponse::json(200, &body),
            now,
        ) {
            Ok(TokenEndpointResponse::Tokens(t)) => t,
            other => panic!("{other:?}"),
        };
        let key = "acme_0123456789abcdefghij";
        let c = handoff_credential(
            parse(serde_json::json!({"access_token": key, "token_type": "Bearer"})),
            &keys,
            now,
        );
        assert!(matches!(c, Credential::ApiKey(ref k) if k.expose_secret() == key));
        // Expiring or refreshable tokens, or values in no key format, are OAuth tokens.
        for body in [
            serde_json::json!({"access_token": key, "token_type": "Bearer", "expires_in": 60}),
            serde_json::json!({"access_token": key, "token_type": "Bearer", "refresh_token": "r"}),
            serde_json::json!({"access_token": "opaque-token-value", "token_type": "Bearer"}),
        ] {
            let c = handoff_credential(parse(body), &keys, now);
            assert!(matches!(c, Credential::OAuth(_)), "{c:?}");
        }
    }

    #[test]
    fn hostile_inputs_refused() {
        for q in [
            format!("state={STATE}"),
            format!("port=&state={STATE}"),
            format!("port=80&state={STATE}"),
            format!("port=1023&state={STATE}"),
            format!("port=65536&state={STATE}"),
            format!("port=99999999&state={STATE}"),
            format!("port=-4000&state={STATE}"),
            format!("port=%2B4000&state={STATE}"),
            format!("port=4000%20&state={STATE}"),
            format!("port=0x1000&state={STATE}"),
            format!("port=4000@evil.example&state={STATE}"),
            format!("port=4000.evil.example&state={STATE}"),
            format!("port=4000&port=4001&state={STATE}"),
            "port=4000".to_string(),
            "port=4000&state=short".to_string(),
            "port=4000&state=%3Cscript%3Ealert(1)%3C/script%3E".to_string(),
            format!("port=4000&state={STATE}&mode=javascript"),
            format!("port=4000&state={STATE}&code_challenge=x"),
            format!("port=4000&state={STATE}&accept=code"),
            format!("port=4000&state={STATE}&accept=api_key&accept=api_key"),
        ] {
            assert!(HandoffRequest::from_query(&q).is_err(), "{q}");
        }
    }

    #[test]
    fn from_parts_checks_like_the_url() {
        let r = HandoffRequest::from_parts("49152", STATE, Some("post"), None, None).unwrap();
        assert_eq!((r.port, r.mode), (49152, DeliveryMode::Post));
        assert_eq!(
            r,
            HandoffRequest::from_query(&format!("port=49152&state={STATE}&mode=post")).unwrap()
        );
        for port in [
            "",
            "80",
            "1023",
            "65536",
            "4000.5",
            "1e4",
            "NaN",
            "Infinity",
            "-0",
            " 4000",
            "4000@evil.example",
            "0x1000",
            "+4000",
        ] {
            assert!(
                HandoffRequest::from_parts(port, STATE, None, None, None).is_err(),
                "{port:?}"
            );
        }
        for state in [
            "short",
            "abcdefghijklmnop/evil",
            "abcdefghijklmnop&port=1",
            "",
        ] {
            assert!(
                HandoffRequest::from_parts("4000", state, None, None, None).is_err(),
                "{state:?}"
            );
        }
        assert!(HandoffRequest::from_parts("4000", STATE, Some("javascript"), None, None).is_err());
        assert!(HandoffRequest::from_parts("4000", STATE, None, Some("x"), None).is_err());
        assert_eq!(
            HandoffRequest::from_parts("4000", STATE, Some(""), None, None)
                .unwrap()
                .mode,
            DeliveryMode::Redirect
        );
    }

    #[test]
    fn post_outcomes() {
        let answer = |status: u16, code: &str| {
            post_outcome(&HttpResponse::json(
                status,
                &serde_json::json!({"ok": status < 300, "code": code}),
            ))
        };
        assert_eq!(answer(200, "ok"), Ok(()));
        assert_eq!(answer(400, "state_mismatch"), Err(Error::StateMismatch));
        assert!(matches!(
            answer(409, "already_completed"),
            Err(Error::Rejected { status: 409, .. })
        ));
        assert_eq!(
            answer(403, "origin_not_allowed"),
            Err(Error::Rejected {
                status: 403,
                detail: Some("origin_not_allowed".into())
            })
        );
        assert_eq!(
            post_outcome(&HttpResponse::new(500).with_body("<html>")),
            Err(Error::Rejected {
                status: 500,
                detail: None
            })
        );
        // A 2xx is success whatever the body; codes are sanitised; the last of a
        // repeated key counts (as with serde_json); a non-string code is no detail.
        assert_eq!(post_outcome(&HttpResponse::new(204)), Ok(()));
        assert_eq!(
            post_outcome(&HttpResponse::new(200).with_body("not json")),
            Ok(())
        );
        let raw =
            |status: u16, body: &str| post_outcome(&HttpResponse::new(status).with_body(body));
        assert_eq!(
            raw(400, r#"{"code":"ok","code":"state_mismatch"}"#),
            Err(Error::StateMismatch)
        );
        assert_eq!(
            raw(403, "{\"code\":\"a\\u0007b\\nc\"}"),
            Err(Error::Rejected {
                status: 403,
                detail: Some("ab c".into())
            })
        );
        assert_eq!(
            raw(403, r#"{"code":7}"#),
            Err(Error::Rejected {
                status: 403,
                detail: None
            })
        );
        assert_eq!(
            raw(400, r#"{"code":"state_mismatch""#),
            Err(Error::Rejected {
                status: 400,
                detail: None
            })
        );
    }

    #[test]
    fn host_never_from_input() {
        let r = HandoffRequest::from_url(&format!(
            "https://app/cli-auth?port=4000&state={STATE}&host=evil.example&callback=https://evil.example/&redirect_uri=https://evil"
        ))
        .unwrap();
        let cred = HandoffCredential::ApiKey(ApiKey::new("acme_dev_x&y"));
        assert_eq!(
            r.redirect_url(&cred),
            format!("http://127.0.0.1:4000/callback?api_key=acme_dev_x%26y&state={STATE}")
        );
        let post = r.post_request(&cred);
        assert_eq!(post.url, "http://127.0.0.1:4000/callback");
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert_eq!(
            String::from_utf8(post.body).unwrap(),
            format!(r#"{{"api_key":"acme_dev_x&y","state":"{STATE}"}}"#)
        );
        assert_eq!(r.mode, DeliveryMode::Redirect);
    }

    #[test]
    fn modes_and_manual() {
        let r =
            HandoffRequest::from_query(&format!("port=65535&state={STATE}&mode=manual")).unwrap();
        assert_eq!((r.port, r.mode), (65535, DeliveryMode::Manual));
        let formats = crate::keys::KeyRegistry::new(vec![crate::keys::KeyFormat::prefixed(
            "acme",
            "Acme",
            "key",
            "acme_dev_",
            crate::keys::Charset::Base62,
            20,
            64,
        )]);
        let m = r.manual_copy(
            &HandoffCredential::ApiKey(ApiKey::new("acme_dev_0123456789abcdefWXYZ")),
            &formats,
        );
        assert_eq!(m.masked, "acme_dev_…WXYZ");
        assert_eq!(
            m.paste_text.expose_secret(),
            "acme_dev_0123456789abcdefWXYZ"
        );
    }

    #[test]
    fn page_url() {
        let state = crate::state::StateToken::from_entropy(&[1; 32]);
        let verifier = crate::pkce::PkceVerifier::from_entropy(&[2; 32]);
        let ch = verifier.challenge(crate::pkce::PkceMethod::S256);
        let url = handoff_page_url(
            "https://app/cli-auth",
            5000,
            &state,
            Some(&ch),
            false,
            Some(DeliveryMode::Post),
        );
        let r = HandoffRequest::from_url(&url).unwrap();
        assert_eq!(
            (
                r.port,
                r.mode,
                r.code_challenge.as_deref(),
                r.accepts_api_key
            ),
            (5000, DeliveryMode::Post, Some(ch.as_str()), false)
        );
        assert_eq!(r.state, state.expose_secret());
        let key = HandoffCredential::ApiKey(ApiKey::new("acme_k"));
        let code = HandoffCredential::Code(AuthorizationCode::new("c"));
        assert!(r.check(&code).is_ok());
        assert_eq!(r.check(&key).unwrap_err().code(), "invalid_argument");
        // A CLI with the raw-key option and no token endpoint: keys only.
        let raw = handoff_page_url("https://app/cli-auth", 5000, &state, None, true, None);
        let r = HandoffRequest::from_url(&raw).unwrap();
        assert!(r.accepts_api_key && r.check(&key).is_ok());
        assert!(r.check(&code).is_err());
    }
}
