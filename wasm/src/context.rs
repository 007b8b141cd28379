//! What a page configured (`configure`, [`crate::page`]): the app's names (for hints), its
//! key formats (for masking and validation) and the shape of its device user codes.
//! A leaf: every module may read it, it reads none.

use std::cell::RefCell;

use cliauth_core::AppContext;
#[cfg(feature = "device")]
use cliauth_core::device::UserCodeFormat;
#[cfg(feature = "handoff")]
use cliauth_core::keys::KeyRegistry;

pub(crate) struct Config {
    pub(crate) app: AppContext,
    /// The key formats, for the manual handoff's masking (the cli-auth page's only).
    #[cfg(feature = "handoff")]
    pub(crate) keys: KeyRegistry,
    /// The user codes' shape (the device page's only).
    #[cfg(feature = "device")]
    pub(crate) user_code: UserCodeFormat,
}

thread_local! {
    // Built on first use (a `const` initial value keeps the thread-local simple).
    static CONFIG: RefCell<Option<Config>> = const { RefCell::new(None) };
}

pub(crate) fn with_config<R>(f: impl FnOnce(&mut Config) -> R) -> R {
    CONFIG.with(|c| {
        f(c.borrow_mut().get_or_insert_with(|| Config {
            // Neutral wording until the page names its CLI and product.
            app: AppContext::new("cli", "service"),
            #[cfg(feature = "handoff")]
            keys: KeyRegistry::new(Vec::new()),
            #[cfg(feature = "device")]
            user_code: UserCodeFormat::default(),
        }))
    })
}

pub(crate) fn with_app<R>(f: impl FnOnce(&AppContext) -> R) -> R {
    with_config(|c| f(&c.app))
}

#[cfg(feature = "handoff")]
pub(crate) fn with_keys<R>(f: impl FnOnce(&KeyRegistry) -> R) -> R {
    with_config(|c| f(&c.keys))
}

#[cfg(feature = "device")]
pub(crate) fn user_code_format() -> UserCodeFormat {
    with_config(|c| c.user_code.clone())
}
