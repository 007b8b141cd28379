//! The shared test vectors (`tests/vectors/*.json`), run natively. The same runner
//! runs in wasm (Chromium and Node) from the `cliauth-wasm` tests.

#[path = "vectors/runner.rs"]
mod runner;

macro_rules! vector_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let outcome = runner::run(stringify!($name));
            assert!(
                outcome.failures.is_empty(),
                "{} of {} {} vectors failed:\n{}",
                outcome.failures.len(),
                outcome.cases,
                stringify!($name),
                outcome.failures.join("\n")
            );
        }
    )*};
}

vector_tests!(
    pkce,
    keys,
    jwt,
    authorize,
    loopback,
    token_responses,
    http_errors,
    retry,
    device,
    user_codes,
    handoff,
    credentials,
    discovery,
);

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
