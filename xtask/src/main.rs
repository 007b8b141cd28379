//! cliauth's project automation.
//!
//! - `cargo xtask test` — installs what is missing (idempotently) and runs every suite.
//!   `--only a,b` runs some suites; `--skip a,b` leaves some out; `--list` lists them.
//! - `cargo xtask bench [GROUP...]` — the benchmark table, written to BENCHMARKS.md and
//!   BENCHMARKS.json (all groups) or only printed (selected groups).
//! - `cargo xtask setup` — only the installation steps.
//! - `cargo xtask npm-build` — builds the npm package into `npm/dist/` (wasm modules,
//!   JS entries, declarations).
//! - `cargo xtask size [--enforce]` — the wasm size benchmark.
//! - `cargo xtask fuzz [--seconds N] [TARGET...]` — a fuzzing campaign (default 300 s per
//!   target) whose results are written to `fuzz/RESULTS.md`.
//!
//! Each suite declares the setup it needs; setup runs once, before the first suite
//! that needs it.

#![allow(clippy::print_stderr, clippy::print_stdout)]

mod bench;
mod bench_cli;
mod bench_web;
mod django;
mod e2e;
mod fuzz;
mod keyring;
mod layout;
mod package;
mod proxy;
mod setup;
mod util;
mod wasm_bin;
mod web;

use std::process::ExitCode;

use util::{Step, cmd, run};

/// Installation steps a suite can depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // variants are used as suites are added
enum Need {
    WasmTarget,
    WasmBindgen,
    Chromium,
    Npm(&'static str),
    CargoFuzz,
    SecretService,
    WindowsTarget,
    Tinyproxy,
    Django,
}

impl Need {
    fn name(self) -> String {
        match self {
            Need::WasmTarget => "rustup target wasm32-unknown-unknown + rust-src".into(),
            Need::WasmBindgen => "wasm-bindgen-cli (Cargo.lock version)".into(),
            Need::Chromium => "Chromium + ChromeDriver (Debian)".into(),
            Need::Npm(dir) => format!("npm ci in {dir}"),
            Need::CargoFuzz => "cargo-fuzz".into(),
            Need::SecretService => "D-Bus + gnome-keyring + secret-tool (Debian)".into(),
            Need::WindowsTarget => {
                "rustup target x86_64-pc-windows-gnu + MinGW-w64 gcc (Debian)".into()
            }
            Need::Tinyproxy => "tinyproxy (Debian)".into(),
            Need::Django => "django-oauth-toolkit in target/django-venv (PyPI)".into(),
        }
    }

    fn install(self) -> Result<(), String> {
        match self {
            Need::WasmTarget => setup::wasm_target(),
            Need::WasmBindgen => setup::wasm_bindgen_cli(),
            Need::Chromium => setup::chromium(),
            Need::Npm(dir) => setup::npm(dir),
            Need::CargoFuzz => setup::cargo_fuzz(),
            Need::SecretService => setup::secret_service(),
            Need::WindowsTarget => setup::windows_target(),
            Need::Tinyproxy => setup::tinyproxy(),
            Need::Django => django::install(),
        }
    }
}

struct Suite {
    name: &'static str,
    about: &'static str,
    needs: &'static [Need],
    run: fn() -> Result<(), String>,
}

/// What building the npm package needs.
const WEB_NEEDS: &[Need] = &[
    Need::WasmTarget,
    Need::WasmBindgen,
    Need::Npm("npm"),
    Need::Npm("tests/npm"),
];

fn suites() -> Vec<Suite> {
    vec![
        Suite {
            name: "fmt",
            about: "cargo fmt --check",
            needs: &[],
            run: fmt,
        },
        Suite {
            name: "clippy",
            about: "clippy on every target, warnings denied",
            needs: &[],
            run: clippy,
        },
        Suite {
            name: "doc",
            about: "rustdoc, warnings denied",
            needs: &[],
            run: doc,
        },
        Suite {
            name: "layout",
            about: "no file over the size its crate's docs name; no import circle in native/src or wasm/src",
            needs: &[],
            run: layout::layout,
        },
        Suite {
            name: "rust",
            about: "cargo test --workspace (unit, vectors, property, doc tests, oidc-provider interop)",
            needs: &[Need::Npm("tests/interop")],
            run: rust_tests,
        },
        Suite {
            name: "core-wasm",
            about: "core builds for wasm32 and reads no clock or OS entropy",
            needs: &[Need::WasmTarget],
            run: core_wasm,
        },
        Suite {
            name: "wasm",
            about: "wasm-bindgen tests (shared vectors + bindings) in Node and headless Chromium",
            needs: &[Need::WasmTarget, Need::WasmBindgen, Need::Chromium],
            run: web::wasm_tests,
        },
        Suite {
            name: "npm",
            about: "npm package in Node: vectors and flows via the public API; npm pack, fresh install, strict TypeScript",
            needs: WEB_NEEDS,
            run: web::npm_tests,
        },
        Suite {
            name: "web-e2e",
            about: "Playwright + Chromium: package in pages (script, Vite), browser login, public-origin handoff",
            needs: &[
                Need::WasmTarget,
                Need::WasmBindgen,
                Need::Npm("npm"),
                Need::Npm("tests/npm"),
                Need::Chromium,
            ],
            run: web::web_e2e,
        },
        Suite {
            name: "size",
            about: "wasm size benchmark: raw and gzip -9, largest contributors; fails when a per-page module (cliauth/handoff, cliauth/device) is over its 23 KB gzip budget",
            needs: &[Need::WasmTarget, Need::WasmBindgen, Need::Npm("npm")],
            run: || web::size(true),
        },
        Suite {
            name: "e2e",
            about: "democli + cliauth-devserver + oidc-provider in Chromium (Playwright), -vv and --json, secret scan",
            needs: &[
                Need::WasmTarget,
                Need::WasmBindgen,
                Need::Npm("npm"),
                Need::Chromium,
                Need::Npm("tests/e2e"),
                Need::Npm("tests/interop"),
            ],
            run: e2e::e2e,
        },
        Suite {
            name: "fuzz-smoke",
            about: "every cargo-fuzz target: committed corpus replayed, then a short run",
            needs: &[Need::CargoFuzz],
            run: fuzz::smoke,
        },
        Suite {
            name: "keyring",
            about: "KeyringStore against a real Secret Service: private D-Bus session, throwaway unlocked gnome-keyring",
            needs: &[Need::SecretService],
            run: keyring::keyring,
        },
        Suite {
            name: "package",
            about: "cargo publish --dry-run for cliauth-core, cliauth and cliauth-devserver (packaged sources build; licences included)",
            needs: &[],
            run: package::package,
        },
        Suite {
            name: "proxy",
            about: "HTTPS_PROXY/NO_PROXY through a real tinyproxy on 127.0.0.1, TLS trusted through the platform verifier",
            needs: &[Need::Tinyproxy],
            run: proxy::proxy,
        },
        Suite {
            name: "django",
            about: "interop with django-oauth-toolkit (PyPI) on 127.0.0.1: code + PKCE through the loopback server, device flow, client secrets, rotation with reuse protection, revocation, RFC 8414 discovery",
            needs: &[Need::Django],
            run: django::django,
        },
        Suite {
            name: "windows",
            about: "the native crate, democli and the dev server type-check for Windows (x86_64-pc-windows-gnu), clippy warnings denied",
            needs: &[Need::WindowsTarget],
            run: windows,
        },
    ]
}

fn fmt() -> Result<(), String> {
    run(cmd("cargo").args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> Result<(), String> {
    run(cmd("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// Windows is not a test platform here, but its code paths (`%APPDATA%`, no Unix
/// permission bits, no termios) must compile warning-free. A separate target
/// directory keeps the host's build cache intact.
fn windows() -> Result<(), String> {
    let target = [
        "--target",
        setup::WINDOWS_TARGET,
        "--target-dir",
        "target/windows",
    ];
    run(cmd("cargo")
        .args(["clippy", "-p", "cliauth", "--all-targets", "--all-features"])
        .args(target)
        .args(["--", "-D", "warnings"]))?;
    run(cmd("cargo")
        .args([
            "clippy",
            "-p",
            "cliauth-demo",
            "-p",
            "cliauth-devserver",
            "--all-targets",
        ])
        .args(target)
        .args(["--", "-D", "warnings"]))
}

fn doc() -> Result<(), String> {
    run(cmd("cargo")
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))
}

fn rust_tests() -> Result<(), String> {
    // The native interop tests run against oidc-provider from tests/interop; with
    // this set they fail instead of skipping when it is not installed.
    // The django-oauth-toolkit tests are the `django` suite's (they need its
    // virtualenv); the IPv6-only login test needs user namespaces, which this
    // machine has.
    run(cmd("cargo")
        .args(["test", "--workspace", "--", "--skip", "django_"])
        .env("CLIAUTH_REQUIRE_INTEROP", "1")
        .env("CLIAUTH_REQUIRE_IPV6", "1"))
}

/// The core must stay portable and deterministic: it builds for wasm32, and its
/// sources never read a clock, OS entropy, files or sockets.
fn core_wasm() -> Result<(), String> {
    run(cmd("cargo").args([
        "build",
        "-p",
        "cliauth-core",
        "--target",
        "wasm32-unknown-unknown",
        "--release",
    ]))?;
    let forbidden = [
        "SystemTime::now",
        "Instant::now",
        "getrandom",
        "thread_rng",
        "OsRng",
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
    ];
    let mut hits = Vec::new();
    let dir = util::root().join("core").join("src");
    for path in layout::rust_files(&dir)? {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for f in forbidden {
                if code.contains(f) {
                    hits.push(format!("{}:{}: {f}", path.display(), n + 1));
                }
            }
        }
    }
    if hits.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "core/src must not do IO or read clocks/entropy:\n{}",
            hits.join("\n")
        ))
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <test [--only a,b] [--skip a,b] [--list] | bench [GROUP...] | setup | fuzz [--seconds N] [TARGET...] | npm-build | size [--enforce]>"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("bench") => match bench::bench(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("✗ {e}");
                ExitCode::FAILURE
            }
        },
        Some("fuzz") => match fuzz::campaign(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("✗ {e}");
                ExitCode::FAILURE
            }
        },
        Some("npm-build") => {
            report(install(&WEB_NEEDS[..3], &mut Vec::new()).and_then(|()| web::npm_build()))
        }
        Some("size") => report(
            install(&WEB_NEEDS[..3], &mut Vec::new())
                .and_then(|()| web::size(args.iter().any(|a| a == "--enforce"))),
        ),
        Some("setup") => {
            let all: Vec<Need> = suites()
                .iter()
                .flat_map(|s| s.needs.iter().copied())
                .collect();
            match install(&all, &mut Vec::new()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("✗ {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}

fn report(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("✗ {e}");
            ExitCode::FAILURE
        }
    }
}

fn install(needs: &[Need], done: &mut Vec<Need>) -> Result<(), String> {
    for need in needs {
        if done.contains(need) {
            continue;
        }
        let step = Step::begin(&format!("setup: {}", need.name()));
        let result = need.install();
        step.end(&result);
        result?;
        done.push(*need);
    }
    Ok(())
}

fn list_arg(args: &[String], flag: &str) -> Option<Vec<String>> {
    let i = args.iter().position(|a| a == flag)?;
    Some(
        args.get(i + 1)
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    )
}

fn test(args: &[String]) -> ExitCode {
    let all = suites();
    if args.iter().any(|a| a == "--list") {
        for s in &all {
            println!("{:<12} {}", s.name, s.about);
        }
        return ExitCode::SUCCESS;
    }
    let only = list_arg(args, "--only");
    let skip = list_arg(args, "--skip").unwrap_or_default();
    for name in only.iter().flatten().chain(skip.iter()) {
        if !all.iter().any(|s| s.name == name) {
            eprintln!("unknown suite `{name}` (see `cargo xtask test --list`)");
            return ExitCode::from(2);
        }
    }
    let selected: Vec<&Suite> = all
        .iter()
        .filter(|s| only.as_ref().is_none_or(|o| o.iter().any(|n| n == s.name)))
        .filter(|s| !skip.iter().any(|n| n == s.name))
        .collect();
    let started = std::time::Instant::now();
    let mut done = Vec::new();
    let mut results = Vec::new();
    for suite in selected {
        if let Err(e) = install(suite.needs, &mut done) {
            results.push((format!("{} (setup)", suite.name), 0.0, false));
            eprintln!("✗ setup for {} failed: {e}", suite.name);
            continue;
        }
        eprintln!("\n━━ suite {}: {}", suite.name, suite.about);
        let step = Step::begin(suite.name);
        let result = (suite.run)();
        results.push(step.end(&result));
    }
    eprintln!("\n━━ summary ({:.0}s)", started.elapsed().as_secs_f64());
    for (name, secs, ok) in &results {
        eprintln!("  {} {name:<40} {secs:>7.1}s", if *ok { "✓" } else { "✗" });
    }
    if results.iter().all(|(_, _, ok)| *ok) {
        eprintln!("all suites passed");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
