//! The `django` suite: cliauth against django-oauth-toolkit, a second real OAuth 2.0
//! / OpenID Connect server besides panva's oidc-provider.
//!
//! [`install`] creates `target/django-venv` with the machine's Python (3.10 or
//! newer, which Django 5.2 needs) and installs `tests/django/requirements.txt`
//! from PyPI with pip. It is idempotent: the requirements' text is recorded in the
//! virtualenv, and nothing is installed when it matches. The tests
//! (`tests/harness/tests/django.rs`) start `tests/django/server.py` on 127.0.0.1
//! for each test, with a fresh database.

use std::path::PathBuf;

use crate::util::{cmd, output, root, run};

fn venv() -> PathBuf {
    root().join("target").join("django-venv")
}

fn requirements() -> PathBuf {
    root().join("tests").join("django").join("requirements.txt")
}

/// A Python interpreter of at least 3.10.
fn python() -> Result<String, String> {
    for candidate in [
        "python3.13",
        "python3.12",
        "python3.11",
        "python3.10",
        "python3",
    ] {
        let version =
            output(cmd(candidate).args(["-c", "import sys; print(sys.version_info >= (3, 10))"]));
        if version.is_ok_and(|v| v.trim() == "True") {
            return Ok(candidate.to_string());
        }
    }
    Err(
        "django-oauth-toolkit needs Python 3.10 or newer with venv and pip (python3.10+ not found)"
            .into(),
    )
}

/// Installs the virtualenv (idempotent).
pub fn install() -> Result<(), String> {
    let wanted = std::fs::read_to_string(requirements()).map_err(|e| e.to_string())?;
    let marker = venv().join("cliauth-requirements.txt");
    let python_bin = venv().join("bin").join("python");
    if python_bin.exists() && std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(());
    }
    let python = python()?;
    if !python_bin.exists() {
        run(cmd(&python).arg("-m").arg("venv").arg(venv()))?;
    }
    run(cmd(&python_bin)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(requirements()))?;
    std::fs::write(&marker, wanted).map_err(|e| e.to_string())
}

/// The suite.
pub fn django() -> Result<(), String> {
    run(cmd("cargo")
        .args(["test", "-p", "cliauth-test-harness", "--test", "django"])
        .env("CLIAUTH_REQUIRE_DJANGO", "1")
        .env("CLIAUTH_DJANGO_VENV", venv()))
}
