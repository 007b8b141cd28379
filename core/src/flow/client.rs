//! The OAuth client as its requests name it: one place per request kind.

use crate::http::HttpRequest;
use crate::revoke::revoke_token_set;
use crate::token::{TokenGrant, TokenSet, token_request};

/// A public client (RFC 8252) and the requests it makes. Every flow builds its
/// device authorization, token, refresh and revocation requests here, so per-kind
/// parameters and client authentication have one place to go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Client {
    /// The client id registered for the CLI or page.
    pub client_id: String,
}

impl Client {
    /// A client.
    pub fn new(client_id: impl Into<String>) -> Self {
        Client {
            client_id: client_id.into(),
        }
    }

    /// A token request (authorization code, device code or refresh token).
    pub fn token_request(&self, token_endpoint: &str, grant: TokenGrant<'_>) -> HttpRequest {
        token_request(token_endpoint, &self.client_id, grant)
    }

    /// The device authorization request (RFC 8628 §3.1).
    pub fn device_authorization_request(&self, endpoint: &str, scopes: &[String]) -> HttpRequest {
        crate::device::device_authorization_request(endpoint, &self.client_id, scopes)
    }

    /// The revocation request that best ends a session (RFC 7009).
    pub fn revocation_request(&self, endpoint: &str, tokens: &TokenSet) -> HttpRequest {
        revoke_token_set(endpoint, &self.client_id, tokens)
    }
}
