//! What a page configures once (`configure`), kept in [`crate::context`].

use cliauth_core::AppContext;
use cliauth_core::device::UserCodeFormat;
use cliauth_core::json::Value;
#[cfg(feature = "handoff")]
use cliauth_core::keys::KeyRegistry;

#[cfg(feature = "device")]
pub(crate) use crate::context::user_code_format;
#[cfg(feature = "full")]
pub(crate) use crate::context::with_app;
use crate::context::with_config;
#[cfg(feature = "handoff")]
pub(crate) use crate::context::with_keys;
use crate::error::invalid;
use crate::plain::{field, key_formats, opt_str, opt_u64};

/// Sets the app context from `{cli, product, apiKeyEnv, keysUrl, statusUrl,
/// keyFormats, userCode: {charset, length, group}}`; absent fields keep their value
/// (absent, `null` or non-object options change nothing). `userCode.charset` lists
/// the code's characters in upper case. Returns JSON `null`.
pub(crate) fn configure(options: Option<&Value>) -> Result<String, cliauth_core::Error> {
    // Everything is read and checked first; the configuration changes only when all
    // of it is valid.
    let null = Value::Null;
    let v = options.unwrap_or(&null);
    let cli = opt_str(v, "cli")?;
    let product = opt_str(v, "product")?;
    let api_key_env = opt_str(v, "apiKeyEnv")?;
    let keys_url = opt_str(v, "keysUrl")?;
    let status_url = opt_str(v, "statusUrl")?;
    let keys = field(v, "keyFormats").map(key_formats).transpose()?;
    let user_code = field(v, "userCode").map(user_code).transpose()?;
    with_config(|c| {
        if cli.is_some() || product.is_some() {
            // A new name derives a new API-key variable (`acme` → `ACME_API_KEY`).
            let mut app =
                AppContext::new(cli.unwrap_or(&c.app.cli), product.unwrap_or(&c.app.product));
            if cli.is_none() {
                app.api_key_env = core::mem::take(&mut c.app.api_key_env);
            }
            app.keys_url = c.app.keys_url.take();
            app.status_url = c.app.status_url.take();
            c.app = app;
        }
        if let Some(env) = api_key_env {
            c.app.api_key_env = env.to_string();
        }
        if let Some(url) = keys_url {
            c.app.keys_url = Some(url.to_string());
        }
        if let Some(url) = status_url {
            c.app.status_url = Some(url.to_string());
        }
        // Both options are checked by every page module; each keeps only what its
        // operations use (the device page masks no key, the cli-auth page reads no
        // user code).
        #[cfg(feature = "handoff")]
        if let Some(k) = keys {
            c.keys = KeyRegistry::new(k);
        }
        #[cfg(not(feature = "handoff"))]
        drop(keys);
        #[cfg(feature = "device")]
        if let Some(u) = user_code {
            c.user_code = u;
        }
        #[cfg(not(feature = "device"))]
        drop(user_code);
    });
    Ok("null".into())
}

/// `userCode: {charset, length, group}`; absent fields take the default format's.
fn user_code(u: &Value) -> Result<UserCodeFormat, cliauth_core::Error> {
    let mut f = UserCodeFormat::default();
    if let Some(c) = opt_str(u, "charset")? {
        f.charset = c.to_string();
    }
    if let Some(n) = opt_u64(u, "length")? {
        if !(1..=64).contains(&n) {
            return Err(invalid("userCode.length", "must be 1 to 64"));
        }
        f.length = n as usize;
    }
    if let Some(n) = opt_u64(u, "group")? {
        f.group = n.min(64) as usize;
    }
    Ok(f)
}
