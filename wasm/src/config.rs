//! What a page configures once: the app's names (for hints), its key formats (for
//! masking and validation) and the shape of its device user codes.

use std::cell::RefCell;

use cliauth_core::AppContext;
use cliauth_core::device::UserCodeFormat;
use cliauth_core::keys::KeyRegistry;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::convert::{key_formats, opt_str, opt_u64, parse_json};
use crate::error::{JsResult, invalid, js};

struct Config {
    app: AppContext,
    keys: KeyRegistry,
    user_code: UserCodeFormat,
}

thread_local! {
    static CONFIG: RefCell<Config> = RefCell::new(Config {
        // Neutral wording until the page names its CLI and product.
        app: AppContext::new("cli", "service"),
        keys: KeyRegistry::new(Vec::new()),
        user_code: UserCodeFormat::default(),
    });
}

pub(crate) fn with_app<R>(f: impl FnOnce(&AppContext) -> R) -> R {
    CONFIG.with(|c| f(&c.borrow().app))
}

pub(crate) fn with_keys<R>(f: impl FnOnce(&KeyRegistry) -> R) -> R {
    CONFIG.with(|c| f(&c.borrow().keys))
}

pub(crate) fn user_code_format() -> UserCodeFormat {
    CONFIG.with(|c| c.borrow().user_code.clone())
}

/// Sets the app context from JSON `{cli, product, apiKeyEnv, keysUrl, statusUrl,
/// keyFormats, userCode: {charset, length, group}}`; absent fields keep their value.
/// `userCode.charset` lists the code's characters in upper case.
#[wasm_bindgen]
pub fn configure(options: &str) -> JsResult<()> {
    js(apply(options))
}

fn apply(options: &str) -> Result<(), cliauth_core::Error> {
    let v = parse_json(options, "options")?;
    let mut next_app = with_app(Clone::clone);
    let cli = opt_str(&v, "cli")?;
    let product = opt_str(&v, "product")?;
    if cli.is_some() || product.is_some() {
        let env = next_app.api_key_env.clone();
        let keep_env = cli.is_none();
        next_app = AppContext {
            keys_url: next_app.keys_url.take(),
            status_url: next_app.status_url.take(),
            ..AppContext::new(
                cli.unwrap_or_else(|| next_app.cli.clone()),
                product.unwrap_or_else(|| next_app.product.clone()),
            )
        };
        if keep_env {
            next_app.api_key_env = env;
        }
    }
    if let Some(env) = opt_str(&v, "apiKeyEnv")? {
        next_app.api_key_env = env;
    }
    if let Some(url) = opt_str(&v, "keysUrl")? {
        next_app.keys_url = Some(url);
    }
    if let Some(url) = opt_str(&v, "statusUrl")? {
        next_app.status_url = Some(url);
    }
    let keys = match v.get("keyFormats") {
        None | Some(Value::Null) => None,
        Some(f) => Some(KeyRegistry::new(key_formats(f)?)),
    };
    let user_code = match v.get("userCode") {
        None | Some(Value::Null) => None,
        Some(u) => {
            let mut f = UserCodeFormat::default();
            if let Some(c) = opt_str(u, "charset")? {
                f.charset = c;
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
            Some(f)
        }
    };
    CONFIG.with(|c| {
        let mut c = c.borrow_mut();
        c.app = next_app;
        if let Some(k) = keys {
            c.keys = k;
        }
        if let Some(u) = user_code {
            c.user_code = u;
        }
    });
    Ok(())
}
