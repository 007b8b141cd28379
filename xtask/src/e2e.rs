//! Suite `e2e`: the whole journey end to end — the real `democli` and
//! `cliauth-devserver` binaries, panva's oidc-provider (`tests/interop`) and Debian's
//! Chromium driven by playwright-core (`tests/e2e`) — with the secret scan.
//!
//! It builds what it needs (`cargo build -p cliauth-demo -p cliauth-devserver`, the
//! npm package the dev server's pages import), then runs `tests/e2e` twice: every
//! democli command with `-vv` (variant `verbose`), then with `--json -vv` (variant
//! `json`). Each test scans everything democli printed, the dev server's request log
//! and every file under its `DEMO_HOME` except `credentials.json` for every secret of
//! the run (recorded by the servers, read from `credentials.json`, seen in the
//! browser; PKCE verifiers also by their challenges), and fails on any occurrence. The per-test scan reports land in
//! `tests/e2e/test-results/`; this suite prints their totals.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{cmd, root, run};

const VARIANTS: [&str; 2] = ["verbose", "json"];
const FILES: [&str; 3] = ["scan.test.mjs", "devserver.test.mjs", "oidc.test.mjs"];

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Runs the suite.
pub fn e2e() -> Result<(), String> {
    run(cmd("cargo").args(["build", "-p", "cliauth-demo", "-p", "cliauth-devserver"]))?;
    crate::web::npm_build()?;
    let dir = root().join("tests").join("e2e");
    let results = dir.join("test-results");
    if results.exists() {
        std::fs::remove_dir_all(&results).map_err(|e| format!("{}: {e}", results.display()))?;
    }
    for variant in VARIANTS {
        eprintln!("  variant {variant}");
        run(cmd("node")
            .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
            .args(FILES)
            .current_dir(&dir)
            .env("E2E_VARIANT", variant)
            .env("E2E_REPORT_DIR", &results)
            .env("CLIAUTH_E2E_TARGET_DIR", target_dir()))?;
    }
    let summary = summarize(&results)?;
    eprintln!("{summary}");
    Ok(())
}

/// Totals of the per-test scan reports; an error if a report has findings (the tests
/// fail first; this double-checks) or if there are none at all.
fn summarize(results: &std::path::Path) -> Result<String, String> {
    let mut reports = 0;
    let (mut values, mut items, mut bytes, mut user_codes, mut challenges, mut findings) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut kinds: std::collections::BTreeMap<String, u64> = Default::default();
    let entries = std::fs::read_dir(results).map_err(|e| format!("{}: {e}", results.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.starts_with("secret-scan-") && name.ends_with(".json")) {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let report: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let n = |k: &str| report[k].as_u64().unwrap_or(0);
        reports += 1;
        values += n("values");
        items += n("items");
        bytes += n("bytes");
        user_codes += n("userCodesExcluded");
        challenges += n("challenges");
        findings += report["findings"].as_array().map_or(0, |f| f.len() as u64);
        // Each value once, under its main kind (the report's `kinds` names a value
        // seen in several places several times).
        if let Some(map) = report["primaryKinds"].as_object() {
            for (k, v) in map {
                *kinds.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
            }
        }
    }
    if reports == 0 {
        return Err("no secret-scan reports were written".into());
    }
    if findings > 0 {
        return Err(format!(
            "{findings} secret findings in {}",
            results.display()
        ));
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
    Ok(format!(
        "  secret scan: {reports} scenarios, {values} distinct secrets ({}), plus the verifiers of \
         {challenges} PKCE challenges; {items} captured outputs and files, {bytes} bytes scanned; \
         {user_codes} user codes excluded by design; 0 findings",
        kinds.join(", ")
    ))
}
