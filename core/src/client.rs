//! Who the CLI is at the authorization server, and what every request it sends
//! carries besides the grant itself.
//!
//! A [`Client`] holds the client id, an optional client secret with the method that
//! sends it ([`ClientAuthMethod`], RFC 6749 §2.3.1), extra parameters per
//! [`RequestKind`] (`audience` for Auth0, `resource` for RFC 8707, vendor
//! parameters), and the server's [`Quirks`]. It is the one place where each request
//! kind is built: [`Client::token_request`], [`Client::device_authorization_request`]
//! and [`Client::revocation_request`] (the authorize URL is built by
//! [`crate::authorize::PendingAuthorization`] from [`Client::params_for`]).
//!
//! ## Client secrets of native apps are not secrets
//!
//! Some providers issue a client secret even to CLI and desktop clients (Google's
//! "Desktop app" and "TVs and limited input devices" clients, GitHub's OAuth apps
//! for the web flow). A secret compiled into a program that users download can be
//! extracted by any of them: RFC 8252 §8.5 says such a secret must not be treated
//! as a secret, and the server must not rely on it to authenticate the client.
//! cliauth sends it because the server requires it, never prints it (it is a
//! [`ClientSecret`]), and keeps PKCE on for every code flow whether or not a secret
//! is sent — PKCE, not the secret, is what protects the authorization code
//! (RFC 7636, RFC 9700 §2.1.1).
//!
//! ```
//! use cliauth_core::client::{Client, ClientAuthMethod, RequestKind};
//! use cliauth_core::token::TokenGrant;
//! use cliauth_core::secret::RefreshToken;
//!
//! // What the server's metadata lists (`token_endpoint_auth_methods_supported`).
//! let methods = vec!["client_secret_post".to_string()];
//! let client = Client::new("my-cli")
//!     .with_secret("not-really-secret")
//!     .param(RequestKind::Refresh, "audience", "https://api.example")
//!     .for_server(Some(&methods))
//!     .unwrap();
//! assert_eq!(client.auth_method(), ClientAuthMethod::ClientSecretPost);
//! let rt = RefreshToken::new("r1");
//! let request = client.token_request(
//!     "https://as.example/token",
//!     TokenGrant::RefreshToken { refresh_token: &rt, scope: None },
//! );
//! assert_eq!(
//!     String::from_utf8(request.body).unwrap(),
//!     "grant_type=refresh_token&refresh_token=r1&client_id=my-cli\
//!      &client_secret=not-really-secret&audience=https%3A%2F%2Fapi.example"
//! );
//! assert!(format!("{client:?}").contains("[redacted]"));
//! ```

use core::fmt;

use base64::Engine;

use crate::encoding::{form_component, form_encode};
use crate::error::{Error, sanitize_server_text};
use crate::http::{HttpRequest, HttpResponse};
use crate::provider::Quirks;
use crate::revoke::TokenTypeHint;
use crate::secret::SecretString;
use crate::time::Timestamp;
use crate::token::{DEVICE_CODE_GRANT, TokenEndpointResponse, TokenGrant, TokenSet};

/// A client secret (RFC 6749 §2.3.1). For a native app it identifies the app, it does
/// not authenticate it (RFC 8252 §8.5); it is still never printed.
#[derive(PartialEq, Eq)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        ClientSecret(SecretString::new(value))
    }

    /// The value, for the request that carries it.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// An explicit copy.
    pub fn clone_secret(&self) -> Self {
        ClientSecret(self.0.clone_secret())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// How the client authenticates at the token, device authorization and revocation
/// endpoints (RFC 6749 §2.3.1, RFC 8414 §2 `token_endpoint_auth_methods_supported`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClientAuthMethod {
    /// A public client: `client_id` in the body, no secret (`none`).
    #[default]
    None,
    /// HTTP Basic with the form-encoded id and secret (`client_secret_basic`); the
    /// `client_id` is not repeated in the body.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    ClientSecretPost,
}

impl ClientAuthMethod {
    /// The RFC 8414 name: `none`, `client_secret_basic`, `client_secret_post`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::None => "none",
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
        }
    }

    /// Parses an RFC 8414 name.
    pub fn parse(name: &str) -> Option<ClientAuthMethod> {
        Some(match name {
            "none" => ClientAuthMethod::None,
            "client_secret_basic" => ClientAuthMethod::ClientSecretBasic,
            "client_secret_post" => ClientAuthMethod::ClientSecretPost,
            _ => return None,
        })
    }

    /// The method to use. Without a secret it is [`ClientAuthMethod::None`] whatever
    /// the preference. With
    /// one: `preferred` if given (and listed by the server, when it publishes a
    /// list); else `client_secret_basic` when the server lists it or publishes no
    /// list (RFC 8414 §2: "If omitted, the default is `client_secret_basic`"), else
    /// `client_secret_post` when listed. A server that lists neither is a clear
    /// [`Error::InvalidConfig`], not a guess.
    pub fn negotiate(
        has_secret: bool,
        preferred: Option<ClientAuthMethod>,
        supported: Option<&[String]>,
    ) -> Result<ClientAuthMethod, Error> {
        if !has_secret {
            // A preference says how a secret is sent; without one there is nothing
            // to send (a preset's preference applies to clients that have one).
            return Ok(ClientAuthMethod::None);
        }
        let listed =
            |m: ClientAuthMethod| supported.is_none_or(|s| s.iter().any(|x| x == m.as_str()));
        if let Some(m) = preferred.filter(|m| *m != ClientAuthMethod::None) {
            return if listed(m) {
                Ok(m)
            } else {
                Err(unsupported(supported))
            };
        }
        if preferred == Some(ClientAuthMethod::None) {
            return Err(Error::invalid_config(
                "a client secret is configured but the client authentication method is `none`",
            ));
        }
        [
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
        ]
        .into_iter()
        .find(|m| listed(*m))
        .ok_or_else(|| unsupported(supported))
    }
}

fn unsupported(supported: Option<&[String]>) -> Error {
    let list = supported
        .map(|s| {
            s.iter()
                .map(|m| sanitize_server_text(m))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Error::invalid_config(format!(
        "the authorization server accepts neither client_secret_basic nor client_secret_post for a client secret (it lists: {list})"
    ))
}

/// The requests a CLI sends, each of which can carry extra parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// The authorization request (browser login, RFC 6749 §4.1.1).
    Authorize,
    /// The device authorization request (RFC 8628 §3.1).
    DeviceAuthorization,
    /// Token requests that complete a login: code exchange and device polling.
    Token,
    /// The refresh request (RFC 6749 §6).
    Refresh,
    /// The revocation request (RFC 7009 §2.1).
    Revocation,
}

impl RequestKind {
    /// Every kind.
    pub const ALL: [RequestKind; 5] = [
        RequestKind::Authorize,
        RequestKind::DeviceAuthorization,
        RequestKind::Token,
        RequestKind::Refresh,
        RequestKind::Revocation,
    ];

    /// `authorize`, `device_authorization`, `token`, `refresh`, `revocation`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Authorize => "authorize",
            RequestKind::DeviceAuthorization => "device_authorization",
            RequestKind::Token => "token",
            RequestKind::Refresh => "refresh",
            RequestKind::Revocation => "revocation",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names.
    pub fn parse(name: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Parameters cliauth sets itself for this kind; extra parameters with these
    /// names are ignored, so that configuration can never replace the grant, the
    /// PKCE verifier, the `state`, the redirect or the client's identity.
    pub fn reserved(self) -> &'static [&'static str] {
        match self {
            RequestKind::Authorize => &[
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
                "nonce",
            ],
            RequestKind::DeviceAuthorization => &["client_id", "client_secret", "scope"],
            RequestKind::Token | RequestKind::Refresh => &[
                "grant_type",
                "code",
                "redirect_uri",
                "code_verifier",
                "device_code",
                "refresh_token",
                "scope",
                "client_id",
                "client_secret",
            ],
            RequestKind::Revocation => &["token", "token_type_hint", "client_id", "client_secret"],
        }
    }
}

/// The CLI's identity at the authorization server and the shape of its requests
/// (see the module docs). `Debug` never shows the secret.
///
/// A client with a secret sends it with the method its server's metadata allows:
/// [`for_server`](Client::for_server) decides it from
/// `token_endpoint_auth_methods_supported` once the endpoints are known (flows call
/// it after discovery); until then the configured preference, else
/// `client_secret_basic` (RFC 8414 §2's default), is used.
#[derive(PartialEq, Eq)]
pub struct Client {
    id: String,
    secret: Option<ClientSecret>,
    /// The configured method, if any (a preset's or the app's).
    preferred: Option<ClientAuthMethod>,
    /// The method requests use.
    auth: ClientAuthMethod,
    params: Vec<(RequestKind, String, String)>,
    quirks: Quirks,
}

impl Clone for Client {
    fn clone(&self) -> Self {
        Client {
            id: self.id.clone(),
            secret: self.secret.as_ref().map(ClientSecret::clone_secret),
            preferred: self.preferred,
            auth: self.auth,
            params: self.params.clone(),
            quirks: self.quirks,
        }
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new("")
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("auth", &self.auth)
            .field("params", &self.params)
            .field("quirks", &self.quirks)
            .finish()
    }
}

impl Client {
    /// A public client (RFC 8252): no secret, no extra parameters, no quirks.
    pub fn new(id: impl Into<String>) -> Self {
        Client {
            id: id.into(),
            secret: None,
            preferred: None,
            auth: ClientAuthMethod::None,
            params: Vec::new(),
            quirks: Quirks::NONE,
        }
    }

    /// The client secret the provider issued (not a secret for a native app, RFC
    /// 8252 §8.5; see the module docs). It is sent with the preferred method
    /// ([`prefer_auth`](Self::prefer_auth)), else `client_secret_basic`, until
    /// [`for_server`](Self::for_server) decides from the server's metadata.
    #[must_use]
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(ClientSecret::new(secret));
        self.auth = self
            .preferred
            .unwrap_or(ClientAuthMethod::ClientSecretBasic);
        self
    }

    /// How a secret is to be sent (the app's choice, or a preset's for servers that
    /// publish no metadata). It must be one the server lists, if it lists any.
    #[must_use]
    pub fn prefer_auth(mut self, method: ClientAuthMethod) -> Self {
        self.preferred = Some(method);
        if self.secret.is_some() {
            self.auth = method;
        }
        self
    }

    /// The client as it talks to a server whose token endpoint accepts `supported`
    /// (`token_endpoint_auth_methods_supported`; `None`: not published): the method
    /// is decided by [`ClientAuthMethod::negotiate`]. A secret the server cannot
    /// receive is [`Error::InvalidConfig`], before anything is sent.
    pub fn for_server(&self, supported: Option<&[String]>) -> Result<Client, Error> {
        let auth = ClientAuthMethod::negotiate(self.secret.is_some(), self.preferred, supported)?;
        let mut client = self.clone();
        client.auth = auth;
        Ok(client)
    }

    /// Adds an extra parameter to every request of `kind`. Names that cliauth sets
    /// itself ([`RequestKind::reserved`]) are ignored; a name given twice is sent
    /// twice, in order.
    #[must_use]
    pub fn param(
        mut self,
        kind: RequestKind,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.params.push((kind, name.into(), value.into()));
        self
    }

    /// Sets the server's quirks.
    #[must_use]
    pub fn quirks(mut self, quirks: Quirks) -> Self {
        self.quirks = quirks;
        self
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether a secret is configured.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The method the secret is sent with.
    pub fn auth_method(&self) -> ClientAuthMethod {
        if self.secret.is_some() {
            self.auth
        } else {
            ClientAuthMethod::None
        }
    }

    /// The server's quirks.
    pub fn server_quirks(&self) -> &Quirks {
        &self.quirks
    }

    /// The extra parameters for `kind` that may be sent (reserved names dropped).
    pub fn params_for(&self, kind: RequestKind) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter()
            .filter(move |(k, name, _)| *k == kind && !kind.reserved().contains(&name.as_str()))
            .map(|(_, n, v)| (n.as_str(), v.as_str()))
    }

    /// A form POST of `pairs` to `endpoint` for a request of `kind`: the client's
    /// authentication inserted at index `auth_at` of `pairs` (where the protocol
    /// examples put it, so the bytes on the wire stay stable), then the extra
    /// parameters for `kind`.
    fn form_request<'a>(
        &'a self,
        kind: RequestKind,
        endpoint: &str,
        mut pairs: Vec<(&'a str, &'a str)>,
        auth_at: usize,
    ) -> HttpRequest {
        let method = self.auth_method();
        let mut auth = Vec::new();
        if method != ClientAuthMethod::ClientSecretBasic {
            auth.push(("client_id", self.id.as_str()));
        }
        if let (ClientAuthMethod::ClientSecretPost, Some(secret)) = (method, &self.secret) {
            auth.push(("client_secret", secret.expose_secret()));
        }
        let at = auth_at.min(pairs.len());
        pairs.splice(at..at, auth);
        pairs.extend(self.params_for(kind));
        let request = HttpRequest::post_form(endpoint, form_encode(pairs));
        match (method, &self.secret) {
            (ClientAuthMethod::ClientSecretBasic, Some(secret)) => {
                // RFC 6749 §2.3.1: both halves are form-encoded before base64.
                let id = form_component(&self.id);
                let secret = form_component(secret.expose_secret());
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
                request.with_header("authorization", format!("Basic {token}"))
            }
            _ => request,
        }
    }

    /// A token request (RFC 6749 §4.1.3, §6; RFC 8628 §3.4). Code exchange and
    /// refresh are marked non-idempotent (a replay could burn a single-use code or a
    /// rotated refresh token); device polling is idempotent by design. Extra
    /// parameters: [`RequestKind::Refresh`] for a refresh, [`RequestKind::Token`]
    /// otherwise.
    pub fn token_request(&self, token_endpoint: &str, grant: TokenGrant<'_>) -> HttpRequest {
        let (kind, pairs, auth_at, idempotent) = match grant {
            TokenGrant::AuthorizationCode {
                code,
                verifier,
                redirect_uri,
            } => (
                RequestKind::Token,
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", code.expose_secret()),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier.expose_secret()),
                ],
                3,
                false,
            ),
            TokenGrant::RefreshToken {
                refresh_token,
                scope,
            } => {
                let mut pairs = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose_secret()),
                ];
                if let Some(scope) = scope {
                    pairs.push(("scope", scope));
                }
                (RequestKind::Refresh, pairs, 2, false)
            }
            TokenGrant::DeviceCode { device_code } => (
                RequestKind::Token,
                vec![
                    ("grant_type", DEVICE_CODE_GRANT),
                    ("device_code", device_code.expose_secret()),
                ],
                2,
                true,
            ),
        };
        self.form_request(kind, token_endpoint, pairs, auth_at)
            .idempotent(idempotent)
    }

    /// The device authorization request (RFC 8628 §3.1). Safe to replay: a replay
    /// only creates another, unused device code.
    pub fn device_authorization_request(&self, endpoint: &str, scopes: &[String]) -> HttpRequest {
        let scope = scopes.join(" ");
        let mut pairs = Vec::new();
        if !scope.is_empty() {
            pairs.push(("scope", scope.as_str()));
        }
        self.form_request(RequestKind::DeviceAuthorization, endpoint, pairs, 0)
            .idempotent(true)
    }

    /// A revocation request for one token (RFC 7009 §2.1); idempotent.
    pub fn token_revocation_request(
        &self,
        endpoint: &str,
        token: &str,
        hint: TokenTypeHint,
    ) -> HttpRequest {
        self.form_request(
            RequestKind::Revocation,
            endpoint,
            vec![("token", token), ("token_type_hint", hint.as_str())],
            2,
        )
        .idempotent(true)
    }

    /// The revocation request that best ends a session (RFC 7009): the refresh
    /// token if there is one (which should also invalidate its access tokens, §2.1),
    /// else the access token.
    pub fn revocation_request(&self, endpoint: &str, tokens: &TokenSet) -> HttpRequest {
        match &tokens.refresh_token {
            Some(rt) => self.token_revocation_request(
                endpoint,
                rt.expose_secret(),
                TokenTypeHint::RefreshToken,
            ),
            None => self.token_revocation_request(
                endpoint,
                tokens.access_token.expose_secret(),
                TokenTypeHint::AccessToken,
            ),
        }
    }

    /// Parses a token endpoint response ([`crate::token::parse_token_response`]) and
    /// applies the server's quirks to it ([`Quirks::normalize`]).
    pub fn parse_token_response(
        &self,
        response: &HttpResponse,
        now: Timestamp,
    ) -> Result<TokenEndpointResponse, Error> {
        crate::token::parse_token_response(response, now).map(|r| self.quirks.normalize(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkce::PkceVerifier;
    use crate::secret::{AuthorizationCode, DeviceCode, RefreshToken};

    fn body(r: &HttpRequest) -> String {
        String::from_utf8(r.body.clone()).unwrap()
    }

    #[test]
    fn negotiation_follows_the_metadata() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        use ClientAuthMethod::*;
        assert_eq!(
            ClientAuthMethod::negotiate(false, Option::None, Option::None),
            Ok(None)
        );
        // RFC 8414 §2: no list means client_secret_basic.
        assert_eq!(
            ClientAuthMethod::negotiate(true, Option::None, Option::None),
            Ok(ClientSecretBasic)
        );
        let post = list(&["client_secret_post", "private_key_jwt"]);
        assert_eq!(
            ClientAuthMethod::negotiate(true, Option::None, Some(&post)),
            Ok(ClientSecretPost)
        );
        let both = list(&["client_secret_post", "client_secret_basic"]);
        assert_eq!(
            ClientAuthMethod::negotiate(true, Option::None, Some(&both)),
            Ok(ClientSecretBasic)
        );
        assert_eq!(
            ClientAuthMethod::negotiate(true, Some(ClientSecretPost), Some(&both)),
            Ok(ClientSecretPost)
        );
        let jwt = list(&["private_key_jwt"]);
        let e = ClientAuthMethod::negotiate(true, Option::None, Some(&jwt)).unwrap_err();
        assert!(e.to_string().contains("it lists: private_key_jwt"), "{e}");
        assert!(ClientAuthMethod::negotiate(true, Some(ClientSecretBasic), Some(&post)).is_err());
        assert_eq!(
            ClientAuthMethod::negotiate(false, Some(ClientSecretPost), Option::None),
            Ok(None)
        );
        assert!(ClientAuthMethod::negotiate(true, Some(None), Option::None).is_err());
        for m in [None, ClientSecretBasic, ClientSecretPost] {
            assert_eq!(ClientAuthMethod::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn the_method_follows_the_servers_list_once_known() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let client = Client::new("cli").with_secret("s");
        // Before the metadata is known: RFC 8414 §2's default.
        assert_eq!(client.auth_method(), ClientAuthMethod::ClientSecretBasic);
        let post = client
            .for_server(Some(&list(&["client_secret_post"])))
            .unwrap();
        assert_eq!(post.auth_method(), ClientAuthMethod::ClientSecretPost);
        let e = client
            .for_server(Some(&list(&["private_key_jwt"])))
            .unwrap_err();
        assert!(e.to_string().contains("it lists: private_key_jwt"), "{e}");
        // A preference (a preset's) is kept without metadata, checked against it.
        let preferred = Client::new("cli")
            .prefer_auth(ClientAuthMethod::ClientSecretPost)
            .with_secret("s");
        assert_eq!(preferred.auth_method(), ClientAuthMethod::ClientSecretPost);
        assert_eq!(
            preferred.for_server(None).unwrap().auth_method(),
            ClientAuthMethod::ClientSecretPost
        );
        assert!(
            preferred
                .for_server(Some(&list(&["client_secret_basic"])))
                .is_err()
        );
        // A public client stays public whatever the server lists.
        let public = Client::new("cli").for_server(Some(&list(&["client_secret_basic"])));
        assert_eq!(public.unwrap().auth_method(), ClientAuthMethod::None);
    }

    #[test]
    fn basic_sends_the_encoded_pair_in_the_header_only() {
        let client = Client::new("my cli").with_secret("s:e/c");
        assert_eq!(client.auth_method(), ClientAuthMethod::ClientSecretBasic);
        let rt = RefreshToken::new("r");
        let req = client.token_request(
            "https://as/token",
            TokenGrant::RefreshToken {
                refresh_token: &rt,
                scope: Some("read"),
            },
        );
        assert_eq!(
            body(&req),
            "grant_type=refresh_token&refresh_token=r&scope=read"
        );
        let header = req.header("authorization").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        // RFC 6749 §2.3.1: form-encoded before base64 (space → `+`, `:` → `%3A`).
        assert_eq!(String::from_utf8(decoded).unwrap(), "my+cli:s%3Ae%2Fc");
        assert!(!format!("{req:?} {client:?}").contains("s:e/c"));
    }

    #[test]
    fn extra_params_go_to_their_kind_and_never_replace_ours() {
        let client = Client::new("cli")
            .param(RequestKind::DeviceAuthorization, "audience", "https://api")
            .param(RequestKind::DeviceAuthorization, "client_id", "evil")
            .param(RequestKind::Token, "resource", "https://r")
            .param(RequestKind::Token, "grant_type", "password")
            .param(RequestKind::Revocation, "vendor", "x");
        let req =
            client.device_authorization_request("https://as/device", &["a".into(), "b".into()]);
        assert_eq!(
            body(&req),
            "client_id=cli&scope=a+b&audience=https%3A%2F%2Fapi"
        );
        assert!(req.idempotent);
        let dc = DeviceCode::new("d");
        let req = client.token_request(
            "https://as/token",
            TokenGrant::DeviceCode { device_code: &dc },
        );
        assert_eq!(
            body(&req),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d&client_id=cli&resource=https%3A%2F%2Fr"
        );
        let code = AuthorizationCode::new("c");
        let verifier = PkceVerifier::from_entropy(&[1; 32]);
        let req = client.token_request(
            "https://as/token",
            TokenGrant::AuthorizationCode {
                code: &code,
                verifier: &verifier,
                redirect_uri: "http://127.0.0.1:1/callback",
            },
        );
        let b = body(&req);
        assert!(
            b.starts_with("grant_type=authorization_code&code=c&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback&client_id=cli&code_verifier=")
                && b.ends_with("&resource=https%3A%2F%2Fr"),
            "{b}"
        );
        assert!(!req.idempotent);
        let req =
            client.token_revocation_request("https://as/revoke", "t", TokenTypeHint::RefreshToken);
        assert_eq!(
            body(&req),
            "token=t&token_type_hint=refresh_token&client_id=cli&vendor=x"
        );
        let post = Client::new("cli")
            .with_secret("sec")
            .prefer_auth(ClientAuthMethod::ClientSecretPost);
        let req =
            post.token_revocation_request("https://as/revoke", "t", TokenTypeHint::AccessToken);
        assert_eq!(
            body(&req),
            "token=t&token_type_hint=access_token&client_id=cli&client_secret=sec"
        );
        assert!(req.header("authorization").is_none());
    }
}
