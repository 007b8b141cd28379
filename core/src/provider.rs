//! Provider presets: the authorization servers CLIs sit on, as one table of data.
//!
//! [`PRESETS`] lists one [`Preset`] per provider — GitHub, Google, Microsoft Entra,
//! Auth0, Okta, Keycloak, Amazon Cognito and a generic OpenID Connect / RFC 8414
//! server. A preset is data, not code: URL templates for the issuer, the discovery
//! document and the endpoints discovery does not give; extra parameters per request
//! kind; whether a client secret is needed and how it is sent; default scopes; and
//! the server's [`Quirks`]. [`Preset::configure`] fills the templates from a few
//! variables (`tenant`, `domain`, `realm`, …) into a [`ProviderConfig`], which the
//! native `Authenticator` applies. Every quirk a preset names is handled by code
//! that is not specific to that provider: [`Quirks::normalize`] for responses,
//! [`crate::client::Client`] for requests, [`crate::authorize::LoopbackHost`] for
//! the redirect.
//!
//! What does not need a quirk because the generic code already accepts it: errors
//! with status 200 (GitHub) or 403/428 (Auth0, Google) — any JSON body with an
//! `error` is an OAuth error ([`crate::token::parse_token_response`]); a device
//! authorization answer with `error` ([`crate::device::parse_device_authorization`]);
//! `verification_url` for `verification_uri` (Google); `expires_in` as a string
//! (Entra, GitHub); the `message` of a device authorization answer (Entra); a token
//! response without `scope`, which means the requested scope (RFC 6749 §5.1); a
//! token response without `refresh_token` (GitHub OAuth apps, no refresh).
//!
//! ```
//! use cliauth_core::provider::{preset, Discovery};
//! let entra = preset("entra").unwrap();
//! let config = entra.configure(&[("tenant", "organizations")]).unwrap();
//! // Multi-tenant metadata names its issuer with a `{tenantid}` placeholder; the
//! // preset expects exactly that string (discovery compares issuers exactly).
//! assert_eq!(
//!     config.issuer.as_deref(),
//!     Some("https://login.microsoftonline.com/{tenantid}/v2.0")
//! );
//! assert_eq!(
//!     config.discovery_urls,
//!     vec!["https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"]
//! );
//! let github = preset("github").unwrap().configure(&[]).unwrap();
//! assert_eq!(github.endpoints.token.as_deref(), Some("https://github.com/login/oauth/access_token"));
//! assert!(github.discovery_urls.is_empty());
//! ```

use std::collections::BTreeMap;

use crate::client::{ClientAuthMethod, RequestKind};
use crate::discovery::{check_endpoint_url, discovery_urls};
use crate::error::Error;
use crate::token::{OAuthError, TokenEndpointResponse};

/// How a server's answers differ from the RFCs in ways that need a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quirks {
    /// The separator of the `scope` in token responses: `' '` (RFC 6749 §3.3) or
    /// `','` (GitHub). Scopes are always sent space-separated.
    pub scope_separator: char,
    /// Error codes the server uses instead of a standard one, as (theirs, standard):
    /// Entra's `authorization_declined` is RFC 8628's `access_denied`.
    pub error_aliases: &'static [(&'static str, &'static str)],
    /// The host of the loopback redirect URI.
    pub redirect_host: RedirectHost,
}

impl Quirks {
    /// A server that follows the RFCs.
    pub const NONE: Quirks = Quirks {
        scope_separator: ' ',
        error_aliases: &[],
        redirect_host: RedirectHost::LoopbackIp,
    };

    /// A token endpoint answer in standard form: the scope space-separated, aliased
    /// error codes replaced by their standard names (the description is kept).
    pub fn normalize(&self, response: TokenEndpointResponse) -> TokenEndpointResponse {
        match response {
            TokenEndpointResponse::Tokens(mut t) => {
                if self.scope_separator != ' ' {
                    t.scope = t.scope.map(|s| {
                        s.split(self.scope_separator)
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    });
                }
                TokenEndpointResponse::Tokens(t)
            }
            TokenEndpointResponse::Error(e) => {
                TokenEndpointResponse::Error(self.normalize_error(e))
            }
        }
    }

    /// An OAuth error with an aliased code replaced by its standard name.
    pub fn normalize_error(&self, mut error: OAuthError) -> OAuthError {
        if let Some((_, standard)) = self.error_aliases.iter().find(|(a, _)| *a == error.error) {
            error.error = (*standard).to_string();
        }
        error
    }
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks::NONE
    }
}

/// The host named in the loopback redirect URI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedirectHost {
    /// An IP literal, `127.0.0.1` (or `[::1]` where only IPv6 loopback exists), as
    /// RFC 8252 §7.3 and §8.3 recommend; any port is accepted by the server.
    #[default]
    LoopbackIp,
    /// `localhost`, for servers that accept only `http://localhost` as a plain-http
    /// redirect (Amazon Cognito). Such servers also match the port exactly, so the
    /// app must listen on the registered port.
    Localhost,
}

/// How much of a preset's variable is checked, and how it is written into URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// A host or URL prefix (`github.com`, `https://sso.example/auth`,
    /// `http://127.0.0.1:8080`): `https://` is assumed without a scheme, a trailing
    /// `/` is dropped, and the result must be https (or http on loopback) without
    /// query or fragment.
    Base,
    /// One path segment (`organizations`, a tenant id, a realm): unreserved
    /// characters only (RFC 3986 §2.3).
    Segment,
    /// A parameter value (an Auth0 `audience`): any printable text.
    Value,
    /// A full issuer URL (generic servers): https or loopback http.
    Url,
}

/// A variable of a preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var {
    /// Its name (`tenant`).
    pub name: &'static str,
    /// What it is, for error messages and docs.
    pub about: &'static str,
    /// How it is checked.
    pub kind: VarKind,
    /// Its value when not given; may name variables declared before it (`{region}`).
    /// `None` with `required: false` leaves the variable unset (templates that use
    /// it are dropped).
    pub default: Option<&'static str>,
    /// Whether it must be given (when it has no default).
    pub required: bool,
}

/// Where a preset's endpoints come from besides its explicit templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// No discovery: every endpoint is a template (GitHub).
    None,
    /// RFC 8414 then OpenID Connect discovery for the issuer
    /// ([`crate::discovery::discovery_urls`]).
    Standard,
    /// Only the OpenID Connect document `{base}/.well-known/openid-configuration`,
    /// with this template as the base (the documented location; the RFC 8414 URL of
    /// these servers is not documented and may answer anything).
    OpenId(&'static str),
}

/// Endpoint URL templates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointTemplates {
    /// Authorization endpoint.
    pub authorization: Option<&'static str>,
    /// Token endpoint.
    pub token: Option<&'static str>,
    /// Device authorization endpoint.
    pub device_authorization: Option<&'static str>,
    /// Revocation endpoint.
    pub revocation: Option<&'static str>,
    /// Where `status` asks who the token belongs to (OpenID userinfo, GitHub's
    /// `/user`).
    pub userinfo: Option<&'static str>,
}

impl EndpointTemplates {
    const NONE: EndpointTemplates = EndpointTemplates {
        authorization: None,
        token: None,
        device_authorization: None,
        revocation: None,
        userinfo: None,
    };
}

/// Whether a client secret is part of the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretUse {
    /// Public clients only.
    Never,
    /// Only some clients or flows need one (GitHub: the web flow and GitHub App
    /// refreshes, not the device flow).
    Optional,
    /// The provider's native clients come with one and the token endpoint requires
    /// it (Google's desktop and TV clients). It is not a secret (RFC 8252 §8.5).
    Required,
}

/// What a provider offers, for docs and for clear errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Support {
    /// Authorization code + PKCE through the loopback server.
    pub browser: bool,
    /// The device authorization grant (RFC 8628).
    pub device: bool,
    /// Refresh tokens, in the provider's words.
    pub refresh: &'static str,
    /// Token revocation at logout (RFC 7009); without it logout is local only.
    pub revocation: bool,
}

/// One provider (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The id used in configuration (`DEMO_PROVIDER=github`).
    pub id: &'static str,
    /// The provider's name.
    pub name: &'static str,
    /// The provider documentation the preset follows.
    pub docs: &'static [&'static str],
    /// The variables its templates use.
    pub vars: &'static [Var],
    /// The issuer identifier template: what discovery must find, byte for byte
    /// (RFC 8414 §3.3), and what profiles record. `None`: the provider has none.
    pub issuer: Option<&'static str>,
    /// Issuer templates for particular variable values, as (variable, value,
    /// template); the first match replaces [`issuer`](Self::issuer). Entra's
    /// multi-tenant authorities name their issuer with a placeholder.
    pub issuer_when: &'static [(&'static str, &'static str, &'static str)],
    /// Where the other endpoints come from.
    pub discovery: Discovery,
    /// Endpoints given explicitly; they override discovered ones.
    pub endpoints: EndpointTemplates,
    /// Extra parameters as (kind, name, value template); dropped when the template
    /// names an unset variable.
    pub params: &'static [(RequestKind, &'static str, &'static str)],
    /// Whether a client secret is needed.
    pub client_secret: SecretUse,
    /// How a secret is sent when the server publishes no metadata to choose from.
    pub client_auth: Option<ClientAuthMethod>,
    /// Scopes requested when the app configures none.
    pub scopes: &'static [&'static str],
    /// How the server differs from the RFCs.
    pub quirks: Quirks,
    /// What it offers.
    pub support: Support,
}

/// A preset with its variables filled in: what an authenticator needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The preset.
    pub preset: &'static Preset,
    /// The issuer identifier discovery must find, if the provider has one.
    pub issuer: Option<String>,
    /// Discovery URLs to try in order (empty: none).
    pub discovery_urls: Vec<String>,
    /// Explicit endpoints (they override discovered ones).
    pub endpoints: ProviderEndpoints,
    /// Extra parameters per request kind.
    pub params: Vec<(RequestKind, String, String)>,
    /// How a secret is sent when the server publishes no metadata.
    pub client_auth: Option<ClientAuthMethod>,
    /// Scopes requested when the app configures none.
    pub scopes: Vec<String>,
    /// The server's quirks.
    pub quirks: Quirks,
}

/// Endpoints of a [`ProviderConfig`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderEndpoints {
    /// Authorization endpoint.
    pub authorization: Option<String>,
    /// Token endpoint.
    pub token: Option<String>,
    /// Device authorization endpoint.
    pub device_authorization: Option<String>,
    /// Revocation endpoint.
    pub revocation: Option<String>,
    /// Userinfo (or equivalent) endpoint.
    pub userinfo: Option<String>,
}

const GITHUB_DOCS: &[&str] = &[
    "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps",
    "https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app",
    "https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens",
];

/// Every preset, in documentation order.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "github",
        name: "GitHub",
        docs: GITHUB_DOCS,
        vars: &[
            Var {
                name: "host",
                about: "GitHub's web host (GitHub Enterprise Server: your host)",
                kind: VarKind::Base,
                default: Some("github.com"),
                required: false,
            },
            Var {
                name: "api",
                about: "GitHub's REST API base (GitHub Enterprise Server: `HOST/api/v3`)",
                kind: VarKind::Base,
                default: Some("api.github.com"),
                required: false,
            },
        ],
        issuer: None,
        issuer_when: &[],
        discovery: Discovery::None,
        endpoints: EndpointTemplates {
            authorization: Some("{host}/login/oauth/authorize"),
            token: Some("{host}/login/oauth/access_token"),
            device_authorization: Some("{host}/login/device/code"),
            revocation: None,
            userinfo: Some("{api}/user"),
        },
        params: &[],
        client_secret: SecretUse::Optional,
        client_auth: Some(ClientAuthMethod::ClientSecretPost),
        scopes: &[],
        quirks: Quirks {
            scope_separator: ',',
            // GitHub's names for RFC 6749 §5.2's errors: a refused refresh token must
            // be `invalid_grant` for the refresh protocol to re-read storage first.
            error_aliases: &[
                ("bad_refresh_token", "invalid_grant"),
                ("bad_verification_code", "invalid_grant"),
                ("incorrect_device_code", "invalid_grant"),
                ("incorrect_client_credentials", "invalid_client"),
            ],
            redirect_host: RedirectHost::LoopbackIp,
        },
        support: Support {
            browser: true,
            device: true,
            refresh: "GitHub Apps with expiring user tokens (8 h, refresh token rotated); OAuth apps' tokens do not expire and have no refresh token",
            revocation: false,
        },
    },
    Preset {
        id: "google",
        name: "Google",
        docs: &[
            "https://developers.google.com/identity/protocols/oauth2/native-app",
            "https://developers.google.com/identity/protocols/oauth2/limited-input-device",
            "https://developers.google.com/identity/openid-connect/openid-connect#discovery",
        ],
        vars: &[Var {
            name: "authority",
            about: "Google's OpenID issuer",
            kind: VarKind::Base,
            default: Some("accounts.google.com"),
            required: false,
        }],
        issuer: Some("{authority}"),
        issuer_when: &[],
        discovery: Discovery::OpenId("{authority}"),
        endpoints: EndpointTemplates::NONE,
        params: &[],
        client_secret: SecretUse::Required,
        client_auth: None,
        scopes: &["openid", "email"],
        quirks: Quirks::NONE,
        support: Support {
            browser: true,
            device: true,
            refresh: "refresh token issued with the code and device flows, not rotated",
            revocation: true,
        },
    },
    Preset {
        id: "entra",
        name: "Microsoft Entra ID",
        docs: &[
            "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow",
            "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code",
            "https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc",
        ],
        vars: &[
            Var {
                name: "tenant",
                about: "`common`, `organizations`, `consumers`, or a tenant id (GUID)",
                kind: VarKind::Segment,
                default: Some("organizations"),
                required: false,
            },
            Var {
                name: "authority",
                about: "the cloud's login host (`login.microsoftonline.us`, …)",
                kind: VarKind::Base,
                default: Some("login.microsoftonline.com"),
                required: false,
            },
        ],
        issuer: Some("{authority}/{tenant}/v2.0"),
        issuer_when: &[
            ("tenant", "common", "{authority}/{tenantid}/v2.0"),
            ("tenant", "organizations", "{authority}/{tenantid}/v2.0"),
            (
                "tenant",
                "consumers",
                "{authority}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            ),
        ],
        discovery: Discovery::OpenId("{authority}/{tenant}/v2.0"),
        endpoints: EndpointTemplates::NONE,
        params: &[],
        client_secret: SecretUse::Never,
        client_auth: None,
        scopes: &["openid", "profile", "offline_access"],
        quirks: Quirks {
            scope_separator: ' ',
            error_aliases: &[("authorization_declined", "access_denied")],
            redirect_host: RedirectHost::LoopbackIp,
        },
        support: Support {
            browser: true,
            device: true,
            refresh: "with the `offline_access` scope; the refresh token is replaced on every refresh",
            revocation: false,
        },
    },
    Preset {
        id: "auth0",
        name: "Auth0",
        docs: &[
            "https://auth0.com/docs/get-started/authentication-and-authorization-flow/device-authorization-flow/call-your-api-using-the-device-authorization-flow",
            "https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow-with-pkce/call-your-api-using-the-authorization-code-flow-with-pkce",
            "https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation",
            "https://auth0.com/docs/api/authentication#revoke-refresh-token",
        ],
        vars: &[
            Var {
                name: "domain",
                about: "your tenant's domain (`acme.us.auth0.com`) or custom domain",
                kind: VarKind::Base,
                default: None,
                required: true,
            },
            Var {
                name: "audience",
                about: "the API identifier the access token is for",
                kind: VarKind::Value,
                default: None,
                required: false,
            },
        ],
        issuer: Some("{domain}/"),
        issuer_when: &[],
        discovery: Discovery::OpenId("{domain}"),
        endpoints: EndpointTemplates {
            authorization: None,
            token: None,
            device_authorization: Some("{domain}/oauth/device/code"),
            revocation: Some("{domain}/oauth/revoke"),
            userinfo: None,
        },
        params: &[
            (RequestKind::Authorize, "audience", "{audience}"),
            (RequestKind::DeviceAuthorization, "audience", "{audience}"),
        ],
        client_secret: SecretUse::Never,
        client_auth: None,
        scopes: &["openid", "profile", "offline_access"],
        quirks: Quirks::NONE,
        support: Support {
            browser: true,
            device: true,
            refresh: "with `offline_access` and Allow Offline Access on the API; rotation when enabled",
            revocation: true,
        },
    },
    Preset {
        id: "okta",
        name: "Okta",
        docs: &[
            "https://developer.okta.com/docs/concepts/auth-servers/",
            "https://developer.okta.com/docs/guides/device-authorization-grant/main/",
            "https://developer.okta.com/docs/guides/implement-grant-type/authcodepkce/main/",
            "https://developer.okta.com/docs/guides/refresh-tokens/main/",
        ],
        vars: &[
            Var {
                name: "domain",
                about: "your Okta domain (`acme.okta.com`)",
                kind: VarKind::Base,
                default: None,
                required: true,
            },
            Var {
                name: "authorization_server",
                about: "the custom authorization server's id",
                kind: VarKind::Segment,
                default: Some("default"),
                required: false,
            },
        ],
        issuer: Some("{domain}/oauth2/{authorization_server}"),
        issuer_when: &[],
        discovery: Discovery::OpenId("{domain}/oauth2/{authorization_server}"),
        endpoints: EndpointTemplates::NONE,
        params: &[],
        client_secret: SecretUse::Never,
        client_auth: None,
        scopes: &["openid", "profile", "offline_access"],
        quirks: Quirks::NONE,
        support: Support {
            browser: true,
            device: true,
            refresh: "with `offline_access` when the app allows the refresh grant; rotation when enabled",
            revocation: true,
        },
    },
    Preset {
        id: "keycloak",
        name: "Keycloak",
        docs: &[
            "https://www.keycloak.org/securing-apps/oidc-layers",
            "https://www.keycloak.org/docs/latest/server_admin/index.html#_oauth21-support",
        ],
        vars: &[
            Var {
                name: "base",
                about: "the server's URL (`https://sso.example`, with `/auth` before Keycloak 17)",
                kind: VarKind::Base,
                default: None,
                required: true,
            },
            Var {
                name: "realm",
                about: "the realm",
                kind: VarKind::Segment,
                default: None,
                required: true,
            },
        ],
        issuer: Some("{base}/realms/{realm}"),
        issuer_when: &[],
        discovery: Discovery::OpenId("{base}/realms/{realm}"),
        endpoints: EndpointTemplates::NONE,
        params: &[],
        client_secret: SecretUse::Optional,
        client_auth: None,
        scopes: &["openid"],
        quirks: Quirks::NONE,
        support: Support {
            browser: true,
            device: true,
            refresh: "a new refresh token with every refresh",
            revocation: true,
        },
    },
    Preset {
        id: "cognito",
        name: "Amazon Cognito",
        docs: &[
            "https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-app-idp-settings.html",
            "https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html",
            "https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html",
            "https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html",
        ],
        vars: &[
            Var {
                name: "region",
                about: "the user pool's AWS region (`eu-west-1`)",
                kind: VarKind::Segment,
                default: None,
                required: true,
            },
            Var {
                name: "user_pool_id",
                about: "the user pool id (`eu-west-1_AbCdEf123`)",
                kind: VarKind::Segment,
                default: None,
                required: true,
            },
            Var {
                name: "domain",
                about: "the user pool domain (`acme.auth.eu-west-1.amazoncognito.com`) or custom domain",
                kind: VarKind::Base,
                default: None,
                required: true,
            },
            Var {
                name: "idp",
                about: "the Cognito identity provider host",
                kind: VarKind::Base,
                default: Some("cognito-idp.{region}.amazonaws.com"),
                required: false,
            },
        ],
        issuer: Some("{idp}/{user_pool_id}"),
        issuer_when: &[],
        discovery: Discovery::OpenId("{idp}/{user_pool_id}"),
        endpoints: EndpointTemplates {
            authorization: None,
            token: None,
            device_authorization: None,
            revocation: Some("{domain}/oauth2/revoke"),
            userinfo: None,
        },
        params: &[],
        client_secret: SecretUse::Optional,
        client_auth: None,
        scopes: &["openid", "email"],
        quirks: Quirks {
            scope_separator: ' ',
            error_aliases: &[],
            redirect_host: RedirectHost::Localhost,
        },
        support: Support {
            browser: true,
            device: false,
            refresh: "refresh token issued with the code flow, not rotated",
            revocation: true,
        },
    },
    Preset {
        id: "oidc",
        name: "OpenID Connect / RFC 8414 server",
        docs: &[
            "https://www.rfc-editor.org/rfc/rfc8414",
            "https://openid.net/specs/openid-connect-discovery-1_0.html",
        ],
        vars: &[Var {
            name: "issuer",
            about: "the issuer identifier, exactly as the server's metadata names it",
            kind: VarKind::Url,
            default: None,
            required: true,
        }],
        issuer: Some("{issuer}"),
        issuer_when: &[],
        discovery: Discovery::Standard,
        endpoints: EndpointTemplates::NONE,
        params: &[],
        client_secret: SecretUse::Optional,
        client_auth: None,
        scopes: &[],
        quirks: Quirks::NONE,
        support: Support {
            browser: true,
            device: true,
            refresh: "as the server issues them; rotation handled",
            revocation: true,
        },
    },
];

/// The preset with this id.
pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The ids of every preset, for help texts and errors.
pub fn preset_ids() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.id).collect()
}

fn invalid(reason: String) -> Error {
    Error::invalid_config(reason)
}

/// Fills `{name}` placeholders; `None` when one names an unset variable. Text
/// outside placeholders is copied; an unmatched `{` is copied too (Entra's
/// `{tenantid}` is not a variable and is copied as written).
fn render(template: &str, values: &BTreeMap<&str, String>, known: &[Var]) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if known.iter().any(|v| v.name == &after[..end]) => {
                out.push_str(values.get(&after[..end])?);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

fn check_var(var: &Var, raw: &str) -> Result<String, Error> {
    let value = raw.trim();
    let bad = |why: &str| invalid(format!("the provider variable `{}` {why}", var.name));
    if value.is_empty() {
        return Err(bad("is empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    match var.kind {
        VarKind::Base => {
            let with_scheme = if value.contains("://") {
                value.to_string()
            } else {
                format!("https://{value}")
            };
            let base = with_scheme.trim_end_matches('/').to_string();
            check_endpoint_url(&base).map_err(|r| bad(&r))?;
            if base.contains('?') || base.contains(char::is_whitespace) {
                return Err(bad("must be a host or URL prefix without query or spaces"));
            }
            Ok(base)
        }
        VarKind::Url => {
            check_endpoint_url(value).map_err(|r| bad(&r))?;
            if value.contains(char::is_whitespace) {
                return Err(bad("contains spaces"));
            }
            Ok(value.to_string())
        }
        VarKind::Segment => {
            if value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
                && value != "."
                && value != ".."
            {
                Ok(value.to_string())
            } else {
                Err(bad(
                    "may contain only letters, digits, `-`, `.`, `_` and `~`",
                ))
            }
        }
        VarKind::Value => Ok(value.to_string()),
    }
}

impl Preset {
    /// Whether a client secret fits this provider's native clients. A
    /// [`SecretUse::Required`] provider without one, or a [`SecretUse::Never`]
    /// provider with one (Entra refuses a secret from a public client, AADSTS700025),
    /// is [`Error::InvalidConfig`], before anything is sent.
    pub fn check_client_secret(&self, has_secret: bool) -> Result<(), Error> {
        match (self.client_secret, has_secret) {
            (SecretUse::Required, false) => Err(invalid(
                [
                    self.name,
                    " clients need their client secret (`client_secret`); for a CLI it is not a secret (RFC 8252 §8.5)",
                ]
                .concat(),
            )),
            (SecretUse::Never, true) => Err(invalid(
                [
                    self.name,
                    " native clients are public clients: configure no client secret (RFC 8252 §8.5)",
                ]
                .concat(),
            )),
            _ => Ok(()),
        }
    }

    /// Fills the preset's templates from `vars` (name, value). Unknown names,
    /// missing required variables and malformed values are
    /// [`Error::InvalidConfig`] naming the variable.
    pub fn configure(&'static self, vars: &[(&str, &str)]) -> Result<ProviderConfig, Error> {
        for (name, _) in vars {
            if !self.vars.iter().any(|v| v.name == *name) {
                let known = self.vars.iter().map(|v| v.name).collect::<Vec<_>>();
                return Err(invalid(format!(
                    "the {} preset has no variable `{name}` (it has: {})",
                    self.id,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        let mut values: BTreeMap<&str, String> = BTreeMap::new();
        for var in self.vars {
            let given = vars
                .iter()
                .rev()
                .find(|(n, _)| *n == var.name)
                .map(|(_, v)| *v);
            let raw = match (given, var.default) {
                (Some(v), _) => v.to_string(),
                (None, Some(d)) => render(d, &values, self.vars).ok_or_else(|| {
                    invalid(format!(
                        "the default of `{}` names an unset variable",
                        var.name
                    ))
                })?,
                (None, None) if var.required => {
                    return Err(invalid(format!(
                        "the {} preset needs `{}`: {}",
                        self.id, var.name, var.about
                    )));
                }
                (None, None) => continue,
            };
            values.insert(var.name, check_var(var, &raw)?);
        }
        let fill = |t: &str| render(t, &values, self.vars);
        let issuer_template = self
            .issuer_when
            .iter()
            .find(|(var, value, _)| values.get(var).is_some_and(|v| v == value))
            .map(|(_, _, t)| *t)
            .or(self.issuer);
        let issuer = issuer_template.and_then(fill);
        let discovery_urls = match self.discovery {
            Discovery::None => Vec::new(),
            Discovery::Standard => match &issuer {
                Some(i) => discovery_urls(i)?,
                None => Vec::new(),
            },
            Discovery::OpenId(base) => fill(base)
                .map(|b| vec![format!("{b}/.well-known/openid-configuration")])
                .unwrap_or_default(),
        };
        let endpoint = |t: Option<&str>| -> Result<Option<String>, Error> {
            match t.and_then(fill) {
                Some(url) => {
                    check_endpoint_url(&url).map_err(|r| {
                        invalid(format!(
                            "the {} preset builds an endpoint that {r}",
                            self.id
                        ))
                    })?;
                    Ok(Some(url))
                }
                None => Ok(None),
            }
        };
        let e = &self.endpoints;
        Ok(ProviderConfig {
            preset: self,
            issuer,
            discovery_urls,
            endpoints: ProviderEndpoints {
                authorization: endpoint(e.authorization)?,
                token: endpoint(e.token)?,
                device_authorization: endpoint(e.device_authorization)?,
                revocation: endpoint(e.revocation)?,
                userinfo: endpoint(e.userinfo)?,
            },
            params: self
                .params
                .iter()
                .filter_map(|(kind, name, value)| {
                    fill(value).map(|v| (*kind, (*name).to_string(), v))
                })
                .collect(),
            client_auth: self.client_auth,
            scopes: self.scopes.iter().map(|s| (*s).to_string()).collect(),
            quirks: self.quirks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use crate::token::TokenResponse;

    #[test]
    fn every_preset_configures_with_its_required_variables() {
        let sample = |v: &Var| match v.kind {
            VarKind::Base => "auth.example.com",
            VarKind::Url => "https://auth.example.com/tenant",
            VarKind::Segment => "tenant-1",
            VarKind::Value => "https://api.example.com",
        };
        for p in PRESETS {
            let vars: Vec<(&str, &str)> = p
                .vars
                .iter()
                .filter(|v| v.required)
                .map(|v| (v.name, sample(v)))
                .collect();
            let config = p
                .configure(&vars)
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
            assert!(
                config.endpoints.token.is_some() || !config.discovery_urls.is_empty(),
                "{}",
                p.id
            );
            assert!(!p.docs.is_empty(), "{}", p.id);
            if let Some((name, _)) = vars.first() {
                let e = p.configure(&vars[1..]).unwrap_err();
                assert!(e.to_string().contains(name), "{}: {e}", p.id);
            }
            assert!(p.configure(&[("nonsense", "x")]).is_err());
        }
        let ids = preset_ids();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique);
    }

    #[test]
    fn client_secret_rules() {
        let g = preset("google").unwrap();
        assert!(g.check_client_secret(true).is_ok());
        let e = g.check_client_secret(false).unwrap_err();
        assert!(
            e.to_string()
                .contains("Google clients need their client secret"),
            "{e}"
        );
        let entra = preset("entra").unwrap();
        assert!(entra.check_client_secret(false).is_ok());
        let e = entra.check_client_secret(true).unwrap_err();
        assert!(e.to_string().contains("public clients"), "{e}");
        for id in ["github", "keycloak", "cognito", "oidc"] {
            let p = preset(id).unwrap();
            assert!(p.check_client_secret(true).is_ok() && p.check_client_secret(false).is_ok());
        }
    }

    #[test]
    fn templates_and_checks() {
        let kc = preset("keycloak").unwrap();
        let c = kc
            .configure(&[("base", "http://127.0.0.1:8080/"), ("realm", "acme")])
            .unwrap();
        assert_eq!(
            c.issuer.as_deref(),
            Some("http://127.0.0.1:8080/realms/acme")
        );
        assert_eq!(
            c.discovery_urls,
            vec!["http://127.0.0.1:8080/realms/acme/.well-known/openid-configuration"]
        );
        // Plain http is loopback-only; a realm is one segment.
        assert!(
            kc.configure(&[("base", "http://sso.example"), ("realm", "a")])
                .is_err()
        );
        assert!(
            kc.configure(&[("base", "sso.example"), ("realm", "a/../b")])
                .is_err()
        );
        let cognito = preset("cognito").unwrap();
        let c = cognito
            .configure(&[
                ("region", "eu-west-1"),
                ("user_pool_id", "eu-west-1_Abc"),
                ("domain", "acme.auth.eu-west-1.amazoncognito.com"),
            ])
            .unwrap();
        assert_eq!(
            c.issuer.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc")
        );
        assert_eq!(
            c.endpoints.revocation.as_deref(),
            Some("https://acme.auth.eu-west-1.amazoncognito.com/oauth2/revoke")
        );
        assert_eq!(c.quirks.redirect_host, RedirectHost::Localhost);
        let auth0 = preset("auth0").unwrap();
        let c = auth0.configure(&[("domain", "acme.us.auth0.com")]).unwrap();
        assert_eq!(c.issuer.as_deref(), Some("https://acme.us.auth0.com/"));
        assert!(c.params.is_empty());
        let c = auth0
            .configure(&[
                ("domain", "acme.us.auth0.com"),
                ("audience", "https://api.acme"),
            ])
            .unwrap();
        assert_eq!(
            c.params,
            vec![
                (
                    RequestKind::Authorize,
                    "audience".into(),
                    "https://api.acme".into()
                ),
                (
                    RequestKind::DeviceAuthorization,
                    "audience".into(),
                    "https://api.acme".into()
                ),
            ]
        );
        let entra = preset("entra").unwrap();
        let guid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        assert_eq!(
            entra.configure(&[("tenant", guid)]).unwrap().issuer,
            Some(format!("https://login.microsoftonline.com/{guid}/v2.0"))
        );
        let oidc = preset("oidc").unwrap();
        let c = oidc
            .configure(&[("issuer", "https://as.example/t1")])
            .unwrap();
        assert_eq!(c.discovery_urls.len(), 2);
    }

    #[test]
    fn quirks_normalize_scopes_and_errors() {
        let github = preset("github").unwrap().quirks;
        let tokens = TokenEndpointResponse::Tokens(TokenResponse {
            access_token: AccessToken::new("a"),
            token_type: "Bearer".into(),
            expires_in: None,
            refresh_token: None,
            scope: Some("repo,read:org, gist".into()),
            id_token: None,
        });
        let TokenEndpointResponse::Tokens(t) = github.normalize(tokens) else {
            panic!()
        };
        assert_eq!(t.scope.as_deref(), Some("repo read:org gist"));
        let entra = preset("entra").unwrap().quirks;
        let e = entra.normalize_error(OAuthError {
            error: "authorization_declined".into(),
            description: Some("AADSTS70000".into()),
            uri: None,
        });
        assert_eq!(e.error, "access_denied");
        assert_eq!(e.into_error().code(), "access_denied");
        // Without the alias, the same answer is just a failed authorization.
        let plain = Quirks::NONE.normalize_error(OAuthError {
            error: "authorization_declined".into(),
            description: None,
            uri: None,
        });
        assert_eq!(plain.error, "authorization_declined");
    }
}
