//! Where democli talks to and keeps its files, from the environment.
//!
//! | Variable | Meaning | Default |
//! | --- | --- | --- |
//! | `DEMO_API_KEY` | API key (after `--api-key`, before stored profiles) | — |
//! | `DEMO_HOME` | directory for `credentials.json` and the dev server's state | `~/.config/democli` (`$XDG_CONFIG_HOME/democli`; an existing `~/.democli` keeps being used) |
//! | `DEMO_KEYRING` | `1`: keep credentials in the OS keyring (the rest in `DEMO_HOME`) | off: only the file, so tests never touch a real keyring |
//! | `DEMO_INSECURE_STORAGE` | `1`: with `DEMO_KEYRING=1`, keep new logins in the file anyway (as `--insecure-storage`) | off |
//! | `DEMO_ISSUER` | a real authorization server (discovery); no embedded server | embedded dev server |
//! | `DEMO_CLIENT_ID` | OAuth client id | `democli` |
//! | `DEMO_SCOPES` | space-separated scopes | `openid profile memories:read memories:write offline_access` |
//! | `DEMO_API_BASE` | base URL of the protected API | the dev server's `/api` |
//! | `DEMO_CLI_AUTH_PAGE` | the cli-auth page for `login --browser`, or `off` for plain OAuth | the dev server's `/cli-auth` |
//! | `DEMO_RAW_KEY_HANDOFF` | `1`: the cli-auth page may also hand over a raw API key (less safe: nothing binds it to the login) | off: a one-time code bound to the PKCE challenge |
//! | `DEMO_LOGIN_TIMEOUT` | how long a browser login waits (`90s`, `5m`) | `5m` |
//! | `DEMO_PROVIDER` | a provider preset (`github`, `google`, `entra`, `auth0`, `okta`, `keycloak`, `cognito`, `oidc`); no embedded server | — |
//! | `DEMO_PROVIDER_<VAR>` | the preset's variables, e.g. `DEMO_PROVIDER_TENANT`, `DEMO_PROVIDER_DOMAIN`, `DEMO_PROVIDER_REALM` | the preset's defaults |
//! | `DEMO_CLIENT_SECRET` | the client secret the provider issued (Google, GitHub's browser login, confidential clients) | — |
//!
//! With `DEMO_PROVIDER`, `DEMO_CLIENT_ID` is required, `DEMO_SCOPES` defaults to the
//! preset's scopes, and `whoami` asks `DEMO_API_BASE`'s `/whoami` or else the
//! provider's userinfo endpoint (GitHub: `/user`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cliauth::cli::GlobalArgs;
use cliauth::cliauth_core::provider::{preset, preset_ids};
use cliauth::store::FileStore;
use cliauth::{AppContext, Authenticator, Endpoints, Error, KeyRegistry};
use cliauth_devserver::{DevServer, DevServerConfig, RateLimitPolicy, dev_key_format};
use serde_json::Value;

/// The issuer identifier of the embedded dev server. It is an identifier, not an
/// address: the server listens on a new port every run, so democli configures its
/// endpoints explicitly and profiles stay valid from one run to the next.
pub(crate) const EMBEDDED_ISSUER: &str = "https://democli.invalid/embedded-dev-server";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The explicit opt-in to the raw-key handoff (`DEMO_RAW_KEY_HANDOFF=1`).
fn raw_key_handoff() -> bool {
    var("DEMO_RAW_KEY_HANDOFF").is_some_and(|v| v == "1")
}

/// What a command works with.
pub(crate) struct Setup {
    /// The authenticator.
    pub(crate) auth: Authenticator,
    /// The embedded server, kept running for the command.
    server: Option<DevServer>,
    /// The protected API's base URL.
    api_base: Option<String>,
    /// The provider's userinfo endpoint, for `whoami` without an API.
    userinfo: Option<String>,
    /// Whether a provider preset is configured (`DEMO_PROVIDER`).
    provider: bool,
}

/// Options for the embedded server (the quickstart tightens them).
pub(crate) struct Embedded {
    /// Where its state and the credentials live.
    pub(crate) home: PathBuf,
    /// Approve device codes automatically after this delay.
    pub(crate) auto_approve_device: Option<Duration>,
    /// Device polling interval.
    pub(crate) device_interval: Duration,
    /// Rate limits.
    pub(crate) rate_limits: Vec<RateLimitPolicy>,
}

impl Setup {
    /// From `DEMO_*` variables; the embedded server is started only if `server` is set
    /// and no `DEMO_ISSUER` is configured.
    pub(crate) async fn from_env(server: bool) -> Result<Setup, Error> {
        if let Some(id) = var("DEMO_PROVIDER") {
            return Setup::provider(&id);
        }
        if let Some(issuer) = var("DEMO_ISSUER") {
            let api_base = var("DEMO_API_BASE")
                .unwrap_or_else(|| format!("{}/api", issuer.trim_end_matches('/')));
            let mut builder = base_builder()
                .issuer(issuer)
                .api_base(api_base.clone())
                .verification_endpoint("whoami");
            if let Some(page) = var("DEMO_CLI_AUTH_PAGE").filter(|p| p != "off") {
                builder = builder
                    .cli_auth_page(page)
                    .raw_key_handoff(raw_key_handoff());
            }
            return Ok(Setup {
                auth: builder.build()?,
                server: None,
                api_base: Some(api_base),
                userinfo: None,
                provider: false,
            });
        }
        let home = FileStore::default_dir("democli", var("DEMO_HOME").as_deref())?;
        let embedded = Embedded {
            home,
            auto_approve_device: None,
            device_interval: Duration::from_secs(5),
            rate_limits: vec![RateLimitPolicy::memories_default()],
        };
        if server {
            Setup::embedded(embedded, None).await
        } else {
            // No server: the authenticator can read and switch profiles offline.
            let auth = base_builder().issuer(EMBEDDED_ISSUER).build()?;
            Ok(Setup {
                auth,
                server: None,
                api_base: None,
                userinfo: None,
                provider: false,
            })
        }
    }

    /// Starts the embedded dev server and configures its endpoints explicitly.
    pub(crate) async fn embedded(
        options: Embedded,
        store_dir: Option<&Path>,
    ) -> Result<Setup, Error> {
        create_private_dir(&options.home)?;
        let server = DevServer::start({
            let mut o = DevServerConfig::default();
            o.issuer = Some(EMBEDDED_ISSUER.to_string());
            o.state_file = Some(options.home.join("devserver-state.json"));
            o.auto_approve_device = options.auto_approve_device;
            o.device_interval = options.device_interval;
            o.rate_limits = options.rate_limits;
            o
        })
        .await
        .map_err(|e| {
            Error::invalid_config(format!("the embedded dev server did not start: {e}"))
        })?;
        let e = server.endpoints();
        let mut builder = base_builder()
            .issuer(EMBEDDED_ISSUER)
            .endpoints({
                let mut o = Endpoints::default();
                o.authorization = Some(e.authorization.clone());
                o.token = Some(e.token.clone());
                o.device_authorization = Some(e.device_authorization.clone());
                o.revocation = Some(e.revocation.clone());
                o
            })
            .verification_endpoint(e.whoami.clone());
        match var("DEMO_CLI_AUTH_PAGE") {
            Some(p) if p == "off" => {}
            Some(p) => builder = builder.cli_auth_page(p),
            None => builder = builder.cli_auth_page(e.cli_auth_page.clone()),
        }
        builder = builder.raw_key_handoff(raw_key_handoff());
        if let Some(dir) = store_dir {
            builder = builder.store(FileStore::new(dir));
        }
        // The API base is not recorded in profiles (its port changes every run); API
        // calls use absolute URLs of the running server instead.
        let api_base = Some(format!("{}/api", server.url()));
        Ok(Setup {
            auth: builder.build()?,
            server: Some(server),
            api_base,
            userinfo: None,
            provider: false,
        })
    }

    /// A provider preset (`DEMO_PROVIDER`), its variables from `DEMO_PROVIDER_<VAR>`.
    fn provider(id: &str) -> Result<Setup, Error> {
        let preset = preset(id).ok_or_else(|| {
            Error::invalid_config(format!(
                "DEMO_PROVIDER: no preset `{id}` (presets: {})",
                preset_ids().join(", ")
            ))
        })?;
        let values: Vec<(&str, String)> = preset
            .vars
            .iter()
            .filter_map(|v| {
                var(&format!("DEMO_PROVIDER_{}", v.name.to_ascii_uppercase()))
                    .map(|value| (v.name, value))
            })
            .collect();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let config = preset.configure(&pairs)?;
        let client_id = var("DEMO_CLIENT_ID").ok_or_else(|| {
            Error::invalid_config(format!(
                "DEMO_PROVIDER={id} needs DEMO_CLIENT_ID, the client id of your app at {}",
                preset.name
            ))
        })?;
        let userinfo = config.endpoints.userinfo.clone();
        let api_base = var("DEMO_API_BASE");
        let mut builder = builder(None).provider(config).client_id(client_id);
        if let Some(secret) = var("DEMO_CLIENT_SECRET") {
            builder = builder.client_secret(secret);
        }
        if let Some(base) = &api_base {
            builder = builder.api_base(base.clone());
        }
        Ok(Setup {
            auth: builder.build()?,
            server: None,
            api_base,
            userinfo,
            provider: true,
        })
    }

    /// The embedded server, if one runs.
    pub(crate) fn server(&self) -> Option<&DevServer> {
        self.server.as_ref()
    }

    fn api(&self, path: &str) -> Result<String, Error> {
        match &self.api_base {
            Some(base) => Ok(format!("{}/{path}", base.trim_end_matches('/'))),
            None => Err(Error::invalid_config("no API is configured")),
        }
    }

    /// `GET /api/whoami` (with a provider and no API: its userinfo endpoint).
    pub(crate) async fn whoami(&self, auth: &Authenticator) -> Result<Value, Error> {
        if self.api_base.is_none() && self.provider {
            // The preset's endpoint, or the one discovery found.
            let userinfo = match &self.userinfo {
                Some(u) => Some(u.clone()),
                None => auth.endpoints().await?.userinfo,
            };
            if let Some(userinfo) = userinfo {
                return auth.get_json(&userinfo).await;
            }
        }
        auth.get_json(&self.api("whoami")?).await
    }

    /// `GET /api/memories`.
    pub(crate) async fn memories(&self, auth: &Authenticator) -> Result<Value, Error> {
        auth.get_json(&self.api("memories")?).await
    }

    /// Stops the embedded server.
    pub(crate) async fn shutdown(self) {
        if let Some(server) = self.server {
            server.shutdown().await;
        }
    }
}

/// Everything that does not depend on where the server is.
fn base_builder() -> cliauth::AuthenticatorBuilder {
    builder(Some(
        "openid profile memories:read memories:write offline_access",
    ))
    .client_id(var("DEMO_CLIENT_ID").unwrap_or_else(|| "democli".into()))
}

/// The app, the store and the timeout; the scopes from `DEMO_SCOPES`, else
/// `default_scopes` (`None`: the provider preset's).
fn builder(default_scopes: Option<&str>) -> cliauth::AuthenticatorBuilder {
    let mut builder = Authenticator::builder("democli")
        .product("Demo")
        .key_formats(KeyRegistry::new(vec![dev_key_format()]))
        .api_key_env("DEMO_API_KEY")
        .config_dir_env("DEMO_HOME")
        .keyring(var("DEMO_KEYRING").is_some_and(|v| v == "1"))
        .insecure_storage(var("DEMO_INSECURE_STORAGE").is_some_and(|v| v == "1"));
    if let Some(scopes) = var("DEMO_SCOPES").or(default_scopes.map(str::to_string)) {
        builder = builder.scopes(
            scopes
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
    }
    if let Some(timeout) =
        var("DEMO_LOGIN_TIMEOUT").and_then(|t| cliauth_devserver::parse_duration(&t).ok())
    {
        builder = builder.login_timeout(timeout);
    }
    builder
}

/// A directory only the user can enter (0700 on Unix), created if missing.
fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::storage(format!("cannot create {}: {}", dir.display(), e.kind())))
}

/// Reports an error that happened before the authenticator existed.
pub(crate) fn report_early(global: &GlobalArgs, error: &Error) -> i32 {
    let mut app = AppContext::new("democli", "Demo");
    app.api_key_env = "DEMO_API_KEY".into();
    global.renderer(&app).error(error)
}

/// `demo (Demo User <demo@example.com>), scopes: …`.
pub(crate) fn describe_user(me: &Value) -> String {
    let text = |k: &str| me.get(k).and_then(Value::as_str).unwrap_or("");
    let scopes: Vec<&str> = me
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // `sub` (OpenID Connect, the dev server) or `login` (GitHub's `/user`).
    let who = match text("sub") {
        "" => text("login"),
        sub => sub,
    };
    let mut out = format!("Signed in as {who}");
    match (text("name"), text("email")) {
        ("", "") => {}
        (name, "") => out.push_str(&format!(" ({name})")),
        ("", email) => out.push_str(&format!(" <{email}>")),
        (name, email) => out.push_str(&format!(" ({name} <{email}>)")),
    }
    if !scopes.is_empty() {
        out.push_str(&format!("\n  Scopes: {}", scopes.join(" ")));
    }
    out
}

/// `3 memories: …`.
pub(crate) fn describe_memories(list: &Value) -> String {
    let items: Vec<String> = list
        .get("memories")
        .or(Some(list))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| {
                    m.get("text")
                        .and_then(Value::as_str)
                        .map_or_else(|| m.to_string(), str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = format!(
        "{} memor{}",
        items.len(),
        if items.len() == 1 { "y" } else { "ies" }
    );
    for item in items.iter().take(5) {
        out.push_str(&format!("\n  • {item}"));
    }
    out
}
