//! Helpers for tests against a real dev server on loopback: core requests executed
//! with reqwest, core parsers on the answers.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::time::{Duration, SystemTime};

use cliauth_core::authorize::{AuthorizationConfig, CallbackParams, PendingAuthorization};
use cliauth_core::pkce::{PkceMethod, PkceVerifier};
use cliauth_core::token::{
    TokenEndpointResponse, TokenGrant, TokenResponse, parse_token_response, token_request,
};
use cliauth_core::{HttpRequest, HttpResponse, Timestamp};
use cliauth_devserver::{DevServer, DevServerConfig};
use serde_json::Value;

pub struct Fixture {
    pub server: DevServer,
    pub http: reqwest::Client,
}

pub async fn start(config: DevServerConfig) -> Fixture {
    let server = DevServer::start(config).await.expect("server starts");
    Fixture {
        server,
        http: client(),
    }
}

pub async fn start_default() -> Fixture {
    start(DevServerConfig::default()).await
}

/// A client that never follows redirects (the callbacks go to ports nobody listens on).
pub fn client() -> reqwest::Client {
    // The workspace's reqwest leaves the rustls crypto provider to the application.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

pub fn entropy<const N: usize>() -> [u8; N] {
    let mut e = [0u8; N];
    getrandom::fill(&mut e).unwrap();
    e
}

pub fn verifier() -> PkceVerifier {
    PkceVerifier::from_entropy(&entropy::<32>())
}

pub fn challenge(v: &PkceVerifier) -> String {
    v.challenge(PkceMethod::S256).as_str().to_string()
}

pub async fn to_core(r: reqwest::Response) -> HttpResponse {
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = r.bytes().await.unwrap().to_vec();
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// Executes a core request as-is.
pub async fn execute(http: &reqwest::Client, request: HttpRequest) -> HttpResponse {
    execute_with(http, request, None).await
}

pub async fn execute_with(
    http: &reqwest::Client,
    request: HttpRequest,
    cookie: Option<&str>,
) -> HttpResponse {
    let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes()).unwrap();
    let mut builder = http.request(method, &request.url);
    for (k, v) in &request.headers {
        builder = builder.header(k, v);
    }
    if let Some(c) = cookie {
        builder = builder.header("cookie", c);
    }
    to_core(builder.body(request.body).send().await.unwrap()).await
}

pub fn json(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&r.body)))
}

pub fn tokens(r: &HttpResponse) -> TokenResponse {
    match parse_token_response(r, now()).expect("a token endpoint answer") {
        TokenEndpointResponse::Tokens(t) => t,
        TokenEndpointResponse::Error(e) => panic!("token error: {e:?}"),
    }
}

/// The OAuth error code of a token endpoint answer, checking the RFC 6749 §5.2 shape.
pub fn oauth_error(r: &HttpResponse) -> String {
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "error responses are not cached"
    );
    assert!(r.is_json(), "JSON error body");
    match parse_token_response(r, now()).expect("an OAuth error") {
        TokenEndpointResponse::Error(e) => e.error,
        TokenEndpointResponse::Tokens(_) => panic!("expected an error, got tokens"),
    }
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn get(&self, path: &str) -> HttpResponse {
        to_core(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let mut b = self.http.get(self.url(path));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        to_core(b.send().await.unwrap()).await
    }

    pub async fn bearer_get(&self, path: &str, token: &str) -> HttpResponse {
        execute(
            &self.http,
            HttpRequest::get(self.url(path)).with_bearer(token),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: Value, cookie: Option<&str>) -> HttpResponse {
        execute_with(
            &self.http,
            HttpRequest::post_json(self.url(path), &body),
            cookie,
        )
        .await
    }

    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
        let body = form(pairs);
        execute(&self.http, HttpRequest::post_form(self.url(path), body)).await
    }

    /// Signs in through `POST /login` and returns the `Cookie` header value.
    pub async fn login(&self, username: &str) -> String {
        let r = self
            .post_json("/login", serde_json::json!({ "username": username }), None)
            .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        session_cookie(&r).expect("a session cookie")
    }

    /// Starts a login with core and returns it with the consent page.
    pub async fn begin_login(&self, scopes: &[&str]) -> (PendingAuthorization, HttpResponse) {
        let config = AuthorizationConfig::new(
            &self.server.endpoints().authorization,
            self.server.client_id(),
        )
        .scopes(scopes.iter().copied())
        .issuer(self.server.issuer(), true);
        let pending =
            PendingAuthorization::start(&config, 49_152, &entropy::<96>(), now()).unwrap();
        let page = to_core(self.http.get(pending.url()).send().await.unwrap()).await;
        (pending, page)
    }

    /// Submits the consent form of `page`.
    pub async fn decide(
        &self,
        page: &HttpResponse,
        decision: &str,
        extra: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> HttpResponse {
        let html = String::from_utf8_lossy(&page.body);
        let request_id = hidden(&html, "request_id");
        let csrf = hidden(&html, "csrf");
        let mut pairs = vec![
            ("request_id", request_id.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", decision),
        ];
        pairs.extend_from_slice(extra);
        let mut request = HttpRequest::post_form(self.url("/authorize/decision"), form(&pairs));
        request
            .headers
            .push(("origin".into(), self.server.url().into()));
        execute_with(&self.http, request, cookie).await
    }

    /// A full browser login (consent as `username`) and code exchange.
    pub async fn code_login(&self, username: &str, scopes: &[&str]) -> TokenResponse {
        let (mut pending, page) = self.begin_login(scopes).await;
        assert_eq!(page.status, 200);
        let r = self
            .decide(&page, "approve", &[("username", username)], None)
            .await;
        assert_eq!(r.status, 303);
        let callback = callback_params(&r);
        let grant = pending
            .complete(now(), &callback)
            .expect("a valid callback");
        let request = token_request(
            &self.server.endpoints().token,
            self.server.client_id(),
            TokenGrant::AuthorizationCode {
                code: &grant.code,
                verifier: &grant.verifier,
                redirect_uri: &grant.redirect_uri,
            },
        );
        tokens(&execute(&self.http, request).await)
    }

    pub async fn stats(&self) -> Value {
        json(&self.get("/_dev/stats").await)
    }

    pub async fn fault(&self, spec: Value) {
        let r = self.post_json("/_dev/faults", spec, None).await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded_serializer();
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn form_urlencoded_serializer() -> form_urlencoded::Serializer<'static, String> {
    form_urlencoded::Serializer::new(String::new())
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no `{name}` field in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// `cliauth_dev_session=…` from a response's `Set-Cookie`.
pub fn session_cookie(r: &HttpResponse) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next())
        .find(|c| c.starts_with("cliauth_dev_session=") && c.len() > "cliauth_dev_session=".len())
        .map(str::to_string)
}

/// The callback parameters of a redirect to the loopback server.
pub fn callback_params(r: &HttpResponse) -> CallbackParams {
    let location = r.header("location").expect("a redirect");
    assert!(
        location.starts_with("http://127.0.0.1:49152/callback?"),
        "{location}"
    );
    CallbackParams::parse(location.split_once('?').unwrap().1).unwrap()
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
