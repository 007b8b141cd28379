//! Crash safety: a writer killed with SIGKILL at random moments never leaves an
//! empty, partial or unparsable credentials file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]
#![cfg(unix)]

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cliauth::cliauth_core::credentials::CredentialsDocument;

#[test]
fn sigkill_at_random_points_never_leaves_a_damaged_file() {
    let writer = common::example("store_writer");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let path = dir.join("credentials.json");
    // xorshift, seeded from the clock; the seed is printed so a failure can be replayed.
    let mut seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| cliauth::now().unix_millis() | 1);
    eprintln!("CRASH_SEED={seed}");
    let mut random = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    // Meanwhile a reader keeps reading the file: it must never see a torn state
    // either (a non-atomic write shows up here even when no kill lands inside it).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = std::thread::spawn({
        let (path, stop) = (path.clone(), std::sync::Arc::clone(&stop));
        move || {
            let mut reads = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(bytes) = std::fs::read(&path) {
                    if let Err(e) = CredentialsDocument::from_json(&bytes) {
                        return Err(format!(
                            "a reader saw a damaged file ({} bytes): {e}",
                            bytes.len()
                        ));
                    }
                    reads += 1;
                }
            }
            Ok(reads)
        }
    });
    let started = Instant::now();
    let (mut writes, mut kills) = (0u64, 0u64);
    while (writes < 300 || kills < 100) && kills < 3000 {
        // umask 000: the modes must come from open(2)/mkdir(2), not the umask.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("umask 000; exec \"$0\" \"$1\"")
            .arg(&writer)
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Up to 80 ms: long enough for writes to complete even on a loaded machine.
        std::thread::sleep(Duration::from_micros(500 + random(80_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        writes += out.lines().count() as u64;
        if writes == 0 {
            continue; // killed before the first write ever finished
        }
        let bytes = std::fs::read(&path).expect("the file vanished after a completed write");
        assert!(!bytes.is_empty(), "empty file after {kills} kills");
        let doc = CredentialsDocument::from_json(&bytes)
            .unwrap_or_else(|e| panic!("unparsable after {kills} kills and {writes} writes: {e}"));
        assert!(!doc.profiles.is_empty());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap().unwrap();
    eprintln!(
        "{writes} completed writes, {kills} SIGKILLs, {reads} concurrent reads, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(writes >= 200, "only {writes} writes completed");
    assert!(kills >= 100);
    // Temporary files of killed writers are cleaned up by the next writer.
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert!(leftovers <= 1, "{leftovers} temporary files left");
}
