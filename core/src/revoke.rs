//! Token revocation (RFC 7009).
//!
//! `logout` revokes the refresh token (which, per RFC 7009 §2.1, should also
//! invalidate its access tokens) or the access token when there is no refresh token.
//! Revocation is idempotent, so the request may be retried.

use crate::client::Client;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse, api_error};
use crate::time::Timestamp;
use crate::token::TokenSet;

/// Which kind of token is revoked (`token_type_hint`, RFC 7009 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

/// Builds a revocation request for a public client without extra parameters:
/// [`Client::token_revocation_request`] for [`Client::new`].
pub fn revocation_request(
    endpoint: &str,
    client_id: &str,
    token: &str,
    hint: TokenTypeHint,
) -> HttpRequest {
    Client::new(client_id).token_revocation_request(endpoint, token, hint)
}

/// The request that best ends a session of a public client: revoke the refresh
/// token if there is one, else the access token ([`Client::revocation_request`],
/// which flows use).
pub fn revoke_token_set(endpoint: &str, client_id: &str, tokens: &TokenSet) -> HttpRequest {
    Client::new(client_id).revocation_request(endpoint, tokens)
}

/// Interprets the revocation response: 200 is success (also for unknown or already
/// invalid tokens, RFC 7009 §2.2); an OAuth error such as `unsupported_token_type`
/// is [`Error::AuthorizationFailed`]; 503 and other failures map as API errors.
pub fn parse_revocation_response(response: &HttpResponse, now: Timestamp) -> Result<(), Error> {
    if response.is_success() {
        return Ok(());
    }
    if response.status == 400
        && let Ok(crate::token::TokenEndpointResponse::Error(e)) =
            crate::token::parse_token_response(response, now)
    {
        return Err(e.into_error());
    }
    Err(api_error(response, now).unwrap_or(Error::Server {
        status: response.status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AccessToken, RefreshToken};

    #[test]
    fn builds_and_parses() {
        let tokens = TokenSet {
            access_token: AccessToken::new("at"),
            token_type: "Bearer".into(),
            expires_at: None,
            refresh_token: Some(RefreshToken::new("rt")),
            scope: None,
            id_token: None,
            obtained_at: Timestamp::EPOCH,
        };
        let req = revoke_token_set("https://as/revoke", "cli", &tokens);
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            "token=rt&token_type_hint=refresh_token&client_id=cli"
        );
        assert!(req.idempotent);
        assert_eq!(
            parse_revocation_response(&HttpResponse::new(200), Timestamp::EPOCH),
            Ok(())
        );
        let e = parse_revocation_response(
            &HttpResponse::json(400, &serde_json::json!({"error": "unsupported_token_type"})),
            Timestamp::EPOCH,
        )
        .unwrap_err();
        assert_eq!(e.code(), "authorization_failed");
        assert_eq!(
            parse_revocation_response(&HttpResponse::new(503), Timestamp::EPOCH),
            Err(Error::Server { status: 503 })
        );
    }
}
