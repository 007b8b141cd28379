//! Opening the browser, and deciding whether to.
//!
//! [`launch_environment`] gathers the facts core needs — an SSH session
//! (`SSH_CONNECTION`, `SSH_CLIENT`, `SSH_TTY`), Linux or BSD without `DISPLAY` /
//! `WAYLAND_DISPLAY`, a container (`/.dockerenv`, `/run/.containerenv`, `container=`),
//! WSL, an explicit `BROWSER` — and [`cliauth_core::launch::decide_launch`] decides.
//!
//! [`Browser::System`] opens URLs with the `webbrowser` crate, which honours the
//! `BROWSER` environment variable on Linux and the BSDs (`BROWSER=/path/to/script`
//! receives the URL as its argument; tests use this to play the browser).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use cliauth_core::launch::LaunchEnvironment;

use crate::store::EnvSource;

/// A function that opens a URL, returning why it failed.
pub type OpenFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

/// How URLs are opened.
#[derive(Clone, Default)]
pub enum Browser {
    /// The system's default browser (or `BROWSER`), via the `webbrowser` crate.
    #[default]
    System,
    /// Never open anything; only print the URL.
    Never,
    /// A function that opens the URL (for tests, or apps with their own launcher).
    /// Returns why it failed, if it did. Runs on a blocking thread.
    Custom(Arc<OpenFn>),
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Browser::System => "Browser::System",
            Browser::Never => "Browser::Never",
            Browser::Custom(_) => "Browser::Custom",
        })
    }
}

impl Browser {
    /// A custom opener.
    pub fn custom(open: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static) -> Browser {
        Browser::Custom(Arc::new(open))
    }

    /// Opens `url`. Blocking (a text browser named in `BROWSER` runs in the
    /// foreground), so call it on a blocking thread.
    pub fn open(&self, url: &str) -> Result<(), String> {
        match self {
            Browser::System => webbrowser::open(url).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => "no browser was found".to_string(),
                _ => e.kind().to_string(),
            }),
            Browser::Never => Err("opening a browser is disabled".into()),
            Browser::Custom(open) => open(url),
        }
    }

    /// Whether the app chose how to open URLs (a custom opener counts as an explicit
    /// `BROWSER`).
    pub(crate) fn is_custom(&self) -> bool {
        matches!(self, Browser::Custom(_))
    }
}

/// The facts about this process's surroundings, read from the process environment
/// and the file system.
pub fn launch_environment() -> LaunchEnvironment {
    launch_environment_from(&EnvSource::process())
}

/// Like [`launch_environment`], with variables from `env`.
pub fn launch_environment_from(env: &EnvSource) -> LaunchEnvironment {
    let set = |name: &str| env.get(name).is_some();
    let linux = cfg!(target_os = "linux");
    let wsl = linux
        && (set("WSL_DISTRO_NAME")
            || set("WSL_INTEROP")
            || std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .is_ok_and(|s| s.to_ascii_lowercase().contains("microsoft")));
    let mut facts = LaunchEnvironment::default();
    facts.ssh = set("SSH_CONNECTION") || set("SSH_CLIENT") || set("SSH_TTY");
    facts.needs_display = cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    ));
    facts.has_display = set("DISPLAY") || set("WAYLAND_DISPLAY");
    facts.container = Path::new("/.dockerenv").exists()
        || Path::new("/run/.containerenv").exists()
        || set("container");
    facts.wsl = wsl;
    facts.browser_override = set("BROWSER");
    facts
}
