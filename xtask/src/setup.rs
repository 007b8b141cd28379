//! Idempotent installation of what the suites need. Every step checks first and
//! installs only what is missing, from the package registries (crates.io, npm,
//! Debian); nothing is cached outside the repository.

use std::path::Path;

use crate::util::{cmd, locked_version, output, root, run, tools_dir};

/// The wasm32 target for rustc, and the toolchain's std sources (`rust-src`) from
/// which the web modules' std is built for size (`xtask/src/web.rs`).
pub fn wasm_target() -> Result<(), String> {
    let installed = output(cmd("rustup").args(["target", "list", "--installed"]))?;
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(cmd("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let components = output(cmd("rustup").args(["component", "list", "--installed"]))?;
    if !components.lines().any(|l| l.trim().starts_with("rust-src")) {
        run(cmd("rustup").args(["component", "add", "rust-src"]))?;
    }
    Ok(())
}

/// wasm-bindgen-cli at exactly the version of the `wasm-bindgen` crate in Cargo.lock,
/// installed into `target/tools`.
pub fn wasm_bindgen_cli() -> Result<(), String> {
    let version = locked_version("wasm-bindgen")
        .ok_or("wasm-bindgen is not in Cargo.lock (run `cargo generate-lockfile`)")?;
    let bin = tools_dir().join("bin").join("wasm-bindgen");
    if bin.exists() {
        let have = output(cmd(&bin).arg("--version")).unwrap_or_default();
        if have.split_whitespace().nth(1) == Some(version.as_str()) {
            return Ok(());
        }
    }
    eprintln!("  installing wasm-bindgen-cli {version} (about 2.5 minutes on 2 cores)");
    // No --locked: its lockfile pins a crate version the registry mirror may lack.
    run(cmd("cargo")
        .args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &version,
            "--root",
        ])
        .arg(tools_dir()))
}

/// Debian's Chromium and ChromeDriver (never a browser downloaded by a test tool).
pub fn chromium() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// What the `keyring` suite runs on: a D-Bus daemon, gnome-keyring (the Secret
/// Service) and secret-tool (to inspect keyring items independently of cliauth).
/// Without recommends: no desktop session, prompts or SSH agent are needed.
pub fn secret_service() -> Result<(), String> {
    let tools = [
        "/usr/bin/dbus-daemon",
        "/usr/bin/dbus-send",
        "/usr/bin/gnome-keyring-daemon",
        "/usr/bin/secret-tool",
    ];
    if tools.iter().all(|t| Path::new(t).exists()) {
        return Ok(());
    }
    apt_install(&[
        "--no-install-recommends",
        "dbus-daemon",
        "dbus-bin",
        "gnome-keyring",
        "libsecret-tools",
    ])
}

/// tinyproxy, the real HTTP proxy (with CONNECT) the `proxy` suite runs on 127.0.0.1.
pub fn tinyproxy() -> Result<(), String> {
    if Path::new("/usr/bin/tinyproxy").exists() {
        return Ok(());
    }
    apt_install(&["--no-install-recommends", "tinyproxy-bin"])
        .or_else(|_| apt_install(&["--no-install-recommends", "tinyproxy"]))
}

/// The Windows target the `windows` suite checks.
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";

/// The Windows target's standard library and the MinGW-w64 C compiler that `ring`
/// (rustls' crypto) builds its C and assembly with.
pub fn windows_target() -> Result<(), String> {
    let installed = output(cmd("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == WINDOWS_TARGET) {
        run(cmd("rustup").args(["target", "add", WINDOWS_TARGET]))?;
    }
    if Path::new("/usr/bin/x86_64-w64-mingw32-gcc").exists() {
        return Ok(());
    }
    apt_install(&["--no-install-recommends", "gcc-mingw-w64-x86-64"])
}

/// Installs Debian packages (as root, or through sudo); options such as
/// `--no-install-recommends` may come first.
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    let root_user = output(cmd("id").arg("-u")).unwrap_or_default().trim() == "0";
    let apt = |args: &[&str]| {
        let mut c = if root_user {
            cmd("apt-get")
        } else {
            cmd("sudo")
        };
        if !root_user {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut c)
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq"];
    args.extend_from_slice(packages);
    apt(&args)
}

/// `npm ci` in a directory with a package-lock.json, when node_modules is missing or
/// older than the lockfile.
pub fn npm(dir: &str) -> Result<(), String> {
    let dir = root().join(dir);
    let lock = dir.join("package-lock.json");
    if !lock.exists() {
        return Err(format!("{} has no package-lock.json", dir.display()));
    }
    let marker = dir.join("node_modules").join(".package-lock.json");
    let fresh = match (std::fs::metadata(&marker), std::fs::metadata(&lock)) {
        (Ok(m), Ok(l)) => match (m.modified(), l.modified()) {
            (Ok(m), Ok(l)) => m >= l,
            _ => false,
        },
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    run(cmd("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir))
}

/// cargo-fuzz, installed into `target/tools`. Fuzzing runs on the stable toolchain
/// with `--sanitizer none` (the core is `forbid(unsafe_code)`, so AddressSanitizer
/// would add little; libFuzzer's coverage guidance works without it).
pub fn cargo_fuzz() -> Result<(), String> {
    if tools_dir().join("bin").join("cargo-fuzz").exists() {
        return Ok(());
    }
    run(cmd("cargo")
        .args(["install", "cargo-fuzz", "--version", "0.13.2", "--root"])
        .arg(tools_dir()))
}
