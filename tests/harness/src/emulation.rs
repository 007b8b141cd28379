//! **Emulations** of authorization servers that cannot run here (GitHub, Google,
//! Microsoft Entra ID, Auth0, Okta, Keycloak, Amazon Cognito): a real HTTP server on
//! loopback that answers with each provider's *documented* wire behaviour — its
//! paths, discovery document, status codes, error names and response fields. These
//! are not the providers; they are what the providers' documentation says they send,
//! and every provider-specific behaviour below cites the page it comes from. What
//! they share is plain OAuth: single-use codes bound to the client, redirect URI and
//! PKCE challenge; device codes approved or denied by a "user" through
//! [`Emulation::approve_device`] / [`Emulation::deny_device`]; refresh tokens with the
//! provider's rotation rule; revocation that ends the grant; a userinfo endpoint that
//! checks the access token.
//!
//! The "user's browser" is [`browser`]: it follows redirects, and the authorization
//! endpoint approves at once (the user is signed in and consents) unless
//! [`Emulation::deny_next_authorization`] was called.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::http::{Handler, Request, Response, serve};

/// The provider an [`Emulation`] answers as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// A GitHub OAuth app: tokens that do not expire, no refresh token.
    GitHub,
    /// A GitHub App with expiring user access tokens (8 h) and rotated refresh tokens.
    GitHubApp,
    /// Google's OAuth 2.0 for desktop and TV apps.
    Google,
    /// Microsoft Entra ID (the v2.0 endpoints).
    Entra,
    /// Auth0.
    Auth0,
    /// Okta with a custom authorization server.
    Okta,
    /// Keycloak.
    Keycloak,
    /// Amazon Cognito user pools.
    Cognito,
}

/// How an emulation is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// The registered client id.
    pub client_id: String,
    /// The client's secret, when it has one; then the token endpoint requires it.
    pub client_secret: Option<String>,
    /// Entra's tenant (`organizations`, `common`, a GUID).
    pub tenant: String,
    /// The Keycloak realm, the Okta authorization server id, or the Cognito pool id.
    pub realm: String,
    /// Access token lifetime in seconds.
    pub access_lifetime: u64,
    /// The device flow's polling interval in seconds (the server chooses it; tests
    /// use a short one).
    pub device_interval: u64,
    /// Registered redirect URIs for servers that match them exactly (Cognito).
    pub redirect_uris: Vec<String>,
    /// Listen on `[::1]` instead of `127.0.0.1`.
    pub ipv6: bool,
    /// Whether the app has the device flow enabled (GitHub: off answers
    /// `device_flow_disabled`).
    pub device_flow: bool,
}

impl Options {
    /// Defaults for a client id.
    pub fn new(client_id: &str) -> Options {
        Options {
            client_id: client_id.into(),
            client_secret: None,
            tenant: "organizations".into(),
            realm: "acme".into(),
            access_lifetime: 3600,
            device_interval: 1,
            redirect_uris: Vec::new(),
            ipv6: false,
            device_flow: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeviceStatus {
    Pending,
    Approved,
    Denied,
}

#[derive(Clone, Debug)]
struct DeviceGrant {
    user_code: String,
    scope: String,
    status: DeviceStatus,
    expires: Instant,
    last_poll: Option<Instant>,
    interval: u64,
    slow_down_next: bool,
}

#[derive(Clone, Debug)]
struct CodeGrant {
    redirect_uri: String,
    challenge: Option<(String, String)>,
    scope: String,
    /// The OpenID `nonce` of the authorization request, echoed in the ID token.
    nonce: Option<String>,
    expires: Instant,
}

#[derive(Clone, Debug)]
struct Grant {
    scope: String,
    revoked: bool,
}

/// What an emulation saw and did, for assertions.
#[derive(Debug, Default)]
struct State {
    codes: HashMap<String, CodeGrant>,
    devices: HashMap<String, DeviceGrant>,
    /// Access token → (grant id, expiry).
    access: HashMap<String, (u64, Instant)>,
    /// Refresh token → (grant id, still valid).
    refresh: HashMap<String, (u64, bool)>,
    grants: HashMap<u64, Grant>,
    next: u64,
    deny_next: bool,
    seen: Vec<Request>,
    token_requests: HashMap<String, u64>,
    revocations: u64,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// A running emulation (see the module docs). Dropping it stops the server.
pub struct Emulation {
    /// `http://127.0.0.1:PORT` (or `http://[::1]:PORT`).
    pub base: String,
    /// The provider.
    pub provider: Provider,
    /// The options it runs with.
    pub options: Options,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Emulation {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `Browser` for the Authenticator that plays the user's browser: it follows
/// redirects from the authorization endpoint to the loopback callback.
pub fn browser() -> cliauth::browser::Browser {
    let handle = tokio::runtime::Handle::current();
    cliauth::browser::Browser::custom(move |url| {
        let url = url.to_string();
        handle.spawn(async move {
            let client = crate::reqwest_builder()
                .redirect(reqwest::redirect::Policy::limited(10))
                .build()
                .expect("a reqwest client");
            let _ = client.get(&url).send().await;
        });
        Ok(())
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token in JWT form with these claims (the signature is not checked by cliauth,
/// which decodes claims only for display; it is not valid here either).
pub fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT","kid":"emulation"}"#),
        b64(claims.to_string().as_bytes()),
        b64(b"not-a-signature")
    )
}

fn random_token(prefix: &str, n: u64) -> String {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("OS randomness");
    format!("{prefix}{}{n}", b64(&bytes).replace(['-', '_'], "x"))
}

fn is_loopback_redirect(uri: &str) -> bool {
    ["http://127.0.0.1:", "http://[::1]:", "http://localhost:"]
        .iter()
        .any(|p| {
            uri.strip_prefix(p).is_some_and(|rest| {
                rest.split_once('/')
                    .is_some_and(|(port, _)| port.parse::<u16>().is_ok())
            })
        })
}

impl Emulation {
    /// Starts an emulation on a free loopback port.
    pub async fn start(provider: Provider, options: Options) -> Emulation {
        let addr = if options.ipv6 {
            SocketAddr::from((Ipv6Addr::LOCALHOST, 0))
        } else {
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
        };
        let listener = crate::http::bind(addr).await.expect("bind the emulation");
        let local = listener.local_addr().expect("local address");
        let base = format!("http://{local}");
        let state = Arc::new(Mutex::new(State::default()));
        let server = Arc::new(Server {
            provider,
            options: options.clone(),
            base: base.clone(),
            state: Arc::clone(&state),
        });
        let handler: Handler = Arc::new(move |request| {
            let server = Arc::clone(&server);
            Box::pin(async move { server.handle(request) })
        });
        let task = tokio::spawn(serve(listener, handler));
        Emulation {
            base,
            provider,
            options,
            state,
            task,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("emulation state")
    }

    /// The value to give the preset's host variable, as a preset variable pair.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The user approves the device code `user_code` on their other device.
    pub fn approve_device(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceStatus::Approved)
    }

    /// The user declines the device code `user_code`.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceStatus::Denied)
    }

    fn set_device(&self, user_code: &str, status: DeviceStatus) -> bool {
        let mut st = self.state();
        match st.devices.values_mut().find(|d| d.user_code == user_code) {
            Some(d) => {
                d.status = status;
                true
            }
            None => false,
        }
    }

    /// The next poll for `user_code` is answered with `slow_down`.
    pub fn slow_down_next_poll(&self, user_code: &str) {
        let mut st = self.state();
        if let Some(d) = st.devices.values_mut().find(|d| d.user_code == user_code) {
            d.slow_down_next = true;
        }
    }

    /// The next authorization request is denied by the user.
    pub fn deny_next_authorization(&self) {
        self.state().deny_next = true;
    }

    /// Token requests seen, by `grant_type`.
    pub fn token_requests(&self, grant: &str) -> u64 {
        self.state().token_requests.get(grant).copied().unwrap_or(0)
    }

    /// Revocation requests that revoked something.
    pub fn revocations(&self) -> u64 {
        self.state().revocations
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Request> {
        self.state().seen.clone()
    }

    /// The requests to a path.
    pub fn seen_at(&self, path: &str) -> Vec<Request> {
        self.state()
            .seen
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Whether an access token is accepted by the emulation's API.
    pub fn access_token_valid(&self, token: &str) -> bool {
        let st = self.state();
        match st.access.get(token) {
            Some((grant, expires)) => {
                *expires > Instant::now() && st.grants.get(grant).is_some_and(|g| !g.revoked)
            }
            None => false,
        }
    }

    /// Whether a refresh token would be accepted.
    pub fn refresh_token_valid(&self, token: &str) -> bool {
        let st = self.state();
        match st.refresh.get(token) {
            Some((grant, valid)) => *valid && st.grants.get(grant).is_some_and(|g| !g.revoked),
            None => false,
        }
    }

    /// The paths this provider serves (for tests that call them directly).
    pub fn paths(&self) -> Paths {
        paths(self.provider, &self.options)
    }
}

/// Where an emulated provider serves each endpoint (paths below the base).
#[derive(Clone, Debug)]
pub struct Paths {
    /// The discovery document, if the provider has one.
    pub discovery: Option<String>,
    /// The authorization endpoint.
    pub authorize: String,
    /// The token endpoint.
    pub token: String,
    /// The device authorization endpoint.
    pub device: Option<String>,
    /// The revocation endpoint.
    pub revoke: Option<String>,
    /// The userinfo (or `/user`) endpoint.
    pub userinfo: String,
    /// The issuer path (appended to the base), if the provider has an issuer.
    pub issuer: Option<String>,
}

fn paths(provider: Provider, o: &Options) -> Paths {
    let s = |v: &str| v.to_string();
    match provider {
        // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
        // (web flow: /login/oauth/authorize, /login/oauth/access_token; device flow:
        // /login/device/code). No discovery document, no RFC 7009 endpoint. The
        // user's identity: GET https://api.github.com/user (served under /api here).
        Provider::GitHub | Provider::GitHubApp => Paths {
            discovery: None,
            authorize: s("/login/oauth/authorize"),
            token: s("/login/oauth/access_token"),
            device: Some(s("/login/device/code")),
            revoke: None,
            userinfo: s("/api/user"),
            issuer: None,
        },
        // https://developers.google.com/identity/openid-connect/openid-connect#discovery:
        // the document at https://accounts.google.com/.well-known/openid-configuration
        // names /o/oauth2/v2/auth, oauth2.googleapis.com/token, /device/code, /revoke
        // and openidconnect.googleapis.com/v1/userinfo (one host here).
        Provider::Google => Paths {
            discovery: Some(s("/.well-known/openid-configuration")),
            authorize: s("/o/oauth2/v2/auth"),
            token: s("/token"),
            device: Some(s("/device/code")),
            revoke: Some(s("/revoke")),
            userinfo: s("/v1/userinfo"),
            issuer: Some(String::new()),
        },
        // https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc:
        // https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration;
        // endpoints /{tenant}/oauth2/v2.0/{authorize,token,devicecode}; userinfo on
        // graph.microsoft.com/oidc/userinfo (one host here). No revocation endpoint.
        Provider::Entra => {
            let t = &o.tenant;
            Paths {
                discovery: Some(format!("/{t}/v2.0/.well-known/openid-configuration")),
                authorize: format!("/{t}/oauth2/v2.0/authorize"),
                token: format!("/{t}/oauth2/v2.0/token"),
                device: Some(format!("/{t}/oauth2/v2.0/devicecode")),
                revoke: None,
                userinfo: s("/oidc/userinfo"),
                issuer: Some(format!("/{t}/v2.0")),
            }
        }
        // https://auth0.com/docs/api/authentication: /authorize, /oauth/token,
        // /oauth/device/code, /oauth/revoke, /userinfo; discovery at
        // https://{domain}/.well-known/openid-configuration, issuer `https://{domain}/`.
        Provider::Auth0 => Paths {
            discovery: Some(s("/.well-known/openid-configuration")),
            authorize: s("/authorize"),
            token: s("/oauth/token"),
            device: Some(s("/oauth/device/code")),
            revoke: Some(s("/oauth/revoke")),
            userinfo: s("/userinfo"),
            issuer: Some(s("/")),
        },
        // https://developer.okta.com/docs/concepts/auth-servers/: a custom
        // authorization server's issuer is https://{domain}/oauth2/{id}; endpoints
        // {issuer}/v1/{authorize,token,device/authorize,revoke,userinfo}.
        Provider::Okta => {
            let i = format!("/oauth2/{}", o.realm);
            Paths {
                discovery: Some(format!("{i}/.well-known/openid-configuration")),
                authorize: format!("{i}/v1/authorize"),
                token: format!("{i}/v1/token"),
                device: Some(format!("{i}/v1/device/authorize")),
                revoke: Some(format!("{i}/v1/revoke")),
                userinfo: format!("{i}/v1/userinfo"),
                issuer: Some(i),
            }
        }
        // https://www.keycloak.org/securing-apps/oidc-layers: issuer
        // {base}/realms/{realm}; endpoints {issuer}/protocol/openid-connect/
        // {auth,token,auth/device,revoke,userinfo}.
        Provider::Keycloak => {
            let i = format!("/realms/{}", o.realm);
            let p = format!("{i}/protocol/openid-connect");
            Paths {
                discovery: Some(format!("{i}/.well-known/openid-configuration")),
                authorize: format!("{p}/auth"),
                token: format!("{p}/token"),
                device: Some(format!("{p}/auth/device")),
                revoke: Some(format!("{p}/revoke")),
                userinfo: format!("{p}/userinfo"),
                issuer: Some(i),
            }
        }
        // https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html:
        // issuer https://cognito-idp.{region}.amazonaws.com/{pool}, its
        // /.well-known/openid-configuration names the user pool domain's
        // /oauth2/authorize, /oauth2/token and /oauth2/userInfo (one host here);
        // /oauth2/revoke exists (revocation-endpoint.html) but is not in the document.
        // No device flow.
        Provider::Cognito => {
            let i = format!("/{}", o.realm);
            Paths {
                discovery: Some(format!("{i}/.well-known/openid-configuration")),
                authorize: s("/oauth2/authorize"),
                token: s("/oauth2/token"),
                device: None,
                revoke: Some(s("/oauth2/revoke")),
                userinfo: s("/oauth2/userInfo"),
                issuer: Some(i),
            }
        }
    }
}

/// The email of the user every OpenID emulation signs in (its ID token and userinfo
/// carry it): the account cliauth names, since core prefers `email` over `sub`.
pub const EMAIL: &str = "user@example.test";

/// The subject (user) each emulation signs in.
pub fn subject(provider: Provider) -> &'static str {
    match provider {
        Provider::GitHub | Provider::GitHubApp => "octocat",
        Provider::Google => "110169484474386276334",
        Provider::Entra => "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        Provider::Auth0 => "auth0|5f7c8ec7c33c6c004bbafe82",
        Provider::Okta => "00uid4BxXw6I6TV4m0g3",
        Provider::Keycloak => "f1b2c3d4-0000-4000-8000-keycloakuser",
        Provider::Cognito => "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    }
}

struct Server {
    provider: Provider,
    options: Options,
    base: String,
    state: Arc<Mutex<State>>,
}

/// An OAuth error body.
fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

impl Server {
    fn paths(&self) -> Paths {
        paths(self.provider, &self.options)
    }

    fn issuer(&self) -> Option<String> {
        let p = self.paths().issuer?;
        Some(match self.provider {
            // Multi-tenant authorities name their issuer with a placeholder
            // (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri).
            Provider::Entra
                if ["common", "organizations"].contains(&self.options.tenant.as_str()) =>
            {
                format!("{}/{{tenantid}}/v2.0", self.base)
            }
            _ => format!("{}{p}", self.base),
        })
    }

    fn handle(&self, request: Request) -> Response {
        self.state.lock().expect("state").seen.push(request.clone());
        let p = self.paths();
        let path = request.path.as_str();
        let method = request.method.as_str();
        if method == "GET" && p.discovery.as_deref() == Some(path) {
            return self.discovery();
        }
        if method == "GET" && path == p.authorize {
            return self.authorize(&request);
        }
        if method == "POST" && path == p.token {
            return self.token(&request);
        }
        if method == "POST" && p.device.as_deref() == Some(path) {
            return self.device_authorization(&request);
        }
        if method == "POST" && p.revoke.as_deref() == Some(path) {
            return self.revoke(&request);
        }
        if method == "GET" && path == p.userinfo {
            return self.userinfo(&request);
        }
        Response::json(404, &json!({"message": "Not Found"}))
    }

    fn discovery(&self) -> Response {
        let p = self.paths();
        let u = |path: &str| format!("{}{path}", self.base);
        let mut doc = json!({
            "issuer": self.issuer(),
            "authorization_endpoint": u(&p.authorize),
            "token_endpoint": u(&p.token),
            "userinfo_endpoint": u(&p.userinfo),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "jwks_uri": u("/jwks"),
        });
        let m = doc.as_object_mut().expect("an object");
        if let Some(d) = &p.device {
            m.insert("device_authorization_endpoint".into(), json!(u(d)));
        }
        // Cognito's document lists no revocation endpoint.
        if let (Some(r), false) = (&p.revoke, self.provider == Provider::Cognito) {
            m.insert("revocation_endpoint".into(), json!(u(r)));
        }
        let methods = match self.provider {
            // Google: ["client_secret_post", "client_secret_basic"].
            Provider::Google => json!(["client_secret_post", "client_secret_basic"]),
            // Entra v2.0: ["client_secret_post", "private_key_jwt", "client_secret_basic"].
            Provider::Entra => json!([
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic"
            ]),
            // Cognito: ["client_secret_basic", "client_secret_post"].
            Provider::Cognito => json!(["client_secret_basic", "client_secret_post"]),
            _ => json!(["client_secret_basic", "client_secret_post", "none"]),
        };
        m.insert("token_endpoint_auth_methods_supported".into(), methods);
        // Entra and Cognito publish no code_challenge_methods_supported (PKCE S256
        // still works); the others list S256.
        if !matches!(self.provider, Provider::Entra | Provider::Cognito) {
            m.insert(
                "code_challenge_methods_supported".into(),
                json!(["plain", "S256"]),
            );
        }
        Response::json(200, &doc)
    }

    fn redirect_ok(&self, uri: &str) -> bool {
        match self.provider {
            // Cognito: callback URLs must be registered exactly; plain http only for
            // http://localhost
            // (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-app-idp-settings.html).
            Provider::Cognito => self.options.redirect_uris.iter().any(|r| r == uri),
            // RFC 8252 §7.3 loopback redirects with any port (GitHub: "Loopback
            // redirect urls"; Google: loopback IP address; Entra: 127.0.0.1 with any
            // port for public clients).
            _ => is_loopback_redirect(uri),
        }
    }

    fn authorize(&self, r: &Request) -> Response {
        let Some(client_id) = r.param("client_id") else {
            return Response::json(400, &json!({"error": "invalid_request"}));
        };
        let redirect_uri = r.param("redirect_uri").unwrap_or_default();
        if client_id != self.options.client_id || !self.redirect_ok(&redirect_uri) {
            // Never redirect to an unregistered URI: an error page.
            return Response::json(
                400,
                &json!({"error": "redirect_uri_mismatch", "error_description": "The redirect_uri MUST match the registered callback URL for this application."}),
            );
        }
        let state = r.param("state").unwrap_or_default();
        let sep = if redirect_uri.contains('?') { '&' } else { '?' };
        let q = |pairs: &[(&str, &str)]| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                s.append_pair(k, v);
            }
            s.finish()
        };
        let mut st = self.state.lock().expect("state");
        if std::mem::take(&mut st.deny_next) {
            return Response::redirect(&format!(
                "{redirect_uri}{sep}{}",
                q(&[
                    ("error", "access_denied"),
                    (
                        "error_description",
                        "The user has denied access to the scope requested by the client application."
                    ),
                    ("state", &state),
                ])
            ));
        }
        let challenge = r.param("code_challenge").map(|c| {
            (
                r.param("code_challenge_method")
                    .unwrap_or_else(|| "plain".into()),
                c,
            )
        });
        if challenge.is_none() && !matches!(self.provider, Provider::GitHub | Provider::GitHubApp) {
            return Response::redirect(&format!(
                "{redirect_uri}{sep}{}",
                q(&[
                    ("error", "invalid_request"),
                    ("error_description", "code_challenge is required"),
                    ("state", &state),
                ])
            ));
        }
        let n = st.id();
        let code = random_token("code-", n);
        st.codes.insert(
            code.clone(),
            CodeGrant {
                redirect_uri: redirect_uri.clone(),
                challenge,
                scope: r.param("scope").unwrap_or_default(),
                nonce: r.param("nonce"),
                expires: Instant::now() + Duration::from_secs(600),
            },
        );
        Response::redirect(&format!(
            "{redirect_uri}{sep}{}",
            q(&[("code", &code), ("state", &state)])
        ))
    }

    /// Client authentication at the token, device and revocation endpoints, as the
    /// provider documents it; `Err` is the error response to send.
    fn authenticate(&self, r: &Request, needs_secret: bool) -> Result<(), Response> {
        let form = r.form();
        let field = |n: &str| form.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let basic = r
            .header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                let (id, secret) = s.split_once(':')?;
                let dec = |x: &str| {
                    form_urlencoded::parse(format!("a={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                };
                Some((dec(id)?, dec(secret)?))
            });
        let github = matches!(self.provider, Provider::GitHub | Provider::GitHubApp);
        let (id, secret) = match (&basic, github) {
            // GitHub documents client_id and client_secret as body parameters only.
            (Some((id, secret)), false) => (Some(id.clone()), Some(secret.clone())),
            _ => (field("client_id"), field("client_secret")),
        };
        let bad_client = |why: &str| -> Response {
            if github {
                // GitHub answers OAuth errors with 200
                // (https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors).
                Response::json(
                    200,
                    &json!({"error": "incorrect_client_credentials", "error_description": "The client_id and/or client_secret passed are incorrect.", "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials"}),
                )
            } else {
                oauth_error(401, "invalid_client", why).with_header("WWW-Authenticate", "Basic")
            }
        };
        if id.as_deref() != Some(self.options.client_id.as_str()) {
            return Err(bad_client("unknown client"));
        }
        match (&self.options.client_secret, &secret) {
            (Some(expected), Some(given)) if expected == given => Ok(()),
            (Some(_), None) if !needs_secret => Ok(()),
            (Some(_), _) => Err(bad_client("client authentication failed")),
            // Entra: "AADSTS700025: Client is public so neither 'client_assertion'
            // nor 'client_secret' should be presented."
            (None, Some(_)) if self.provider == Provider::Entra => Err(oauth_error(
                401,
                "invalid_client",
                "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            )),
            (None, _) => Ok(()),
        }
    }

    /// An error at the token endpoint in the provider's status codes.
    fn token_error(&self, error: &str, description: &str) -> Response {
        match self.provider {
            Provider::GitHub | Provider::GitHubApp => {
                // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#error-codes-for-the-device-flow
                // and the access-token troubleshooting page: status 200, an `error`
                // member, an `error_uri`.
                Response::json(
                    200,
                    &json!({"error": error, "error_description": description, "error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"}),
                )
            }
            Provider::Google => {
                // https://developers.google.com/identity/protocols/oauth2/limited-input-device#step-6:-handle-responses-to-polling-requests
                let status = match error {
                    "authorization_pending" => 428,
                    "slow_down" | "access_denied" => 403,
                    _ => 400,
                };
                oauth_error(status, error, description)
            }
            Provider::Auth0 => {
                // https://auth0.com/docs/api/authentication#device-authorization-flow48:
                // 403 authorization_pending / expired_token / access_denied, 429 slow_down.
                let status = match error {
                    "slow_down" => 429,
                    "authorization_pending"
                    | "expired_token"
                    | "access_denied"
                    | "invalid_grant" => 403,
                    _ => 400,
                };
                oauth_error(status, error, description)
            }
            Provider::Entra => {
                // https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#expected-errors:
                // 400 with AADSTS codes, trace and correlation ids.
                Response::json(
                    400,
                    &json!({"error": error, "error_description": format!("AADSTS70016: {description}\r\nTrace ID: 0000\r\nCorrelation ID: 0000\r\nTimestamp: 2026-11-22 09:34:07Z"), "error_codes": [70016], "timestamp": "2026-11-22 09:34:07Z", "trace_id": "0000", "correlation_id": "0000", "error_uri": "https://login.microsoftonline.com/error?code=70016"}),
                )
            }
            _ => oauth_error(400, error, description),
        }
    }

    fn count(&self, grant: &str) {
        *self
            .state
            .lock()
            .expect("state")
            .token_requests
            .entry(grant.into())
            .or_default() += 1;
    }

    fn token(&self, r: &Request) -> Response {
        let grant_type = r.field("grant_type").unwrap_or_default();
        self.count(&grant_type);
        match grant_type.as_str() {
            "authorization_code" => self.code_grant(r),
            "refresh_token" => self.refresh_grant(r),
            "urn:ietf:params:oauth:grant-type:device_code" => self.device_grant(r),
            _ => self.token_error("unsupported_grant_type", "unsupported grant type"),
        }
    }

    fn code_grant(&self, r: &Request) -> Response {
        // GitHub's web flow: client_secret "Required"; Google desktop clients send
        // their secret; others per their registration.
        if let Err(e) = self.authenticate(r, true) {
            return e;
        }
        let code = r.field("code").unwrap_or_default();
        let grant = self.state.lock().expect("state").codes.remove(&code);
        let bad = match self.provider {
            Provider::GitHub | Provider::GitHubApp => "bad_verification_code",
            _ => "invalid_grant",
        };
        let Some(grant) = grant.filter(|g| g.expires > Instant::now()) else {
            return self.token_error(bad, "The code passed is incorrect or expired.");
        };
        if r.field("redirect_uri").as_deref() != Some(grant.redirect_uri.as_str()) {
            return self.token_error(bad, "redirect_uri does not match");
        }
        if let Some((method, challenge)) = &grant.challenge {
            let verifier = r.field("code_verifier").unwrap_or_default();
            let computed = match method.as_str() {
                "S256" => b64(&sha2::Sha256::digest(verifier.as_bytes())),
                _ => verifier,
            };
            if &computed != challenge {
                return self.token_error("invalid_grant", "PKCE verification failed");
            }
        }
        self.issue(&grant.scope, true, grant.nonce.as_deref())
    }

    fn device_authorization(&self, r: &Request) -> Response {
        // RFC 8628 §3.1: client authentication when the client has credentials;
        // none of these providers requires a secret here.
        if let Err(e) = self.authenticate(r, false) {
            return e;
        }
        if !self.options.device_flow {
            // GitHub: "device_flow_disabled — Device flow has not been enabled in the
            // app's settings", in a 200 answer like its other errors
            // (authorizing-oauth-apps#error-codes-for-the-device-flow).
            return self.token_error(
                "device_flow_disabled",
                "Device Flow must be explicitly enabled for this App",
            );
        }
        let mut st = self.state.lock().expect("state");
        let n = st.id();
        let device_code = random_token("dev-", n);
        let user_code = format!("WDJB-{:04}", 1000 + n);
        let interval = self.options.device_interval;
        let scope = r.field("scope").unwrap_or_default();
        let expires_in = match self.provider {
            Provider::Google => 1800,
            _ => 900,
        };
        st.devices.insert(
            device_code.clone(),
            DeviceGrant {
                user_code: user_code.clone(),
                scope,
                status: DeviceStatus::Pending,
                expires: Instant::now() + Duration::from_secs(expires_in),
                last_poll: None,
                interval,
                slow_down_next: false,
            },
        );
        let complete = format!("{}/activate?user_code={user_code}", self.base);
        let body = match self.provider {
            // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#response-parameters
            Provider::GitHub | Provider::GitHubApp => json!({
                "device_code": device_code, "user_code": user_code,
                "verification_uri": "https://github.com/login/device",
                "expires_in": expires_in, "interval": interval,
            }),
            // Google names it `verification_url`
            // (https://developers.google.com/identity/protocols/oauth2/limited-input-device#step-2:-handle-the-authorization-server-response).
            Provider::Google => json!({
                "device_code": device_code, "user_code": user_code,
                "verification_url": "https://www.google.com/device",
                "expires_in": expires_in, "interval": interval,
            }),
            // Entra adds `message` and has no verification_uri_complete
            // (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#device-authorization-response).
            Provider::Entra => json!({
                "user_code": user_code, "device_code": device_code,
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": expires_in, "interval": interval,
                "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate."),
            }),
            _ => json!({
                "device_code": device_code, "user_code": user_code,
                "verification_uri": format!("{}/activate", self.base),
                "verification_uri_complete": complete,
                "expires_in": expires_in, "interval": interval,
            }),
        };
        Response::json(200, &body)
    }

    fn device_grant(&self, r: &Request) -> Response {
        // Google's device clients send their secret when polling
        // (limited-input-device#step-4:-poll-googles-authorization-server).
        if let Err(e) = self.authenticate(r, self.provider == Provider::Google) {
            return e;
        }
        let code = r.field("device_code").unwrap_or_default();
        let now = Instant::now();
        let mut st = self.state.lock().expect("state");
        let Some(d) = st.devices.get_mut(&code) else {
            drop(st);
            let bad = match self.provider {
                Provider::GitHub | Provider::GitHubApp => "incorrect_device_code",
                _ => "invalid_grant",
            };
            return self.token_error(bad, "The device_code provided is not valid.");
        };
        if d.expires <= now {
            drop(st);
            return self.token_error("expired_token", "The device_code has expired.");
        }
        let too_fast = d.last_poll.is_some_and(|t| {
            now.duration_since(t) + Duration::from_millis(200) < Duration::from_secs(d.interval)
        });
        d.last_poll = Some(now);
        if std::mem::take(&mut d.slow_down_next) || too_fast {
            d.interval += 5;
            let interval = d.interval;
            drop(st);
            let mut response = self.token_error(
                "slow_down",
                "Too many requests have been made in the same timeframe.",
            );
            if matches!(self.provider, Provider::GitHub | Provider::GitHubApp) {
                // "The error response includes the new interval that you must use."
                // (authorizing-oauth-apps#error-codes-for-the-device-flow)
                if let Ok(mut v) = serde_json::from_slice::<Value>(&response.body) {
                    v["interval"] = json!(interval);
                    response.body = v.to_string().into_bytes();
                }
            }
            return response;
        }
        match d.status {
            DeviceStatus::Pending => {
                drop(st);
                self.token_error(
                    "authorization_pending",
                    "The authorization request is still pending.",
                )
            }
            DeviceStatus::Denied => {
                st.devices.remove(&code);
                drop(st);
                // Entra's name for a declined request
                // (v2-oauth2-device-code#expected-errors: `authorization_declined`).
                let error = match self.provider {
                    Provider::Entra => "authorization_declined",
                    _ => "access_denied",
                };
                self.token_error(error, "The end user denied the authorization request.")
            }
            DeviceStatus::Approved => {
                let scope = d.scope.clone();
                st.devices.remove(&code);
                drop(st);
                self.issue(&scope, true, None)
            }
        }
    }

    fn refresh_grant(&self, r: &Request) -> Response {
        // GitHub App refreshes need the client secret
        // (refreshing-user-access-tokens#refreshing-a-user-access-token-with-a-refresh-token).
        if let Err(e) = self.authenticate(r, true) {
            return e;
        }
        let token = r.field("refresh_token").unwrap_or_default();
        let github = matches!(self.provider, Provider::GitHub | Provider::GitHubApp);
        let mut st = self.state.lock().expect("state");
        let Some((grant_id, valid)) = st.refresh.get(&token).copied() else {
            drop(st);
            return self.bad_refresh(github);
        };
        let revoked = st.grants.get(&grant_id).is_none_or(|g| g.revoked);
        if revoked {
            drop(st);
            return self.bad_refresh(github);
        }
        if !valid {
            // Reuse of a rotated refresh token. Auth0's reuse detection revokes the
            // whole family (https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation#automatic-reuse-detection).
            if self.provider == Provider::Auth0
                && let Some(g) = st.grants.get_mut(&grant_id)
            {
                g.revoked = true;
            }
            drop(st);
            return self.bad_refresh(github);
        }
        let granted = st
            .grants
            .get(&grant_id)
            .map(|g| g.scope.clone())
            .unwrap_or_default();
        let scope = match r.field("scope") {
            // RFC 6749 §6: no scope beyond what was granted.
            Some(s) if s.split(' ').all(|x| granted.split(' ').any(|g| g == x)) => s,
            Some(_) => {
                drop(st);
                return self.token_error(
                    "invalid_scope",
                    "the requested scope exceeds the granted scope",
                );
            }
            None => granted,
        };
        let rotate = match self.provider {
            // GitHub Apps: "Once you use a refresh token, that refresh token and the
            // old user access token will no longer work."
            Provider::GitHubApp => Rotation::SingleUse,
            // Auth0 with rotation on; Okta with rotation on and no grace period.
            Provider::Auth0 | Provider::Okta => Rotation::SingleUse,
            // Entra (v2-oauth2-auth-code-flow#refresh-the-access-token) and Keycloak
            // return a new refresh token; the old one is not revoked.
            Provider::Entra | Provider::Keycloak => Rotation::NewKeepOld,
            // Google and Cognito return no new refresh token.
            _ => Rotation::None,
        };
        if rotate == Rotation::SingleUse {
            st.refresh.insert(token.clone(), (grant_id, false));
        }
        drop(st);
        self.tokens(grant_id, &scope, rotate != Rotation::None, true, None)
    }

    fn bad_refresh(&self, github: bool) -> Response {
        if github {
            self.token_error(
                "bad_refresh_token",
                "The refresh token passed is incorrect or expired.",
            )
        } else {
            self.token_error("invalid_grant", "Unknown or invalid refresh token.")
        }
    }

    /// Tokens for a new grant.
    fn issue(&self, scope: &str, with_refresh: bool, nonce: Option<&str>) -> Response {
        let grant_id = {
            let mut st = self.state.lock().expect("state");
            let id = st.id();
            st.grants.insert(
                id,
                Grant {
                    scope: scope.to_string(),
                    revoked: false,
                },
            );
            id
        };
        self.tokens(grant_id, scope, with_refresh, false, nonce)
    }

    fn tokens(
        &self,
        grant_id: u64,
        scope: &str,
        new_refresh: bool,
        refreshing: bool,
        nonce: Option<&str>,
    ) -> Response {
        let mut st = self.state.lock().expect("state");
        let n = st.id();
        let lifetime = self.options.access_lifetime;
        let sub = subject(self.provider);
        let access = match self.provider {
            // Token prefixes: gho_ (OAuth app), ghu_/ghr_ (GitHub App user tokens).
            Provider::GitHub => random_token("gho_", n),
            Provider::GitHubApp => random_token("ghu_", n),
            Provider::Google => random_token("ya29.", n),
            // Auth0, Okta and Keycloak access tokens for an API are JWTs.
            Provider::Auth0 | Provider::Okta | Provider::Keycloak => jwt(&json!({
                "iss": self.issuer(), "sub": sub, "aud": "api", "scope": scope,
                "jti": random_token("", n),
                "exp": unix_now() + lifetime, "iat": unix_now(),
            })),
            _ => random_token("at-", n),
        };
        st.access.insert(
            access.clone(),
            (grant_id, Instant::now() + Duration::from_secs(lifetime)),
        );
        let refresh = new_refresh.then(|| {
            let prefix = match self.provider {
                Provider::GitHubApp => "ghr_",
                Provider::Google => "1//",
                _ => "rt-",
            };
            let t = random_token(prefix, n);
            st.refresh.insert(t.clone(), (grant_id, true));
            t
        });
        drop(st);
        let oidc = scope.split(' ').any(|s| s == "openid");
        let mut claims = json!({
            "iss": self.issuer(), "sub": sub, "aud": self.options.client_id,
            "email": EMAIL, "exp": unix_now() + 3600, "iat": unix_now(),
        });
        // https://openid.net/specs/openid-connect-core-1_0.html#IDToken: the `nonce`
        // of the authentication request, passed through unmodified (Google, Entra,
        // Auth0, Okta, Keycloak and Cognito all do).
        if let (Some(nonce), Some(m)) = (nonce, claims.as_object_mut()) {
            m.insert("nonce".into(), json!(nonce));
        }
        let id_token = jwt(&claims);
        let mut body = match self.provider {
            Provider::GitHub => {
                // `scope` is comma-separated; OAuth app tokens do not expire and come
                // without a refresh token (authorizing-oauth-apps#response).
                let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
                json!({"access_token": access, "token_type": "bearer", "scope": scopes.join(",")})
            }
            Provider::GitHubApp => {
                // generating-a-user-access-token-for-a-github-app#using-the-web-application-flow:
                // expires_in 28800, refresh_token, refresh_token_expires_in 15897600,
                // scope always "", token_type "bearer".
                json!({"access_token": access, "expires_in": lifetime, "refresh_token": refresh,
                       "refresh_token_expires_in": 15_897_600, "scope": "", "token_type": "bearer"})
            }
            Provider::Entra if refreshing => {
                // The v1.0 endpoint documents `expires_in` (and `expires_on`) as
                // strings ("expires_in": "3599",
                // https://learn.microsoft.com/en-us/previous-versions/azure/active-directory/azuread-dev/v1-protocols-oauth-code#refreshing-the-access-tokens).
                json!({"token_type": "Bearer", "scope": scope, "expires_in": lifetime.to_string(),
                       "ext_expires_in": lifetime.to_string(), "access_token": access,
                       "refresh_token": refresh, "id_token": id_token})
            }
            Provider::Entra => {
                json!({"token_type": "Bearer", "scope": scope, "expires_in": lifetime,
                                      "ext_expires_in": lifetime, "access_token": access,
                                      "refresh_token": refresh, "id_token": id_token})
            }
            Provider::Keycloak => json!({"access_token": access, "expires_in": lifetime,
                "refresh_expires_in": 1800, "refresh_token": refresh, "token_type": "Bearer",
                "id_token": id_token, "not-before-policy": 0, "session_state": "0000", "scope": scope}),
            // Cognito returns no `scope` (RFC 6749 §5.1: then it is the requested one).
            Provider::Cognito => json!({"access_token": access, "id_token": id_token,
                "refresh_token": refresh, "token_type": "Bearer", "expires_in": lifetime}),
            _ => json!({"access_token": access, "token_type": "Bearer", "expires_in": lifetime,
                        "scope": scope, "refresh_token": refresh, "id_token": id_token}),
        };
        let m = body.as_object_mut().expect("an object");
        m.retain(|_, v| !v.is_null());
        if !oidc {
            m.remove("id_token");
        }
        Response::json(200, &body)
            .with_header("Cache-Control", "no-store")
            .with_header("Pragma", "no-cache")
    }

    fn revoke(&self, r: &Request) -> Response {
        if let Err(e) = self.authenticate(r, true) {
            return e;
        }
        let token = r.field("token").unwrap_or_default();
        let mut st = self.state.lock().expect("state");
        let grant = st
            .refresh
            .get(&token)
            .map(|(g, _)| *g)
            .map(Ok)
            .or_else(|| st.access.get(&token).map(|(g, _)| Err(*g)));
        match (self.provider, grant) {
            // Cognito revokes refresh tokens only
            // (revocation-endpoint.html: "unsupported_token_type" for others).
            (Provider::Cognito, Some(Err(_))) => {
                drop(st);
                oauth_error(
                    400,
                    "unsupported_token_type",
                    "only refresh tokens can be revoked",
                )
            }
            (_, Some(Ok(g) | Err(g))) => {
                if let Some(grant) = st.grants.get_mut(&g) {
                    grant.revoked = true;
                }
                st.revocations += 1;
                drop(st);
                Response::empty(200)
            }
            // Google: an unknown token is `invalid_token`
            // (https://developers.google.com/identity/protocols/oauth2/native-app#tokenrevoke);
            // RFC 7009 §2.2 servers answer 200.
            (Provider::Google, None) => {
                drop(st);
                oauth_error(400, "invalid_token", "Token expired or revoked")
            }
            (_, None) => Response::empty(200),
        }
    }

    fn userinfo(&self, r: &Request) -> Response {
        let token = r
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_string();
        let st = self.state.lock().expect("state");
        let ok = st.access.get(&token).is_some_and(|(g, exp)| {
            *exp > Instant::now() && st.grants.get(g).is_some_and(|g| !g.revoked)
        });
        drop(st);
        if !ok {
            return match self.provider {
                Provider::GitHub | Provider::GitHubApp => Response::json(
                    401,
                    &json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
                ),
                _ => Response::json(401, &json!({"error": "invalid_token"}))
                    .with_header("WWW-Authenticate", "Bearer error=\"invalid_token\""),
            };
        }
        let sub = subject(self.provider);
        match self.provider {
            // https://docs.github.com/en/rest/users/users#get-the-authenticated-user
            Provider::GitHub | Provider::GitHubApp => {
                Response::json(200, &json!({"login": sub, "id": 583231, "type": "User"}))
            }
            _ => Response::json(
                200,
                &json!({"sub": sub, "email": EMAIL, "name": "Example User"}),
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rotation {
    None,
    SingleUse,
    NewKeepOld,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
