//! Helpers for running commands and reporting steps.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

/// The repository root (the directory holding the workspace `Cargo.toml`).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// `target/tools`: where xtask installs tools (wasm-bindgen-cli, cargo-fuzz).
pub fn tools_dir() -> PathBuf {
    root().join("target").join("tools")
}

/// A command rooted at the repository, with the tool directory first on PATH and
/// browser variables set.
pub fn cmd(program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root());
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![tools_dir().join("bin")];
    paths.extend(std::env::split_paths(&path));
    if let Ok(joined) = std::env::join_paths(paths) {
        c.env("PATH", joined);
    }
    c.env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    c.env("CHROMEDRIVER", "/usr/bin/chromedriver");
    c.env("CLIAUTH_CHROMIUM", "/usr/bin/chromium");
    c
}

/// Runs a command, streaming its output; errors name the command.
pub fn run(c: &mut Command) -> Result<(), String> {
    let shown = describe(c);
    eprintln!("  $ {shown}");
    let status: ExitStatus = c
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a command and captures stdout (stderr passes through).
pub fn output(c: &mut Command) -> Result<String, String> {
    let shown = describe(c);
    let out = c
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{shown}` failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a command exists and exits successfully with these arguments.
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    cmd(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// A named step with timing.
pub struct Step {
    name: String,
    start: Instant,
}

impl Step {
    pub fn begin(name: &str) -> Step {
        eprintln!("\n━━ {name}");
        Step {
            name: name.to_string(),
            start: Instant::now(),
        }
    }

    pub fn end(self, result: &Result<(), String>) -> (String, f64, bool) {
        let secs = self.start.elapsed().as_secs_f64();
        match result {
            Ok(()) => eprintln!("━━ {} ✓ ({secs:.1}s)", self.name),
            Err(e) => eprintln!("━━ {} ✗ ({secs:.1}s): {e}", self.name),
        }
        (self.name, secs, result.is_ok())
    }
}

/// The version of a package in Cargo.lock.
pub fn locked_version(package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).ok()?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle)? + needle.len();
    let end = lock[start..].find('"')? + start;
    Some(lock[start..end].to_string())
}
