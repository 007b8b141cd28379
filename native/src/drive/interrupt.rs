//! Interrupts while a flow is [critical](cliauth_core::flow::Flow::critical): held
//! until the flow has persisted what the server did (Unix).
//!
//! A refresh that rotates the refresh token is irreversible once sent: killed before
//! the new token is on disk, the CLI keeps only the old one, and its next use is
//! refused as reuse — the session is gone. So from the moment such a request is
//! sent until its result is persisted, SIGINT (Ctrl-C), SIGTERM and SIGHUP are
//! recorded instead of acted on ([`Deferral`]); when the section ends the flow is
//! cancelled ([`Input::Cancel`](cliauth_core::flow::Input::Cancel): `✗ Cancelled`,
//! exit 130) for SIGINT, and SIGTERM or SIGHUP then take their default action.
//!
//! Outside critical sections nothing changes: a signal whose action was the default
//! (terminate) before cliauth registered its handler still terminates at once
//! (signal-hook's conditional default), and one the process ignores stays ignored
//! (no handler is registered for it). Whether the action was the default is read
//! from `/proc/self/status` on Linux; elsewhere it is assumed unless cliauth's own
//! Ctrl-C handling for logins (tokio's handler) is installed. An app that installs
//! its own handler keeps it — but a handler that exits the process at once also does
//! so inside the window. SIGKILL cannot be held: see SECURITY.md for the window that
//! remains. On Windows nothing is deferred.

/// Whether cliauth's tokio Ctrl-C handler (for logins) is installed.
static TOKIO_SIGINT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called before the driver first waits for tokio's Ctrl-C: from then on SIGINT is
/// the process's to handle, never the default action.
pub(super) fn tokio_handles_sigint() {
    TOKIO_SIGINT.store(true, std::sync::atomic::Ordering::SeqCst);
    #[cfg(unix)]
    imp::no_default_sigint();
}

/// An open critical section; [`Deferral::end`] says what arrived meanwhile.
pub(super) struct Deferral {
    #[cfg(unix)]
    open: bool,
}

/// What arrived during a critical section.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Arrived {
    /// Nothing.
    Nothing,
    /// Ctrl-C: cancel the flow.
    Interrupt,
}

impl Deferral {
    /// Starts holding interrupts (a no-op where they cannot be held).
    pub(super) fn begin() -> Deferral {
        #[cfg(unix)]
        {
            Deferral { open: imp::begin() }
        }
        #[cfg(not(unix))]
        {
            Deferral {}
        }
    }

    /// Stops holding them: a held SIGTERM or SIGHUP takes its default action now;
    /// a held Ctrl-C is returned for the flow to be cancelled.
    #[cfg_attr(not(unix), allow(unused_mut))]
    pub(super) fn end(mut self) -> Arrived {
        #[cfg(unix)]
        if std::mem::take(&mut self.open) {
            return imp::end();
        }
        Arrived::Nothing
    }
}

impl Drop for Deferral {
    fn drop(&mut self) {
        #[cfg(unix)]
        if self.open {
            let _ = imp::end();
        }
    }
}

#[cfg(unix)]
mod imp {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, OnceLock, PoisonError};

    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    use super::{Arrived, TOKIO_SIGINT};

    /// One signal's handling.
    struct Watch {
        signal: i32,
        /// Set by the handler.
        arrived: Arc<AtomicBool>,
        /// Whether the handler runs the default action now.
        default_now: Arc<AtomicBool>,
        /// Whether the action was the default before cliauth registered.
        was_default: AtomicBool,
    }

    struct Hooks {
        watches: Vec<Watch>,
        /// Critical sections open in this process.
        open: Mutex<usize>,
    }

    static HOOKS: OnceLock<Hooks> = OnceLock::new();

    fn hooks() -> &'static Hooks {
        HOOKS.get_or_init(|| Hooks {
            watches: [SIGINT, SIGTERM, SIGHUP]
                .into_iter()
                .filter_map(watch)
                .collect(),
            open: Mutex::new(0),
        })
    }

    fn watch(signal: i32) -> Option<Watch> {
        let (caught, ignored) = disposition(signal);
        if ignored {
            return None;
        }
        let tokio_handles = signal == SIGINT && TOKIO_SIGINT.load(Ordering::SeqCst);
        let was_default = !caught && !tokio_handles;
        let arrived = Arc::new(AtomicBool::new(false));
        let default_now = Arc::new(AtomicBool::new(was_default));
        // The flag first: a held signal is always recorded.
        signal_hook::flag::register(signal, Arc::clone(&arrived)).ok()?;
        if was_default {
            signal_hook::flag::register_conditional_default(signal, Arc::clone(&default_now))
                .ok()?;
        }
        Some(Watch {
            signal,
            arrived,
            default_now,
            was_default: AtomicBool::new(was_default),
        })
    }

    /// Whether `signal` is caught or ignored, as the kernel says (Linux); elsewhere
    /// neither (the default).
    fn disposition(signal: i32) -> (bool, bool) {
        #[cfg(target_os = "linux")]
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let mask = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                    .is_some_and(|m| m & (1u64 << (signal - 1)) != 0)
            };
            return (mask("SigCgt:"), mask("SigIgn:"));
        }
        let _ = signal;
        (false, false)
    }

    pub(super) fn no_default_sigint() {
        if let Some(hooks) = HOOKS.get() {
            for w in hooks.watches.iter().filter(|w| w.signal == SIGINT) {
                w.was_default.store(false, Ordering::SeqCst);
                w.default_now.store(false, Ordering::SeqCst);
            }
        }
    }

    pub(super) fn begin() -> bool {
        let hooks = hooks();
        let mut open = hooks.open.lock().unwrap_or_else(PoisonError::into_inner);
        if *open == 0 {
            for w in &hooks.watches {
                w.default_now.store(false, Ordering::SeqCst);
                w.arrived.store(false, Ordering::SeqCst);
            }
        }
        *open += 1;
        true
    }

    pub(super) fn end() -> Arrived {
        let hooks = hooks();
        let mut open = hooks.open.lock().unwrap_or_else(PoisonError::into_inner);
        *open = open.saturating_sub(1);
        let last = *open == 0;
        let mut held = Arrived::Nothing;
        for w in &hooks.watches {
            if last {
                // Default first: a signal from now on acts at once.
                w.default_now
                    .store(w.was_default.load(Ordering::SeqCst), Ordering::SeqCst);
            }
            let arrived = if last {
                w.arrived.swap(false, Ordering::SeqCst)
            } else {
                w.arrived.load(Ordering::SeqCst)
            };
            if !arrived {
                continue;
            }
            if w.signal == SIGINT {
                held = Arrived::Interrupt;
            } else if last && w.was_default.load(Ordering::SeqCst) {
                drop(open);
                // SIGTERM / SIGHUP, held while the result was persisted: now.
                let _ = signal_hook::low_level::emulate_default_handler(w.signal);
                return Arrived::Interrupt;
            } else {
                held = Arrived::Interrupt;
            }
        }
        held
    }
}
