//! The shared test vectors (`tests/vectors/*.json`), run natively: one test per file
//! (`runner::file::*`, declared by the runner). The same runner runs in wasm
//! (Chromium and Node) from the `cliauth-wasm` tests.

#[path = "vectors/runner.rs"]
mod runner;

#[test]
fn every_vector_file_is_run() {
    let on_disk: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
            .collect();
    for file in &on_disk {
        assert!(
            runner::FILES.iter().any(|(n, _)| n == file),
            "tests/vectors/{file}.json is not run"
        );
    }
    assert_eq!(on_disk.len(), runner::FILES.len());
}
