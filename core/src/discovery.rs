//! Authorization server discovery (RFC 8414, OpenID Connect Discovery 1.0).
//!
//! [`discovery_urls`] gives the well-known URLs to try in order; [`parse_metadata`]
//! reads the document and checks that its `issuer` is the one configured (RFC 8414
//! §3.3 — a mix-up defence), that it names a token endpoint (required by RFC 8414 §2
//! for every grant cliauth uses), and that every endpoint is `https` (or `http` on
//! loopback, for development servers).
//!
//! **One issuer rule**, [`same_issuer`]: two issuer identifiers are the same only when
//! they are identical strings — no case folding, no trailing-`/` tolerance (RFC 8414
//! §3.3 "MUST be identical", RFC 9207 §2.4 "simple string comparison"). Discovery,
//! the RFC 9207 `iss` check of the authorization response and the issuer recorded in
//! a profile all use it, so `https://as.example` and `https://as.example/` are two
//! issuers everywhere. (Building the well-known URL drops a terminating `/`, as RFC
//! 8414 §3.1 says; that is URL construction, not identity.)
//!
//! ```
//! use cliauth_core::discovery::discovery_urls;
//! assert_eq!(
//!     discovery_urls("https://as.example/tenant").unwrap(),
//!     vec![
//!         "https://as.example/.well-known/oauth-authorization-server/tenant".to_string(),
//!         "https://as.example/tenant/.well-known/openid-configuration".to_string(),
//!     ]
//! );
//! ```

use crate::encoding::{is_loopback_host, split_url};
use crate::error::{Error, sanitize_server_text};
use crate::http::{HttpResponse, MAX_RESPONSE_BODY, api_error};
use crate::json::Value;
use crate::time::Timestamp;

/// Checks that a URL is `https`, or `http` on a loopback host, without credentials or
/// fragment.
pub fn check_endpoint_url(url: &str) -> Result<(), String> {
    let parts = split_url(url).ok_or_else(|| "is not an absolute http(s) URL".to_string())?;
    if parts.fragment.is_some() {
        return Err("must not have a fragment".into());
    }
    let https = parts.scheme.eq_ignore_ascii_case("https");
    if !https && !is_loopback_host(parts.host) {
        return Err("must use https (http is allowed only on loopback)".into());
    }
    Ok(())
}

/// The discovery URLs for an issuer: RFC 8414 first (well-known segment inserted
/// before the issuer's path), then OpenID Connect (appended).
pub fn discovery_urls(issuer: &str) -> Result<Vec<String>, Error> {
    check_endpoint_url(issuer)
        .map_err(|reason| Error::invalid_config(format!("the issuer {reason}")))?;
    let parts = split_url(issuer).ok_or_else(|| Error::invalid_config("invalid issuer"))?;
    if parts.query.is_some() {
        return Err(Error::invalid_config("the issuer must not have a query"));
    }
    let origin = match parts.port {
        Some(p) => format!("{}://{}:{p}", parts.scheme, parts.host),
        None => format!("{}://{}", parts.scheme, parts.host),
    };
    let path = parts.path.trim_end_matches('/');
    Ok(vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ])
}

/// The metadata cliauth uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// For browser logins.
    pub authorization_endpoint: Option<String>,
    /// For every grant. Always `Some` in what [`parse_metadata`] returns (a document
    /// without one is refused).
    pub token_endpoint: Option<String>,
    /// For the device flow (RFC 8628 §4).
    pub device_authorization_endpoint: Option<String>,
    /// For logout (RFC 7009, RFC 8414 §2).
    pub revocation_endpoint: Option<String>,
    /// OpenID userinfo, used by `status` to name the user.
    pub userinfo_endpoint: Option<String>,
    /// Scopes the server supports.
    pub scopes_supported: Option<Vec<String>>,
    /// Grant types the server supports.
    pub grant_types_supported: Option<Vec<String>>,
    /// PKCE methods the server supports.
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// How clients may authenticate at the token endpoint (RFC 8414 §2; absent means
    /// `client_secret_basic`), for [`crate::client::ClientAuthMethod::negotiate`].
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Whether the server sends `iss` in authorization responses (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
}

/// Whether two issuer identifiers name the same authorization server: identical
/// strings (RFC 8414 §3.3, RFC 9207 §2.4). The one rule cliauth applies to issuers;
/// see the module docs.
pub fn same_issuer(a: &str, b: &str) -> bool {
    a == b
}

/// Parses a discovery document and checks that its `issuer` is identical to
/// `expected_issuer` ([`same_issuer`]); the returned [`ServerMetadata::issuer`] is
/// then the identifier to expect in RFC 9207 `iss` parameters and to record in
/// profiles.
pub fn parse_metadata(
    response: &HttpResponse,
    expected_issuer: &str,
    now: Timestamp,
) -> Result<ServerMetadata, Error> {
    let body = &response.body;
    if body.len() > MAX_RESPONSE_BODY {
        return Err(crate::http::body_too_large(MAX_RESPONSE_BODY));
    }
    if let Some(e) = api_error(response, now) {
        return Err(match e {
            Error::NotFound { .. } => Error::NotFound {
                what: Some("the discovery document".into()),
            },
            other => other,
        });
    }
    let map = crate::token::json_object(
        response,
        body,
        "discovery answered",
        "the discovery document",
    )?;
    let string = |name: &'static str| -> Result<Option<String>, Error> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::protocol(format!("`{name}` is not a string"), body)),
        }
    };
    let endpoint = |name: &'static str| -> Result<Option<String>, Error> {
        let url = string(name)?;
        if let Some(u) = &url {
            check_endpoint_url(u)
                .map_err(|reason| Error::protocol(format!("`{name}` {reason}"), body))?;
        }
        Ok(url)
    };
    let list = |name: &'static str| -> Result<Option<Vec<String>>, Error> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| Error::protocol(format!("`{name}` has a non-string entry"), body)),
            Some(_) => Err(Error::protocol(format!("`{name}` is not a list"), body)),
        }
    };
    let issuer = string("issuer")?
        .ok_or_else(|| Error::protocol("the discovery document has no `issuer`", body))?;
    if !same_issuer(&issuer, expected_issuer) {
        return Err(Error::IssuerMismatch {
            expected: expected_issuer.to_string(),
            found: Some(sanitize_server_text(&issuer)),
        });
    }
    // RFC 8414 §2: REQUIRED unless only the implicit grant is supported, which
    // cliauth never uses. Without it no login or refresh can work; that is the
    // server's mistake, not the CLI's configuration.
    let token_endpoint = endpoint("token_endpoint")?.ok_or_else(|| {
        Error::protocol(
            "the discovery document has no `token_endpoint` (RFC 8414 §2)",
            body,
        )
    })?;
    Ok(ServerMetadata {
        issuer,
        authorization_endpoint: endpoint("authorization_endpoint")?,
        token_endpoint: Some(token_endpoint),
        device_authorization_endpoint: endpoint("device_authorization_endpoint")?,
        revocation_endpoint: endpoint("revocation_endpoint")?,
        userinfo_endpoint: endpoint("userinfo_endpoint")?,
        scopes_supported: list("scopes_supported")?,
        grant_types_supported: list("grant_types_supported")?,
        code_challenge_methods_supported: list("code_challenge_methods_supported")?,
        token_endpoint_auth_methods_supported: list("token_endpoint_auth_methods_supported")?,
        authorization_response_iss_parameter_supported: map
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls() {
        assert_eq!(
            discovery_urls("http://127.0.0.1:3000/").unwrap(),
            vec![
                "http://127.0.0.1:3000/.well-known/oauth-authorization-server".to_string(),
                "http://127.0.0.1:3000/.well-known/openid-configuration".to_string()
            ]
        );
        assert!(discovery_urls("http://as.example").is_err());
        assert!(discovery_urls("https://as.example/?x=1").is_err());
        assert!(discovery_urls("as.example").is_err());
    }

    #[test]
    fn metadata() {
        let doc = json!({
            "issuer": "https://as.example",
            "authorization_endpoint": "https://as.example/auth",
            "token_endpoint": "https://as.example/token",
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true
        });
        let m = parse_metadata(
            &HttpResponse::json(200, &doc),
            "https://as.example",
            Timestamp::EPOCH,
        )
        .unwrap();
        // A trailing `/` is another issuer (RFC 8414 §3.3: identical).
        let e = parse_metadata(
            &HttpResponse::json(200, &doc),
            "https://as.example/",
            Timestamp::EPOCH,
        )
        .unwrap_err();
        assert_eq!(
            e,
            Error::IssuerMismatch {
                expected: "https://as.example/".into(),
                found: Some("https://as.example".into())
            }
        );
        let hint = e.hint(&crate::AppContext::new("acme", "Acme")).unwrap();
        assert!(
            hint.contains("names itself `https://as.example`") && hint.contains("trailing `/`"),
            "{hint}"
        );
        assert_eq!(
            m.token_endpoint.as_deref(),
            Some("https://as.example/token")
        );
        assert!(m.authorization_response_iss_parameter_supported);
        let e = parse_metadata(
            &HttpResponse::json(200, &doc),
            "https://other.example",
            Timestamp::EPOCH,
        )
        .unwrap_err();
        assert!(matches!(e, Error::IssuerMismatch { .. }));
        let mut bad = doc.clone();
        bad["token_endpoint"] = json!("http://evil.example/token");
        assert!(matches!(
            parse_metadata(
                &HttpResponse::json(200, &bad),
                "https://as.example",
                Timestamp::EPOCH
            ),
            Err(Error::Protocol { .. })
        ));
        let mut no_token = doc.clone();
        no_token.as_object_mut().unwrap().remove("token_endpoint");
        let e = parse_metadata(
            &HttpResponse::json(200, &no_token),
            "https://as.example",
            Timestamp::EPOCH,
        )
        .unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().contains("no `token_endpoint`")),
            ("protocol_error", true)
        );
        let e = parse_metadata(
            &HttpResponse::new(404),
            "https://as.example",
            Timestamp::EPOCH,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 5);
    }
}
