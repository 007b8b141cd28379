//! Discovery, `/authorize`, the consent page, `/token` (codes, PKCE, refresh rotation),
//! revocation and the cli-auth handoff, over real HTTP, read with cliauth-core.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use cliauth_core::authorize::loopback_redirect_uri;
use cliauth_core::discovery::parse_metadata;
use cliauth_core::http::api_error;
use cliauth_core::keys::KeyRegistry;
use cliauth_core::revoke::{TokenTypeHint, parse_revocation_response, revocation_request};
use cliauth_core::secret::{AuthorizationCode, RefreshToken};
use cliauth_core::token::{TokenGrant, token_request};
use cliauth_core::{Error, HttpRequest};
use cliauth_devserver::{DevServerConfig, dev_key_format};
use common::*;
use serde_json::json;

#[tokio::test]
async fn discovery_documents_parse_with_core() {
    let fx = start_default().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let r = fx.get(path).await;
        assert_eq!(r.status, 200);
        let m = parse_metadata(&r, fx.server.issuer(), now()).expect("valid metadata");
        let e = fx.server.endpoints();
        assert_eq!(m.issuer, fx.server.url());
        assert_eq!(
            m.authorization_endpoint.as_deref(),
            Some(e.authorization.as_str())
        );
        assert_eq!(m.token_endpoint.as_deref(), Some(e.token.as_str()));
        assert_eq!(
            m.device_authorization_endpoint.as_deref(),
            Some(e.device_authorization.as_str())
        );
        assert_eq!(
            m.revocation_endpoint.as_deref(),
            Some(e.revocation.as_str())
        );
        assert_eq!(
            m.code_challenge_methods_supported,
            Some(vec!["S256".to_string()])
        );
        assert!(m.authorization_response_iss_parameter_supported);
        let grants = m.grant_types_supported.unwrap();
        for g in [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
        ] {
            assert!(grants.iter().any(|x| x == g), "{g}");
        }
    }
    // The documented discovery URLs of core find the document.
    let urls = cliauth_core::discovery::discovery_urls(fx.server.issuer()).unwrap();
    assert_eq!(fx.http.get(&urls[0]).send().await.unwrap().status(), 200);
    fx.server.shutdown().await;

    // An embedded server names a stable issuer that is not its live origin.
    let fx = start({
        let mut o = DevServerConfig::default();
        o.issuer = Some("https://dev.cliauth.test".into());
        o
    })
    .await;
    let r = fx.get("/.well-known/oauth-authorization-server").await;
    let m = parse_metadata(&r, "https://dev.cliauth.test", now()).unwrap();
    assert_eq!(
        m.token_endpoint.as_deref(),
        Some(fx.server.endpoints().token.as_str())
    );
    assert!(matches!(
        parse_metadata(&r, fx.server.url(), now()),
        Err(Error::IssuerMismatch { .. })
    ));
    // …and its authorization responses carry that issuer (RFC 9207).
    let t = fx.code_login("demo", &["profile"]).await;
    assert!(t.access_token.expose_secret().starts_with("demo_at_"));
}

fn authorize_query(redirect_uri: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "democli"),
        ("redirect_uri", redirect_uri),
        ("state", "state-1234567890abcdef"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    form(&pairs)
}

#[tokio::test]
async fn authorize_refuses_what_cannot_be_redirected_with_an_html_page() {
    let fx = start_default().await;
    let cb = "http://127.0.0.1:49152/callback";
    for (query, needle) in [
        (
            authorize_query(cb, &[("client_id", "evil-cli")]),
            "not registered",
        ),
        (authorize_query(cb, &[("client_id", "")]), "no client_id"),
        (authorize_query("https://evil.example/cb", &[]), "loopback"),
        (
            authorize_query("http://localhost:49152/callback", &[]),
            "127.0.0.1 instead of localhost",
        ),
        (authorize_query("http://127.0.0.1/callback", &[]), "no port"),
        (
            authorize_query("http://127.0.0.1.evil.example:80/cb", &[]),
            "loopback",
        ),
        (
            authorize_query(cb, &[("redirect_uri", "")]),
            "no redirect_uri",
        ),
        (
            format!("{}&state=again", authorize_query(cb, &[])),
            "more than once",
        ),
    ] {
        let r = fx.get(&format!("/authorize?{query}")).await;
        assert_eq!(r.status, 400, "{query}");
        assert!(r.header("location").is_none(), "never redirected: {query}");
        assert_eq!(r.media_type().as_deref(), Some("text/html"));
        let html = String::from_utf8_lossy(&r.body);
        assert!(html.contains(needle), "{needle} in {html}");
    }
}

#[tokio::test]
async fn authorize_redirects_other_errors_with_state_and_iss() {
    let fx = start_default().await;
    let cb = "http://127.0.0.1:49152/callback";
    for (extra, error) in [
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("scope", "memories:read admin")], "invalid_scope"),
    ] {
        let r = fx
            .get(&format!("/authorize?{}", authorize_query(cb, &extra)))
            .await;
        assert_eq!(r.status, 302, "{extra:?}");
        let p = callback_params(&r);
        assert_eq!(p.error.as_deref(), Some(error), "{extra:?}");
        assert_eq!(p.state.as_deref(), Some("state-1234567890abcdef"));
        assert_eq!(p.iss.as_deref(), Some(fx.server.issuer()));
        assert!(p.code.is_none());
    }
    // Without state the error still redirects, without one.
    let r = fx
        .get(&format!(
            "/authorize?{}",
            authorize_query(cb, &[("state", "")])
        ))
        .await;
    let p = callback_params(&r);
    assert_eq!(
        (p.error.as_deref(), p.state),
        (Some("invalid_request"), None)
    );
}

#[tokio::test]
async fn code_flow_through_the_consent_page() {
    let fx = start_default().await;
    let (mut pending, page) = fx.begin_login(&["profile", "memories:read"]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.media_type().as_deref(), Some("text/html"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = String::from_utf8_lossy(&page.body).to_string();
    for needle in [
        ">Authorize</button>",
        ">Deny</button>",
        "name=\"csrf\"",
        "memories:read",
        "http://127.0.0.1:49152",
        "value=\"alice\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(
        !html.contains(pending.state().expose_secret()),
        "the state stays server-side"
    );

    let r = fx
        .decide(&page, "approve", &[("username", "alice")], None)
        .await;
    assert_eq!(r.status, 303);
    let set_cookie = r.header("set-cookie").unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let cookie = session_cookie(&r).unwrap();
    let callback = callback_params(&r);
    // core checks state (constant time) and the RFC 9207 `iss`.
    let grant = pending.complete(now(), &callback).unwrap();
    assert!(grant.code.expose_secret().starts_with("demo_ac_"));
    let request = token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::AuthorizationCode {
            code: &grant.code,
            verifier: &grant.verifier,
            redirect_uri: &grant.redirect_uri,
        },
    );
    let r = execute(&fx.http, request).await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = tokens(&r);
    assert!(t.access_token.expose_secret().starts_with("demo_at_"));
    assert!(
        t.refresh_token
            .as_ref()
            .unwrap()
            .expose_secret()
            .starts_with("demo_rt_")
    );
    assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
    assert_eq!(t.scope.as_deref(), Some("profile memories:read"));
    let me = json(
        &fx.bearer_get("/api/whoami", t.access_token.expose_secret())
            .await,
    );
    assert_eq!(me["sub"], "user_alice");
    assert_eq!(me["email"], "alice@cliauth.test");
    assert_eq!(me["scopes"], json!(["profile", "memories:read"]));

    // The session cookie signs the next consent page in.
    let r = fx
        .http
        .get(fx.url("/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["user"]["username"],
        "alice"
    );
    let (mut pending, _) = fx.begin_login(&[]).await;
    let page2 = to_core(
        fx.http
            .get(pending.url())
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        String::from_utf8_lossy(&page2.body)
            .contains("Signed in as <strong>Alice Example</strong>")
    );
    let r = fx.decide(&page2, "approve", &[], Some(&cookie)).await;
    assert!(pending.complete(now(), &callback_params(&r)).is_ok());
}

#[tokio::test]
async fn consent_denial_and_forged_forms() {
    let fx = start_default().await;
    let (mut pending, page) = fx.begin_login(&[]).await;
    let r = fx.decide(&page, "deny", &[], None).await;
    assert_eq!(r.status, 303);
    let callback = callback_params(&r);
    assert_eq!(callback.error.as_deref(), Some("access_denied"));
    assert!(matches!(
        pending.complete(now(), &callback),
        Err(Error::AccessDenied { .. })
    ));
    // The request was answered: submitting it again is refused.
    let r = fx.decide(&page, "approve", &[], None).await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());

    // A wrong CSRF token is refused and burns the request.
    let (_, page) = fx.begin_login(&[]).await;
    let html = String::from_utf8_lossy(&page.body);
    let body = form(&[
        ("request_id", &hidden(&html, "request_id")),
        ("csrf", "forged"),
        ("decision", "approve"),
        ("username", "demo"),
    ]);
    let r = execute(
        &fx.http,
        HttpRequest::post_form(fx.url("/authorize/decision"), body),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.header("location").is_none());
    let r = fx
        .decide(&page, "approve", &[("username", "demo")], None)
        .await;
    assert_eq!(r.status, 400, "burnt");

    // A cross-site POST is refused.
    let (_, page) = fx.begin_login(&[]).await;
    let html = String::from_utf8_lossy(&page.body);
    let mut request = HttpRequest::post_form(
        fx.url("/authorize/decision"),
        form(&[
            ("request_id", &hidden(&html, "request_id")),
            ("csrf", &hidden(&html, "csrf")),
            ("decision", "approve"),
            ("username", "demo"),
        ]),
    );
    request
        .headers
        .push(("origin".into(), "https://evil.example".into()));
    assert_eq!(execute(&fx.http, request).await.status, 403);

    // Browsers send `Origin: null` on same-origin form POSTs under some referrer
    // policies; the per-request CSRF token protects the form, so it is accepted.
    let (mut pending, page) = fx.begin_login(&[]).await;
    let html = String::from_utf8_lossy(&page.body);
    let mut request = HttpRequest::post_form(
        fx.url("/authorize/decision"),
        form(&[
            ("request_id", &hidden(&html, "request_id")),
            ("csrf", &hidden(&html, "csrf")),
            ("decision", "approve"),
            ("username", "demo"),
        ]),
    );
    request.headers.push(("origin".into(), "null".into()));
    let r = execute(&fx.http, request).await;
    assert_eq!(r.status, 303);
    assert!(pending.complete(now(), &callback_params(&r)).is_ok());
}

#[tokio::test]
async fn auto_approve_skips_the_page_only_when_configured() {
    let fx = start({
        let mut o = DevServerConfig::default();
        o.auto_approve_browser = true;
        o
    })
    .await;
    let (mut pending, r) = fx.begin_login(&["memories:read"]).await;
    assert_eq!(r.status, 302);
    let grant = pending.complete(now(), &callback_params(&r)).unwrap();
    let t = tokens(
        &execute(
            &fx.http,
            token_request(
                &fx.server.endpoints().token,
                "democli",
                TokenGrant::AuthorizationCode {
                    code: &grant.code,
                    verifier: &grant.verifier,
                    redirect_uri: &grant.redirect_uri,
                },
            ),
        )
        .await,
    );
    let me = json(
        &fx.bearer_get("/api/whoami", t.access_token.expose_secret())
            .await,
    );
    assert_eq!(me["sub"], "user_demo");
}

/// Starts a login, approves it as demo, and returns the callback's code and the
/// verifier.
async fn approved_code(
    fx: &Fixture,
) -> (AuthorizationCode, cliauth_core::pkce::PkceVerifier, String) {
    let (mut pending, page) = fx.begin_login(&["profile", "memories:read"]).await;
    let r = fx
        .decide(&page, "approve", &[("username", "demo")], None)
        .await;
    let grant = pending.complete(now(), &callback_params(&r)).unwrap();
    (grant.code, grant.verifier, grant.redirect_uri)
}

#[tokio::test]
async fn codes_are_single_use_and_reuse_revokes_the_tokens() {
    let fx = start_default().await;
    let (code, verifier, redirect_uri) = approved_code(&fx).await;
    let exchange = || {
        token_request(
            &fx.server.endpoints().token,
            "democli",
            TokenGrant::AuthorizationCode {
                code: &code,
                verifier: &verifier,
                redirect_uri: &redirect_uri,
            },
        )
    };
    let t = tokens(&execute(&fx.http, exchange()).await);
    let at = t.access_token.expose_secret().to_string();
    assert_eq!(fx.bearer_get("/api/whoami", &at).await.status, 200);
    let again = execute(&fx.http, exchange()).await;
    assert_eq!(again.status, 400);
    assert_eq!(oauth_error(&again), "invalid_grant");
    // Both tokens issued from the code are now dead.
    let r = fx.bearer_get("/api/whoami", &at).await;
    assert_eq!(r.status, 401);
    let refresh = token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::RefreshToken {
            refresh_token: t.refresh_token.as_ref().unwrap(),
            scope: None,
        },
    );
    assert_eq!(
        oauth_error(&execute(&fx.http, refresh).await),
        "invalid_grant"
    );
}

#[tokio::test]
async fn pkce_and_redirect_uri_are_verified() {
    let fx = start_default().await;
    let (code, verifier, redirect_uri) = approved_code(&fx).await;
    let token = |code: &str, verifier: &str, redirect: &str| {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("client_id", "democli"),
            ("code_verifier", verifier),
        ]);
        HttpRequest::post_form(fx.url("/token"), body)
    };
    let wrong = common::verifier();
    let cases = [
        (
            token(code.expose_secret(), wrong.expose_secret(), &redirect_uri),
            "invalid_grant",
        ),
        (
            token(code.expose_secret(), "short", &redirect_uri),
            "invalid_grant",
        ),
        (
            token(
                code.expose_secret(),
                verifier.expose_secret(),
                "http://127.0.0.1:49153/callback",
            ),
            "invalid_grant",
        ),
        (
            token("demo_ac_made_up", verifier.expose_secret(), &redirect_uri),
            "invalid_grant",
        ),
        (
            token(code.expose_secret(), "", &redirect_uri),
            "invalid_request",
        ),
    ];
    for (request, error) in cases {
        let r = execute(&fx.http, request).await;
        assert_eq!(r.status, 400);
        assert_eq!(oauth_error(&r), error);
    }
    // Failed attempts do not burn the code: the real client still gets its tokens.
    let r = execute(
        &fx.http,
        token(
            code.expose_secret(),
            verifier.expose_secret(),
            &redirect_uri,
        ),
    )
    .await;
    assert_eq!(r.status, 200);

    // Client authentication and request shape (RFC 6749 §5.2).
    let body = |pairs: &[(&str, &str)]| HttpRequest::post_form(fx.url("/token"), form(pairs));
    let r = execute(
        &fx.http,
        body(&[("grant_type", "authorization_code"), ("client_id", "evil")]),
    )
    .await;
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (401, "invalid_client")
    );
    let r = execute(&fx.http, body(&[("grant_type", "authorization_code")])).await;
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (401, "invalid_client")
    );
    let r = execute(
        &fx.http,
        body(&[
            ("grant_type", "authorization_code"),
            ("client_id", "democli"),
            ("client_secret", "x"),
        ]),
    )
    .await;
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (401, "invalid_client")
    );
    let r = execute(
        &fx.http,
        body(&[("grant_type", "password"), ("client_id", "democli")]),
    )
    .await;
    assert_eq!(oauth_error(&r), "unsupported_grant_type");
    let r = execute(&fx.http, body(&[("client_id", "democli")])).await;
    assert_eq!(oauth_error(&r), "invalid_request");
    let r = execute(
        &fx.http,
        body(&[
            ("grant_type", "refresh_token"),
            ("grant_type", "x"),
            ("client_id", "democli"),
        ]),
    )
    .await;
    assert_eq!(oauth_error(&r), "invalid_request");
    let r = execute(
        &fx.http,
        HttpRequest::post_json(fx.url("/token"), &json!({"grant_type": "refresh_token"})),
    )
    .await;
    assert_eq!(oauth_error(&r), "invalid_request");
}

#[tokio::test]
async fn codes_expire() {
    let fx = start({
        let mut o = DevServerConfig::default();
        o.code_lifetime = Duration::from_millis(200);
        o
    })
    .await;
    let (code, verifier, redirect_uri) = approved_code(&fx).await;
    sleep_ms(300).await;
    let r = execute(
        &fx.http,
        token_request(
            &fx.server.endpoints().token,
            "democli",
            TokenGrant::AuthorizationCode {
                code: &code,
                verifier: &verifier,
                redirect_uri: &redirect_uri,
            },
        ),
    )
    .await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    assert!(String::from_utf8_lossy(&r.body).contains("expired"));
}

fn refresh_request(fx: &Fixture, rt: &RefreshToken, scope: Option<&str>) -> HttpRequest {
    token_request(
        &fx.server.endpoints().token,
        "democli",
        TokenGrant::RefreshToken {
            refresh_token: rt,
            scope,
        },
    )
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let fx = start_default().await;
    let t1 = fx.code_login("demo", &["profile", "memories:read"]).await;
    let rt1 = t1.refresh_token.unwrap();
    let t2 = tokens(&execute(&fx.http, refresh_request(&fx, &rt1, None)).await);
    let rt2 = t2.refresh_token.unwrap();
    assert_ne!(rt1, rt2, "every refresh returns a new refresh token");
    assert_ne!(t1.access_token, t2.access_token);
    assert_eq!(t2.scope.as_deref(), Some("profile memories:read"));
    // A narrower scope is allowed, a wider one is not.
    let t3 = tokens(&execute(&fx.http, refresh_request(&fx, &rt2, Some("memories:read"))).await);
    assert_eq!(t3.scope.as_deref(), Some("memories:read"));
    let rt3 = t3.refresh_token.unwrap();
    let r = execute(&fx.http, refresh_request(&fx, &rt3, Some("memories:write"))).await;
    assert_eq!(oauth_error(&r), "invalid_scope");
    assert_eq!(
        fx.bearer_get("/api/whoami", t3.access_token.expose_secret())
            .await
            .status,
        200
    );

    // Presenting a rotated token again: invalid_grant, and the whole family dies.
    let r = execute(&fx.http, refresh_request(&fx, &rt1, None)).await;
    assert_eq!(r.status, 400);
    assert_eq!(oauth_error(&r), "invalid_grant");
    let r = execute(&fx.http, refresh_request(&fx, &rt3, None)).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    let r = fx
        .bearer_get("/api/whoami", t3.access_token.expose_secret())
        .await;
    assert_eq!(r.status, 401);
    assert!(matches!(
        api_error(&r, now()),
        Some(Error::Unauthorized { .. })
    ));

    let stats = fx.stats().await;
    assert_eq!(stats["refreshes"], 2);
    assert_eq!(stats["refresh_reuse_detected"], 1);
    assert_eq!(stats["token_grants"]["refresh_token"], 5);
    assert_eq!(stats["token_grants"]["authorization_code"], 1);
}

#[tokio::test]
async fn revocation_per_rfc_7009() {
    let fx = start_default().await;
    let revocation = fx.server.endpoints().revocation.clone();
    // Revoking the refresh token ends the session: its access tokens die too.
    let t = fx.code_login("demo", &["profile"]).await;
    let set = cliauth_core::token::TokenSet::from_response(t, now());
    let r = execute(
        &fx.http,
        cliauth_core::revoke::revoke_token_set(&revocation, "democli", &set),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(parse_revocation_response(&r, now()).is_ok());
    assert_eq!(
        fx.bearer_get("/api/whoami", set.access_token.expose_secret())
            .await
            .status,
        401
    );
    let r = execute(
        &fx.http,
        refresh_request(&fx, set.refresh_token.as_ref().unwrap(), None),
    )
    .await;
    assert_eq!(oauth_error(&r), "invalid_grant");

    // Revoking only the access token leaves the refresh token working.
    let t = fx.code_login("demo", &["profile"]).await;
    let r = execute(
        &fx.http,
        revocation_request(
            &revocation,
            "democli",
            t.access_token.expose_secret(),
            TokenTypeHint::AccessToken,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = fx
        .bearer_get("/api/whoami", t.access_token.expose_secret())
        .await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains("revoked"));
    let r = execute(
        &fx.http,
        refresh_request(&fx, t.refresh_token.as_ref().unwrap(), None),
    )
    .await;
    assert_eq!(r.status, 200);

    // Unknown tokens: 200 all the same (§2.2). Missing token or client: errors.
    let r = execute(
        &fx.http,
        revocation_request(
            &revocation,
            "democli",
            "demo_at_unknown",
            TokenTypeHint::RefreshToken,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = fx.post_form("/revoke", &[("client_id", "democli")]).await;
    assert_eq!(oauth_error(&r), "invalid_request");
    let r = fx.post_form("/revoke", &[("token", "x")]).await;
    assert_eq!(
        (r.status, oauth_error(&r).as_str()),
        (401, "invalid_client")
    );
}

#[tokio::test]
async fn handoff_codes_are_bound_to_the_challenge_and_single_use() {
    let fx = start_default().await;
    let v = verifier();
    let mint = json!({ "port": 4711, "code_challenge": challenge(&v) });
    // Not signed in: refused.
    let r = fx.post_json("/cli-auth/mint", mint.clone(), None).await;
    assert_eq!(r.status, 401);
    assert_eq!(json(&r)["error"], "login_required");
    let cookie = fx.login("alice").await;
    let r = fx
        .post_json("/cli-auth/mint", mint.clone(), Some(&cookie))
        .await;
    assert_eq!(r.status, 200);
    let code = AuthorizationCode::new(json(&r)["code"].as_str().unwrap());

    // The CLI's exchange: its verifier, its loopback redirect URI.
    let exchange = |verifier: &cliauth_core::pkce::PkceVerifier, port: u16| {
        token_request(
            &fx.server.endpoints().token,
            "democli",
            TokenGrant::AuthorizationCode {
                code: &code,
                verifier,
                redirect_uri: &loopback_redirect_uri(port),
            },
        )
    };
    let r = execute(&fx.http, exchange(&common::verifier(), 4711)).await;
    assert_eq!(oauth_error(&r), "invalid_grant", "another verifier");
    let r = execute(&fx.http, exchange(&v, 4712)).await;
    assert_eq!(oauth_error(&r), "invalid_grant", "another port");
    let r = execute(&fx.http, exchange(&v, 4711)).await;
    let body = json(&r);
    assert!(body.get("expires_in").is_none() && body.get("refresh_token").is_none());
    let t = tokens(&r);
    let key = t.access_token.expose_secret().to_string();
    assert!(t.expires_in.is_none() && t.refresh_token.is_none());
    let valid = KeyRegistry::new(vec![dev_key_format()])
        .validate(&key)
        .unwrap();
    assert_eq!(valid.format_id(), "demo-dev");
    let me = json(&fx.bearer_get("/api/whoami", &key).await);
    assert_eq!(
        (me["sub"].as_str(), me["credential"].as_str()),
        (Some("user_alice"), Some("api_key"))
    );
    // Single use: a second exchange fails and revokes the key it minted.
    let r = execute(&fx.http, exchange(&v, 4711)).await;
    assert_eq!(oauth_error(&r), "invalid_grant");
    assert_eq!(fx.bearer_get("/api/whoami", &key).await.status, 401);

    // Keys delivered directly.
    let r = fx
        .post_json(
            "/cli-auth/mint",
            json!({ "kind": "api_key" }),
            Some(&cookie),
        )
        .await;
    let key = json(&r)["api_key"].as_str().unwrap().to_string();
    assert!(
        KeyRegistry::new(vec![dev_key_format()])
            .validate(&key)
            .is_ok()
    );
    assert_eq!(fx.bearer_get("/api/whoami", &key).await.status, 200);

    // Refusals: bad port, bad challenge, another origin, not JSON.
    for bad in [
        json!({ "port": 80, "code_challenge": challenge(&v) }),
        json!({ "port": 70000, "code_challenge": challenge(&v) }),
        json!({ "port": "4711", "code_challenge": challenge(&v) }),
        json!({ "port": 4711, "code_challenge": "plain-verifier" }),
        json!({ "port": 4711 }),
        json!({ "kind": "jwt" }),
    ] {
        let r = fx
            .post_json("/cli-auth/mint", bad.clone(), Some(&cookie))
            .await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let mut request = HttpRequest::post_json(fx.url("/cli-auth/mint"), &mint);
    request
        .headers
        .push(("origin".into(), "https://evil.example".into()));
    assert_eq!(
        execute_with(&fx.http, request, Some(&cookie)).await.status,
        403
    );
    let r = fx
        .http
        .post(fx.url("/cli-auth/mint"))
        .header("cookie", &cookie)
        .header("content-type", "text/plain")
        .body(mint.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

#[tokio::test]
async fn pages_are_served() {
    let fx = start({
        let mut o = DevServerConfig::default();
        o.pkg_dir = Some(std::env::temp_dir().join("cliauth-devserver-no-such-dir"));
        o
    })
    .await;
    for (path, needle) in [
        ("/cli-auth?port=4711&state=abc", "cli-auth.js"),
        ("/device", "device.js"),
    ] {
        let r = fx.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.media_type().as_deref(), Some("text/html"));
        assert!(r.header("content-security-policy").is_some());
        assert_eq!(r.header("referrer-policy"), Some("same-origin"));
        assert!(String::from_utf8_lossy(&r.body).contains(needle));
    }
    for asset in ["cli-auth.js", "device.js", "common.js", "style.css"] {
        let r = fx.get(&format!("/assets/{asset}")).await;
        assert_eq!(r.status, 200, "{asset}");
    }
    assert_eq!(fx.get("/assets/../Cargo.toml").await.status, 404);
    assert_eq!(fx.get("/pkg/%2e%2e/Cargo.toml").await.status, 404);
    // Without the npm package, /pkg/ says so and the session API reports it.
    let r = fx.get("/pkg/index.js").await;
    assert_eq!(r.status, 404);
    assert!(String::from_utf8_lossy(&r.body).contains("npm package"));
    let s = json(&fx.get("/api/session").await);
    assert_eq!(s["pkg_available"], false);
    assert_eq!(s["signed_in"], false);
    assert_eq!(fx.get("/").await.status, 200);
    let r = fx.get("/no/such/thing").await;
    assert_eq!(
        (r.status, json(&r)["error"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
async fn html_login_form_uses_a_double_submit_token() {
    let fx = start_default().await;
    let page = fx.get("/login?return_to=/device%3Fuser_code%3DX").await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body).to_string();
    let csrf = hidden(&html, "csrf");
    let csrf_cookie = page
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let submit = |cookie: Option<String>, csrf: &str, return_to: &str| {
        let body = form(&[
            ("csrf", csrf),
            ("username", "carol"),
            ("return_to", return_to),
        ]);
        let mut b = fx
            .http
            .post(fx.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        b.send()
    };
    let r = to_core(submit(None, &csrf, "/").await.unwrap()).await;
    assert_eq!(r.status, 403, "no cookie");
    let r = to_core(
        submit(Some(csrf_cookie.clone()), "forged", "/")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403, "wrong token");
    let r = to_core(
        submit(Some(csrf_cookie.clone()), &csrf, "//evil.example/")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"), "never another origin");
    let r = to_core(
        submit(Some(csrf_cookie), &csrf, "/device?user_code=X")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.header("location"), Some("/device?user_code=X"));
    let cookie = session_cookie(&r).unwrap();
    let s = fx
        .http
        .get(fx.url("/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(s["user"]["email"], "carol@cliauth.test");
    // Logout ends it.
    let r = fx
        .http
        .post(fx.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let s = fx
        .http
        .get(fx.url("/api/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(s["signed_in"], false);
}
