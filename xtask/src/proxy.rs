//! The `proxy` suite: `native/tests/proxy.rs` with tinyproxy required.
//!
//! The tests start Debian's tinyproxy on 127.0.0.1 themselves (their own config and
//! log, killed by pid), in front of a TLS server whose CA they generate; children of
//! the test binary get `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` and `SSL_CERT_FILE`.
//! With `CLIAUTH_REQUIRE_PROXY=1` a missing tinyproxy fails instead of skipping.

use crate::util::{cmd, run};

pub fn proxy() -> Result<(), String> {
    run(cmd("cargo")
        .args(["test", "-p", "cliauth", "--test", "proxy"])
        .env("CLIAUTH_REQUIRE_PROXY", "1"))
}
