//! The loopback server under a connect flood (issue 10, item 9), with real sockets.
//!
//! The server runs in this process, exactly as a login waits on it (current-thread
//! runtime, default options: 64 connections); another process
//! (`native/examples/loopback_flood.rs`) floods it for a few seconds — 300 tasks
//! opening connections as fast as they can, a third holding them silent, a third
//! closing at once, a third sending half a request and holding it — while 150
//! complete one-write callbacks are spread over the same time, then sends the real
//! callback. Asserted:
//!
//! - every one of the 150 legitimate callbacks is answered (0 closed unanswered);
//! - the real callback ends the login with its code;
//! - the process never holds more sockets than before the flood plus
//!   `max_connections` (the descriptors in `/proc/self/fd` that are sockets, sampled
//!   every millisecond): the listeners are in the baseline, so at most 64 sockets are
//!   ever open for connections, however many connect;
//! - and no more descriptors of any kind than the baseline plus `max_connections`
//!   plus one: the file the peer lookup reads (`/proc/net/tcp`, see
//!   `native/src/peer.rs`) while a complete request waits for its answer.
//!
//! This file holds one test, so nothing else in the process opens descriptors.
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cliauth::loopback::{LoopbackOptions, LoopbackServer};
use cliauth_core::loopback::{LoopbackConfig, LoopbackHandler};
use cliauth_core::state::StateToken;

/// The open descriptors: all of them, and those that are sockets.
fn open_fds() -> (usize, usize) {
    let (mut all, mut sockets) = (0, 0);
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        all += 1;
        // A descriptor closed since the listing has no link any more: not a socket.
        if std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        {
            sockets += 1;
        }
    }
    (all, sockets)
}

#[test]
fn a_connect_flood_leaves_no_callback_unanswered_and_holds_the_socket_limit() {
    let client = common::example("loopback_flood");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut options = LoopbackOptions::default();
    options.cancel_on_ctrl_c = false;
    let limit = options.max_connections;
    let (seconds, attackers, legit) = (5, 300, 150);
    runtime.block_on(async {
        let server = LoopbackServer::bind(options).unwrap();
        let port = server.port();
        let state = StateToken::from_entropy(&[0x42; 32]);
        let handler = LoopbackHandler::new(LoopbackConfig::new(port, "Acme"), &state);
        let child = Command::new(&client)
            .args(["flood", &port.to_string(), state.expose_secret()])
            .args([seconds, attackers, legit].map(|n: u32| n.to_string()))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Listeners and the child's pipe are open now: the baseline.
        let (baseline, baseline_sockets) = open_fds();
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(baseline));
        let peak_sockets = Arc::new(AtomicUsize::new(baseline_sockets));
        let sampler = std::thread::spawn({
            let (stop, peak, peak_sockets) = (
                Arc::clone(&stop),
                Arc::clone(&peak),
                Arc::clone(&peak_sockets),
            );
            move || {
                let mut samples = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // `read_dir`'s own descriptor is counted in the baseline too.
                    let (all, sockets) = open_fds();
                    peak.fetch_max(all, Ordering::Relaxed);
                    peak_sockets.fetch_max(sockets, Ordering::Relaxed);
                    samples += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                samples
            }
        });
        let result = server.wait(handler, Duration::from_secs(180)).await;
        stop.store(true, Ordering::Relaxed);
        let samples = sampler.join().unwrap();
        let out = child.wait_with_output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("client output: {}", String::from_utf8_lossy(&out.stdout)));
        let peak = peak.load(Ordering::Relaxed);
        let peak_sockets = peak_sockets.load(Ordering::Relaxed);
        eprintln!(
            "flood report: {report}\npeak sockets {peak_sockets}, baseline {baseline_sockets}; \
             peak descriptors {peak}, baseline {baseline}; limit {limit} ({samples} samples)"
        );
        let params = result.expect("the login did not end with the real callback");
        assert_eq!(params.code.unwrap().expose_secret(), "real-code");
        assert_eq!(report["real"], 200, "{report}");
        assert_eq!(report["legit"], legit, "{report}");
        assert_eq!(
            report["unanswered"], 0,
            "complete one-write callbacks were closed unanswered: {report}"
        );
        assert_eq!(report["statuses"]["400"], legit, "{report}");
        assert!(
            report["attacker_connections"].as_u64().unwrap() > u64::from(attackers),
            "the flood did not happen: {report}"
        );
        assert!(
            peak_sockets <= baseline_sockets + limit,
            "the process held {} sockets over its baseline, more than the {limit}-connection limit",
            peak_sockets - baseline_sockets
        );
        assert!(
            peak <= baseline + limit + 1,
            "the process held {} descriptors over its baseline, more than the {limit} connections \
             and the peer lookup's file",
            peak - baseline
        );
    });
}
