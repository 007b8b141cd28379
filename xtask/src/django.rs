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

/// A Python interpreter of at least 3.10 that can make a virtualenv with pip.
fn find_python() -> Option<String> {
    // Quietly: version managers' shims complain about the versions they lack.
    [
        "python3",
        "python3.13",
        "python3.12",
        "python3.11",
        "python3.10",
    ]
    .into_iter()
    .find(|candidate| {
        cmd(candidate)
            .args([
                "-c",
                "import sys, venv, ensurepip; print(sys.version_info >= (3, 10))",
            ])
            .stderr(std::process::Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"True"))
    })
    .map(str::to_string)
}

/// [`find_python`], installing Debian's `python3-venv` when there is none.
fn python() -> Result<String, String> {
    if let Some(p) = find_python() {
        return Ok(p);
    }
    crate::setup::apt_install(&["--no-install-recommends", "python3", "python3-venv"])?;
    find_python().ok_or_else(|| {
        "django-oauth-toolkit needs Python 3.10 or newer with venv and pip (none found, even after installing python3-venv)".into()
    })
}

/// Installs the virtualenv (idempotent).
pub fn install() -> Result<(), String> {
    let wanted = std::fs::read_to_string(requirements()).map_err(|e| e.to_string())?;
    let marker = venv().join("cliauth-requirements.txt");
    let python_bin = venv().join("bin").join("python");
    if python_bin.exists() && std::fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(());
    }
    // A virtualenv left half-made (no pip) is made again.
    let has_pip =
        python_bin.exists() && output(cmd(&python_bin).args(["-m", "pip", "--version"])).is_ok();
    if !has_pip {
        let python = python()?;
        let _ = std::fs::remove_dir_all(venv());
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
