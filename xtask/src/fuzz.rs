//! Fuzzing: a smoke run for `cargo xtask test`, and long campaigns.

use std::path::PathBuf;

use crate::util::{cmd, output, root, run};

/// The cargo-fuzz targets, one per core parser.
pub fn targets() -> Result<Vec<String>, String> {
    let dir = root().join("fuzz").join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

fn fuzz_cmd() -> std::process::Command {
    let mut c = cmd("cargo");
    c.current_dir(root().join("fuzz"));
    c.arg("fuzz");
    c
}

fn corpus(target: &str) -> PathBuf {
    root().join("fuzz").join("corpus").join(target)
}

/// Builds every target, replays each committed corpus (so former crashers stay
/// fixed), then fuzzes each target briefly.
pub fn smoke() -> Result<(), String> {
    run(fuzz_cmd().args(["build", "--sanitizer", "none"]))?;
    let mut failed = Vec::new();
    for target in targets()? {
        let dir = corpus(&target);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // A scratch corpus keeps the committed one unchanged.
        let scratch = root()
            .join("fuzz")
            .join("target")
            .join("smoke-corpus")
            .join(&target);
        std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
        let fuzzed = fuzz_once(&target, &[&scratch, &dir], 8)?;
        eprintln!("  {target}: {}", fuzzed.summary());
        if !fuzzed.ok {
            // libFuzzer's own report (the crash, its input and the artifact path) is
            // at the end of its log; the progress lines before it are noise.
            let lines: Vec<&str> = fuzzed.log.lines().collect();
            for line in &lines[lines.len().saturating_sub(80)..] {
                eprintln!("    {line}");
            }
            failed.push(target);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz target(s) crashed: {} (inputs in fuzz/artifacts)",
            failed.join(", ")
        ))
    }
}

/// One libFuzzer run, its log captured and its final statistics read.
struct FuzzRun {
    ok: bool,
    log: String,
    execs: String,
    coverage: String,
}

impl FuzzRun {
    fn summary(&self) -> String {
        format!(
            "{} executions, coverage {} edges, {}",
            self.execs,
            self.coverage,
            if self.ok { "no crash" } else { "CRASHED" }
        )
    }
}

fn fuzz_once(target: &str, corpora: &[&std::path::Path], seconds: u64) -> Result<FuzzRun, String> {
    let out = fuzz_cmd()
        .args(["run", "--sanitizer", "none", target])
        .args(corpora)
        .args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-print_final_stats=1",
        ])
        .output()
        .map_err(|e| format!("could not start cargo fuzz: {e}"))?;
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let execs = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "?".into());
    let coverage = log
        .lines()
        .rev()
        .find_map(|l| {
            l.split("cov: ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into());
    Ok(FuzzRun {
        ok: out.status.success(),
        log,
        execs,
        coverage,
    })
}

/// A campaign: `--seconds N` per target (default 300), all targets unless named.
/// New corpus entries are merged into `fuzz/corpus/<target>` and minimised with
/// `cargo fuzz cmin`; executions and results are appended to `fuzz/RESULTS.md`.
pub fn campaign(args: &[String]) -> Result<(), String> {
    crate::setup::cargo_fuzz()?;
    let mut seconds = 300u64;
    let mut chosen = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seconds" {
            seconds = it
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or("--seconds needs a number")?;
        } else {
            chosen.push(a.clone());
        }
    }
    let all = targets()?;
    let chosen = if chosen.is_empty() { all } else { chosen };
    run(fuzz_cmd().args(["build", "--sanitizer", "none"]))?;
    let mut rows = Vec::new();
    for target in &chosen {
        let dir = corpus(target);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        eprintln!("  fuzzing {target} for {seconds}s");
        let fuzzed = fuzz_once(target, &[&dir], seconds)?;
        // Keep the committed corpus small: only inputs that add coverage.
        if fuzzed.ok {
            run(fuzz_cmd()
                .args(["cmin", "--sanitizer", "none", target])
                .arg(&dir))?;
        }
        let (execs, coverage) = (&fuzzed.execs, &fuzzed.coverage);
        let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let crashes = std::fs::read_dir(root().join("fuzz").join("artifacts").join(target))
            .map(|d| d.count())
            .unwrap_or(0);
        let result = if fuzzed.ok {
            "no crash".to_string()
        } else {
            format!("FAILED ({crashes} artifacts)")
        };
        eprintln!("  {target}: {execs} executions, coverage {coverage}, corpus {files}, {result}");
        rows.push(format!(
            "| {target} | {seconds} | {execs} | {coverage} | {files} | {result} |"
        ));
    }
    let date = output(cmd("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut text = std::fs::read_to_string(root().join("fuzz").join("RESULTS.md")).unwrap_or_else(|_| {
        "# Fuzzing results\n\nCampaigns run with `cargo xtask fuzz --seconds N` (cargo-fuzz, libFuzzer, stable \
         toolchain, `--sanitizer none`). Corpora are committed under `fuzz/corpus/`; crashers become \
         regression inputs there and are replayed by `cargo xtask test` (suite `fuzz-smoke`).\n"
            .to_string()
    });
    text.push_str(&format!(
        "\n## {} — {cores} cores, {seconds} s per target\n\n| Target | Seconds | Executions | Coverage (edges) | Corpus files | Result |\n| --- | ---: | ---: | ---: | ---: | --- |\n{}\n",
        date.trim(),
        rows.join("\n")
    ));
    std::fs::write(root().join("fuzz").join("RESULTS.md"), text).map_err(|e| e.to_string())?;
    if rows.iter().any(|r| r.contains("FAILED")) {
        return Err("a fuzz target crashed; see fuzz/artifacts".into());
    }
    Ok(())
}
