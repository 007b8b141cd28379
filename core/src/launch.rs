//! Whether a browser can be opened here, decided from facts the shell gathers.
//!
//! The native shell reads the environment (`SSH_CONNECTION`, `DISPLAY`, `/.dockerenv`,
//! `/proc/version`, …) into [`LaunchEnvironment`]; [`decide_launch`] says whether to
//! open a browser or use the fallback the app chose (device code or paste), and why —
//! so the CLI can print "Using the device code because this is an SSH session".

/// Facts about where the CLI runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LaunchEnvironment {
    /// `SSH_CONNECTION`, `SSH_CLIENT` or `SSH_TTY` is set.
    pub ssh: bool,
    /// The OS is Linux or a BSD (where a display server is needed).
    pub needs_display: bool,
    /// `DISPLAY` or `WAYLAND_DISPLAY` is set.
    pub has_display: bool,
    /// Running in a container (`/.dockerenv`, `/run/.containerenv`, `container=`).
    pub container: bool,
    /// Running under WSL.
    pub wsl: bool,
    /// The user set a `BROWSER` command explicitly.
    pub browser_override: bool,
}

/// Why the browser is not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoBrowserReason {
    /// An SSH session: the browser would open on the wrong machine.
    Ssh,
    /// No display server.
    NoDisplay,
    /// Inside a container.
    Container,
    /// Under WSL, where the Windows browser may not reach the loopback server.
    Wsl,
}

impl NoBrowserReason {
    /// A sentence for the user.
    pub fn explain(self) -> &'static str {
        match self {
            NoBrowserReason::Ssh => {
                "this is an SSH session, so a browser here would open on the remote machine"
            }
            NoBrowserReason::NoDisplay => {
                "no display is available (DISPLAY and WAYLAND_DISPLAY are unset)"
            }
            NoBrowserReason::Container => "this is a container, which usually has no browser",
            NoBrowserReason::Wsl => {
                "this is WSL, where the Windows browser may not reach this shell's loopback address"
            }
        }
    }
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchDecision {
    /// Open the browser (and print the URL anyway).
    OpenBrowser,
    /// Use the fallback, for this reason.
    Fallback(NoBrowserReason),
}

/// Decides. An explicit `BROWSER` override always opens (tests and users who know
/// better rely on it); otherwise SSH, a missing display, containers and WSL fall back.
pub fn decide_launch(env: &LaunchEnvironment) -> LaunchDecision {
    if env.browser_override {
        return LaunchDecision::OpenBrowser;
    }
    if env.ssh {
        return LaunchDecision::Fallback(NoBrowserReason::Ssh);
    }
    if env.wsl {
        return LaunchDecision::Fallback(NoBrowserReason::Wsl);
    }
    if env.container && !env.has_display {
        return LaunchDecision::Fallback(NoBrowserReason::Container);
    }
    if env.needs_display && !env.has_display {
        return LaunchDecision::Fallback(NoBrowserReason::NoDisplay);
    }
    LaunchDecision::OpenBrowser
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let desktop = LaunchEnvironment {
            needs_display: true,
            has_display: true,
            ..Default::default()
        };
        assert_eq!(decide_launch(&desktop), LaunchDecision::OpenBrowser);
        assert_eq!(
            decide_launch(&LaunchEnvironment {
                ssh: true,
                ..desktop
            }),
            LaunchDecision::Fallback(NoBrowserReason::Ssh)
        );
        assert_eq!(
            decide_launch(&LaunchEnvironment {
                has_display: false,
                ..desktop
            }),
            LaunchDecision::Fallback(NoBrowserReason::NoDisplay)
        );
        assert_eq!(
            decide_launch(&LaunchEnvironment {
                container: true,
                has_display: false,
                ..desktop
            }),
            LaunchDecision::Fallback(NoBrowserReason::Container)
        );
        assert_eq!(
            decide_launch(&LaunchEnvironment {
                wsl: true,
                ..desktop
            }),
            LaunchDecision::Fallback(NoBrowserReason::Wsl)
        );
        assert_eq!(
            decide_launch(&LaunchEnvironment {
                ssh: true,
                browser_override: true,
                ..desktop
            }),
            LaunchDecision::OpenBrowser
        );
        assert_eq!(
            decide_launch(&LaunchEnvironment::default()),
            LaunchDecision::OpenBrowser
        ); // macOS/Windows
    }
}
