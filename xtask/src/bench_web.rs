//! Benchmark groups for the web side: bytes shipped by the npm package (with
//! oauth4webapi as the baseline) and handoff latency in Chromium (with a plain-JS page
//! as the baseline).

use std::path::Path;

use serde_json::Value;

use crate::bench::Row;
use crate::util::{cmd, output, root, run};

/// `gzip -9` size of a file.
fn gzip9(path: &Path) -> Result<f64, String> {
    let out = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip {} failed", path.display()));
    }
    Ok(out.stdout.len() as f64)
}

fn raw(path: &Path) -> Result<f64, String> {
    std::fs::metadata(path)
        .map(|m| m.len() as f64)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn web_setup() -> Result<(), String> {
    crate::setup::wasm_target()?;
    crate::setup::wasm_bindgen_cli()?;
    crate::setup::chromium()?;
    crate::setup::npm("npm")?;
    crate::setup::npm("tests/npm")?;
    crate::setup::npm("tests/bench")?;
    crate::web::npm_build()
}

/// wasm + glue of the page and full modules, raw and gzip -9, against oauth4webapi.
pub fn web_bytes() -> Result<Vec<Row>, String> {
    web_setup()?;
    let dist = root().join("npm").join("dist");
    let baseline: Value = serde_json::from_str(
        output(
            cmd("node")
                .arg("web-bytes.mjs")
                .current_dir(root().join("tests").join("bench")),
        )?
        .trim(),
    )
    .map_err(|e| e.to_string())?;
    let version = baseline["version"].as_str().unwrap_or("?").to_string();
    let same = baseline["same"]["gzip"].as_f64().unwrap_or(f64::NAN);
    let whole = baseline["whole"]["gzip"].as_f64().unwrap_or(f64::NAN);
    let mut rows = Vec::new();
    for (module, label, entry) in [
        (
            "cliauth_handoff",
            "cli-auth page module (`cliauth/handoff`)",
            "handoff.js",
        ),
        (
            "cliauth_device",
            "device page module (`cliauth/device`)",
            "device.js",
        ),
        (
            "cliauth_page",
            "both pages' module (`cliauth`: cli-auth + device helpers)",
            "index.js",
        ),
        (
            "cliauth_full",
            "full module (`cliauth/full`: + PKCE, tokens, device/refresh machines, storage, browser login)",
            "full.js",
        ),
    ] {
        let wasm = dist.join(format!("{module}_bg.wasm"));
        let js = dist.join(entry);
        let (wasm_raw, wasm_gz, js_raw, js_gz) =
            (raw(&wasm)?, gzip9(&wasm)?, raw(&js)?, gzip9(&js)?);
        let total = wasm_gz + js_gz;
        let how = format!(
            "everything a browser loads: wasm {:.1} KB raw / {:.1} KB gz + {entry} (loader or glue, API, error class; one minified ESM file) {:.1} KB raw / {:.1} KB gz",
            wasm_raw / 1024.0,
            wasm_gz / 1024.0,
            js_raw / 1024.0,
            js_gz / 1024.0,
        );
        let mut row = Row::new(
            "Web bytes (gzip -9)",
            format!("{label}: wasm + all JS"),
            total,
            "bytes",
        )
        .method(how);
        if module != "cliauth_full" {
            row = row
                .baseline(
                    &format!("oauth4webapi {version}, whole module (esbuild, minified)"),
                    whole,
                )
                .goal("≤ 14 KB", total <= 14.0 * 1024.0);
        } else {
            row = row
                .baseline(
                    &format!("oauth4webapi {version}, the same functions (esbuild, minified)"),
                    same,
                )
                .goal("≤ 40 KB", total <= 40.0 * 1024.0);
        }
        rows.push(row);
    }
    // The single-file cli-auth page entry: the fastest handoff, in more bytes.
    let inline = dist.join("handoff-inline.js");
    rows.push(
        Row::new(
            "Web bytes (gzip -9)",
            "cli-auth page module in one file (`cliauth/handoff/inline`: the entry with its wasm as base64)",
            gzip9(&inline)?,
            "bytes",
        )
        .baseline(
            &format!("oauth4webapi {version}, whole module (esbuild, minified)"),
            whole,
        )
        .method(format!(
            "one minified ESM file, {:.1} KB raw; what the page loads when its bundler inlines it (no separate module to fetch: the handoff latency row's page)",
            raw(&inline)? / 1024.0
        )),
    );
    rows.push(
        Row::new("Web bytes (gzip -9)", format!("oauth4webapi {version}: the functions cliauth/full covers"), same, "bytes")
            .method("esbuild --bundle --minify, ESM, browser, es2022: PKCE, state, discovery, callback validation, code exchange, refresh, device flow, revocation, bearer call"),
    );
    rows.push(
        Row::new(
            "Web bytes (gzip -9)",
            format!("oauth4webapi {version}: whole module"),
            whole,
            "bytes",
        )
        .method("esbuild --bundle --minify of `export * from 'oauth4webapi'`"),
    );
    Ok(rows)
}

/// Navigation of a cli-auth page → credential at the loopback server, in Chromium.
pub fn handoff_latency() -> Result<Vec<Row>, String> {
    web_setup()?;
    run(cmd("cargo").args(["build", "--release", "-p", "cliauth-test-harness"]))?;
    let harness = root()
        .join("target")
        .join("release")
        .join("cliauth-test-harness");
    let text = output(
        cmd("node")
            .arg("bench/handoff-latency.mjs")
            .current_dir(root().join("tests").join("npm"))
            .env("CLIAUTH_HARNESS", &harness)
            .env("RUNS", "61"),
    )?;
    let v: Value =
        serde_json::from_str(text.lines().last().unwrap_or_default()).map_err(|e| e.to_string())?;
    let f = |k: &str, s: &str| v[k][s].as_f64().unwrap_or(f64::NAN);
    let how = |k: &str| {
        format!(
            "headless Chromium, page origin public, real loopback server; {} runs interleaved after a warm-up; p10 {:.1} ms, p90 {:.1} ms",
            v[k]["runs"],
            f(k, "p10"),
            f(k, "p90")
        )
    };
    let plain = f("plain", "median");
    Ok(vec![
        Row::new(
            "Handoff latency",
            "cli-auth page with the cliauth package in one file (`cliauth/handoff/inline` bundled into the page) → credential at the loopback server (median)",
            f("inline", "median"),
            "ms",
        )
        .baseline("hand-written plain-JS page, same checks and redirect", plain)
        .goal(
            "≤ 1.1× the plain-JS page",
            f("inline", "median") <= 1.1 * plain,
        )
        .method(format!(
            "{}; the page {:.1} KB raw (its script: the entry and the wasm module as base64, bundled by esbuild), nothing else fetched",
            how("inline"),
            v["inlineBytes"].as_f64().unwrap_or(f64::NAN) / 1024.0
        )),
        Row::new(
            "Handoff latency",
            "cli-auth page with the cliauth package as two files (`cliauth/handoff` and its wasm module, preloaded) → credential at the loopback server (median)",
            f("package", "median"),
            "ms",
        )
        .baseline("hand-written plain-JS page, same checks and redirect", plain)
        .method(format!(
            "{}; `modulepreload` for the entry, `preload as=fetch` for the module, `instantiateStreaming`",
            how("package")
        )),
    ])
}

/// The section of BENCHMARKS.md under the tables: where the web bytes go in this
/// build (measured now) and the path to the size goals.
pub fn notes() -> String {
    let contributors = crate::web::contributors()
        .unwrap_or_else(|e| format!("  (contributors not measured: {e})\n"));
    format!(
        "\n## Web bytes: where they go, and the path to the goals\n\n\
         Largest contributors of this build (`cargo xtask size`, raw bytes after `wasm-opt -Oz`; `pageCall` \
         and the full build's export shims include what was inlined into them):\n\n```\n{contributors}```\n\n{PATH}"
    )
}

/// The prose under the contributors: what was done, where the bytes are, the path
/// to the goals. Kept in its own file so BENCHMARKS.md regenerates it verbatim.
const PATH: &str = include_str!("web_path.md");
