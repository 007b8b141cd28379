//! What a login tells the user and asks of them.
//!
//! Logins print a few lines (the URL to open, the device code, why the browser was
//! not opened) and sometimes read a pasted key. They do so through a [`Ui`], so that
//! apps can restyle the text and tests can capture it. [`TerminalUi`] is the default:
//! lines on stderr (stdout stays clean for piping), hidden input on a terminal, plain
//! lines from stdin otherwise.

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Write};
#[cfg(unix)]
use std::sync::Mutex;

use cliauth_core::Error;
use cliauth_core::launch::NoBrowserReason;
use cliauth_core::secret::SecretString;

/// Something a login tells the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// The browser is being opened at `url`; the URL is printed too, for when it does
    /// not open.
    OpeningBrowser {
        /// The product being signed in to.
        product: &'a str,
        /// The URL.
        url: &'a str,
    },
    /// The browser could not be opened; the user must open `url` themselves.
    BrowserFailed {
        /// The URL.
        url: &'a str,
        /// Why it failed.
        reason: &'a str,
    },
    /// The browser is not opened here, for this reason; `method` is used instead.
    Fallback {
        /// Why.
        reason: NoBrowserReason,
        /// What is used instead (`the device code`, `a pasted key`).
        method: &'a str,
    },
    /// A device code to enter on another device (RFC 8628).
    DeviceCode {
        /// The code to type.
        user_code: &'a str,
        /// Where to type it.
        verification_uri: &'a str,
        /// A URL that carries the code, if the server gave one.
        verification_uri_complete: Option<&'a str>,
    },
    /// The key can also be pasted into the terminal.
    PasteHint {
        /// The product.
        product: &'a str,
    },
    /// Something went wrong but the login goes on.
    Warning(&'a str),
    /// Information.
    Info(&'a str),
    /// An API call failed in a way that is retried (rate limited, server busy,
    /// connection refused); cliauth waits, then tries again.
    Retrying {
        /// What happened, e.g. `Rate limited: dev:memories (120/hr)`.
        reason: &'a str,
        /// How long cliauth waits (the server's `Retry-After` when it gave one).
        wait: std::time::Duration,
        /// The attempt about to be made (2 for the first retry).
        attempt: u32,
        /// The most attempts that will be made.
        max_attempts: u32,
    },
}

impl fmt::Display for Notice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::OpeningBrowser { product, url } => write!(
                f,
                "Opening your browser to sign in to {product}. If it does not open, visit:\n  {url}"
            ),
            Notice::BrowserFailed { url, reason } => write!(
                f,
                "! Could not open a browser ({reason}). Open this URL to continue:\n  {url}"
            ),
            Notice::Fallback { reason, method } => {
                write!(f, "Using {method} because {}.", reason.explain())
            }
            Notice::DeviceCode {
                user_code,
                verification_uri,
                verification_uri_complete,
            } => {
                write!(
                    f,
                    "To sign in, open {verification_uri} on any device and enter the code:\n\n    {user_code}\n"
                )?;
                if let Some(complete) = verification_uri_complete {
                    write!(
                        f,
                        "\nOr open this link, which includes the code:\n  {complete}\n"
                    )?;
                }
                Ok(())
            }
            Notice::PasteHint { product } => write!(
                f,
                "Or paste your {product} key here and press Enter (input is hidden):"
            ),
            Notice::Warning(text) => write!(f, "! {text}"),
            Notice::Info(text) => f.write_str(text),
            Notice::Retrying {
                reason,
                wait,
                attempt,
                max_attempts,
            } => write!(
                f,
                "↻ {reason} — retrying in {} (attempt {attempt} of {max_attempts})",
                cliauth_core::time::human_duration(*wait)
            ),
        }
    }
}

/// How logins talk to the user. Implementations must be cheap and must not fail:
/// output that cannot be written is dropped.
pub trait Ui: Send + Sync + fmt::Debug {
    /// Shows a notice.
    fn notice(&self, notice: &Notice<'_>);

    /// Reads a secret line (a pasted key): hidden on a terminal. Blocks; called on a
    /// blocking thread. `Ok(None)` at the end of input.
    fn read_secret(&self, prompt: &str) -> Result<Option<SecretString>, Error>;

    /// Called when a pending [`read_secret`](Ui::read_secret) is no longer wanted
    /// (the browser delivered the credential first). Restores the terminal if the
    /// read changed it. The blocked read itself may stay blocked.
    fn cancel_input(&self) {}

    /// A wait begins (for the browser, for device approval): e.g. start a spinner.
    fn start_waiting(&self, _message: &str) {}

    /// The wait ended.
    fn stop_waiting(&self) {}
}

/// The default [`Ui`]: notices on stderr; hidden input from the terminal, lines from
/// stdin when it is not one.
#[derive(Default)]
pub struct TerminalUi {
    /// The terminal settings a hidden read changed, restored by `cancel_input`.
    #[cfg(unix)]
    saved_tty: Mutex<Option<rustix::termios::Termios>>,
    spinner: Option<Box<dyn Spinner>>,
}

impl fmt::Debug for TerminalUi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalUi")
            .field("spinner", &self.spinner.is_some())
            .finish_non_exhaustive()
    }
}

/// A progress indicator for [`TerminalUi`] (the `clap` feature supplies one).
pub trait Spinner: Send + Sync {
    /// Starts (or restarts) with a message.
    fn start(&self, message: &str);
    /// Stops and clears.
    fn stop(&self);
    /// Runs `print` with the indicator hidden, so lines do not interleave.
    fn suspend(&self, print: &mut dyn FnMut());
}

impl TerminalUi {
    /// A terminal UI; with the `clap` feature it shows a spinner while waiting when
    /// stderr is a terminal.
    pub fn new() -> TerminalUi {
        #[cfg(feature = "clap")]
        if let Some(spinner) = TerminalSpinner::for_stderr() {
            return TerminalUi::with_spinner(Box::new(spinner));
        }
        TerminalUi::default()
    }

    /// A terminal UI that shows `spinner` while waiting.
    pub fn with_spinner(spinner: Box<dyn Spinner>) -> TerminalUi {
        TerminalUi {
            #[cfg(unix)]
            saved_tty: Mutex::default(),
            spinner: Some(spinner),
        }
    }

    #[cfg(unix)]
    fn save_tty(&self) {
        let Ok(tty) = std::fs::File::open("/dev/tty") else {
            return;
        };
        if let (Ok(t), Ok(mut saved)) = (rustix::termios::tcgetattr(&tty), self.saved_tty.lock()) {
            *saved = Some(t);
        }
    }
}

impl Ui for TerminalUi {
    fn notice(&self, notice: &Notice<'_>) {
        let text = notice.to_string();
        let mut print = || {
            let _ = writeln!(io::stderr().lock(), "{text}");
        };
        match &self.spinner {
            Some(s) => s.suspend(&mut print),
            None => print(),
        }
    }

    fn read_secret(&self, prompt: &str) -> Result<Option<SecretString>, Error> {
        let failed = |e: io::Error| {
            Error::storage(format!("cannot read from the terminal: {}", e.kind())).with_source(e)
        };
        if io::stdin().is_terminal() {
            #[cfg(unix)]
            self.save_tty();
            let read = rpassword::prompt_password(prompt);
            // rpassword restored the terminal itself: nothing left for cancel_input.
            #[cfg(unix)]
            if let Ok(mut saved) = self.saved_tty.lock() {
                *saved = None;
            }
            return match read {
                Ok(line) => Ok(Some(SecretString::new(line.trim()))),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(Error::Cancelled),
                Err(e) => Err(failed(e)),
            };
        }
        if !prompt.is_empty() {
            let _ = writeln!(io::stderr().lock(), "{prompt}");
        }
        let mut line = String::new();
        match io::stdin().lock().read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(SecretString::new(line.trim()))),
            Err(e) => Err(failed(e)),
        }
    }

    fn cancel_input(&self) {
        #[cfg(unix)]
        {
            let saved = self.saved_tty.lock().ok().and_then(|mut s| s.take());
            if let (Some(t), Ok(tty)) = (saved, std::fs::File::open("/dev/tty")) {
                let _ = rustix::termios::tcsetattr(&tty, rustix::termios::OptionalActions::Now, &t);
                let _ = writeln!(io::stderr().lock());
            }
        }
    }

    fn start_waiting(&self, message: &str) {
        if let Some(s) = &self.spinner {
            s.start(message);
        }
    }

    fn stop_waiting(&self) {
        if let Some(s) = &self.spinner {
            s.stop();
        }
    }
}

/// An indicatif spinner on stderr, shown only when stderr is a terminal (feature
/// `clap`).
#[cfg(feature = "clap")]
#[cfg_attr(docsrs, doc(cfg(feature = "clap")))]
#[derive(Default)]
pub struct TerminalSpinner {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

#[cfg(feature = "clap")]
impl TerminalSpinner {
    /// A spinner; `None` when stderr is not a terminal.
    pub fn for_stderr() -> Option<TerminalSpinner> {
        io::stderr().is_terminal().then(TerminalSpinner::default)
    }
}

#[cfg(feature = "clap")]
impl Spinner for TerminalSpinner {
    fn start(&self, message: &str) {
        if let Ok(mut bar) = self.bar.lock() {
            if let Some(old) = bar.take() {
                old.finish_and_clear();
            }
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.set_message(message.to_string());
            spinner.enable_steady_tick(std::time::Duration::from_millis(100));
            *bar = Some(spinner);
        }
    }

    fn stop(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(old) = bar.take()
        {
            old.finish_and_clear();
        }
    }

    fn suspend(&self, print: &mut dyn FnMut()) {
        let bar = self.bar.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(b) => b.suspend(print),
            None => print(),
        }
    }
}
