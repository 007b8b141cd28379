//! `cargo xtask bench`: one table of measured numbers, with baselines from the same run.
//!
//! Each group measures something users pay for (bytes shipped, latency, start-up time,
//! requests to rate-limited servers) and returns rows. The table is printed, and
//! written to `BENCHMARKS.md` and `BENCHMARKS.json` at the repository root.

use std::fmt::Write as _;

use crate::util::{cmd, output, root, run};

/// One measured number.
#[derive(Clone, Debug)]
pub struct Row {
    /// The group, e.g. `Core micro-benchmarks`.
    pub group: &'static str,
    /// What was measured.
    pub name: String,
    /// The value, formatted with its unit.
    pub value: String,
    /// The raw value for JSON.
    pub raw: f64,
    /// The unit of `raw`.
    pub unit: &'static str,
    /// The baseline measured in the same run, formatted, if any.
    pub baseline: Option<String>,
    /// `value / baseline` when both are numbers.
    pub ratio: Option<f64>,
    /// The goal or budget and whether it is met.
    pub goal: Option<(String, bool)>,
    /// How it was measured.
    pub method: String,
}

impl Row {
    pub fn new(group: &'static str, name: impl Into<String>, raw: f64, unit: &'static str) -> Row {
        Row {
            group,
            name: name.into(),
            value: format_value(raw, unit),
            raw,
            unit,
            baseline: None,
            ratio: None,
            goal: None,
            method: String::new(),
        }
    }

    pub fn baseline(mut self, name: &str, raw: f64) -> Row {
        self.baseline = Some(format!("{name}: {}", format_value(raw, self.unit)));
        if raw > 0.0 {
            self.ratio = Some(self.raw / raw);
        }
        self
    }

    pub fn goal(mut self, text: impl Into<String>, met: bool) -> Row {
        self.goal = Some((text.into(), met));
        self
    }

    pub fn method(mut self, text: impl Into<String>) -> Row {
        self.method = text.into();
        self
    }
}

/// `1234.5 ns` → `1.23 µs`, bytes → `12.3 KB`, and so on.
pub fn format_value(raw: f64, unit: &str) -> String {
    match unit {
        "ns" if raw >= 1_000_000.0 => format!("{:.2} ms", raw / 1_000_000.0),
        "ns" if raw >= 1_000.0 => format!("{:.2} µs", raw / 1_000.0),
        "ns" => format!("{raw:.0} ns"),
        "ms" if raw >= 1_000.0 => format!("{:.2} s", raw / 1_000.0),
        "ms" => format!("{raw:.1} ms"),
        "bytes" if raw >= 1024.0 => format!("{:.1} KB", raw / 1024.0),
        "bytes" => format!("{raw:.0} B"),
        "count" => format!("{raw:.0}"),
        "s" => format!("{raw:.1} s"),
        other => format!("{raw:.2} {other}"),
    }
}

type Group = (&'static str, fn() -> Result<Vec<Row>, String>);

fn groups() -> Vec<Group> {
    vec![
        ("web-bytes", crate::bench_web::web_bytes),
        ("handoff", crate::bench_web::handoff_latency),
        ("cold-start", crate::bench_cli::cold_start),
        ("storm", crate::bench_cli::refresh_storm),
        ("device", crate::bench_cli::device_efficiency),
        ("loopback", crate::bench_cli::loopback_slow_body),
        ("micro", micro),
    ]
}

/// hyperfine, from Debian's packages.
pub fn ensure_hyperfine() -> Result<(), String> {
    if crate::util::succeeds("hyperfine", &["--version"]) {
        return Ok(());
    }
    crate::setup::apt_install(&["hyperfine"])
}

/// Runs the selected groups (all by default), prints and writes the table.
pub fn bench(args: &[String]) -> Result<(), String> {
    let only: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (name, group) in groups() {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        eprintln!("\n━━ bench: {name}");
        match group() {
            Ok(r) => rows.extend(r),
            Err(e) => {
                eprintln!("━━ bench {name} ✗ {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    let table = markdown(&rows);
    println!("\n{table}");
    if only.is_empty() {
        let date = output(cmd("date").args(["-u", "+%Y-%m-%d"])).unwrap_or_default();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let doc = format!(
            "# cliauth benchmarks\n\nMeasured by `cargo xtask bench` on {} — {cores} cores ({cpu}), Linux. Baselines \
             are measured in the same run. Regenerate with `cargo xtask bench`.\n\n{table}\n{}{}",
            date.trim(),
            crate::bench_web::notes(),
            if failures.is_empty() {
                String::new()
            } else {
                format!(
                    "\nGroups that failed in this run: {}\n",
                    failures.join("; ")
                )
            }
        );
        std::fs::write(root().join("BENCHMARKS.md"), doc).map_err(|e| e.to_string())?;
        let json: Vec<String> = rows.iter().map(row_json).collect();
        std::fs::write(
            root().join("BENCHMARKS.json"),
            format!(
                "{{\n  \"date\": \"{}\",\n  \"cores\": {cores},\n  \"rows\": [\n    {}\n  ]\n}}\n",
                date.trim(),
                json.join(",\n    ")
            ),
        )
        .map_err(|e| e.to_string())?;
        eprintln!("wrote BENCHMARKS.md and BENCHMARKS.json");
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn row_json(r: &Row) -> String {
    format!(
        "{{\"group\": \"{}\", \"name\": \"{}\", \"value\": {}, \"unit\": \"{}\", \"baseline\": {}, \"ratio\": {}, \"goal\": {}, \"goal_met\": {}}}",
        escape(r.group),
        escape(&r.name),
        r.raw,
        r.unit,
        r.baseline
            .as_ref()
            .map_or("null".into(), |b| format!("\"{}\"", escape(b))),
        r.ratio.map_or("null".into(), |x| format!("{x:.3}")),
        r.goal
            .as_ref()
            .map_or("null".into(), |(g, _)| format!("\"{}\"", escape(g))),
        r.goal
            .as_ref()
            .map_or("null".into(), |(_, m)| m.to_string()),
    )
}

fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut group = "";
    for r in rows {
        if r.group != group {
            group = r.group;
            let _ = writeln!(
                out,
                "\n### {group}\n\n| Measure | Value | Baseline (same run) | Ratio | Goal | How |\n| --- | ---: | --- | ---: | --- | --- |"
            );
        }
        let goal = match &r.goal {
            Some((g, true)) => format!("✓ {g}"),
            Some((g, false)) => format!("✗ {g}"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            r.value,
            r.baseline.clone().unwrap_or_default(),
            r.ratio
                .map(|x| {
                    // A row many times faster than its baseline reads `1/870×`, not `0.00×`.
                    if x > 0.0 && x < 0.1 {
                        format!("1/{:.0}×", 1.0 / x)
                    } else {
                        format!("{x:.2}×")
                    }
                })
                .unwrap_or_default(),
            goal,
            r.method
        );
    }
    out
}

/// Criterion's median for a benchmark id, in nanoseconds.
fn criterion_median(id: &str) -> Result<f64, String> {
    let path = root()
        .join("target")
        .join("criterion")
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let after = text
        .split("\"median\"")
        .nth(1)
        .ok_or("no median in estimates.json")?;
    let value = after
        .split("\"point_estimate\":")
        .nth(1)
        .ok_or("no point estimate")?;
    let number: String = value
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-' || *c == '+')
        .collect();
    number
        .parse()
        .map_err(|e| format!("bad estimate {number}: {e}"))
}

/// Core micro-benchmarks (criterion medians).
fn micro() -> Result<Vec<Row>, String> {
    run(cmd("cargo").args([
        "bench",
        "-p",
        "cliauth-core",
        "--bench",
        "core",
        "--",
        "--warm-up-time",
        "1",
        "--measurement-time",
        "3",
    ]))?;
    let mut rows = Vec::new();
    for (id, what) in [
        (
            "pkce_pair",
            "PKCE pair (verifier from 32 bytes + S256 challenge)",
        ),
        (
            "key_diagnosis",
            "Key validation, 4 inputs (valid, `Bearer `, GitHub token, truncated)",
        ),
        (
            "callback_parse",
            "Loopback callback: parse request, Host/path/state checks, page",
        ),
        ("callback_query_parse", "Callback query parse"),
        (
            "token_response_parse",
            "Token response parse (RFC 6749 §5.1)",
        ),
    ] {
        rows.push(
            Row::new("Core micro-benchmarks", what, criterion_median(id)?, "ns")
                .method("criterion median"),
        );
    }
    rows.push(
        Row::new(
            "Core micro-benchmarks",
            "Loopback slow-body POST: 15 KiB head, then 2000 body bytes one per read",
            criterion_median("trickled_request_incremental")?,
            "ns",
        )
        .baseline(
            "the whole buffer parsed again on every read (before)",
            criterion_median("trickled_request_reparse")?,
        )
        .method("criterion median, `RequestParser` fed 2001 reads"),
    );
    Ok(rows)
}
