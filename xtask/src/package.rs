//! The `package` suite: the crates that are published package and build from their
//! packaged sources alone, as crates.io would take them.
//!
//! `cargo publish --dry-run` for cliauth-core, cliauth and cliauth-devserver together
//! (cargo packages them in dependency order, each verified against the others'
//! packaged copies in a local overlay, so the path dependencies' versions are what is
//! checked), then `cargo package --list` for each, which must hold both licence files
//! (and the JSON Schema the clap group documents). Nothing is uploaded; the only
//! network use is the crates.io index and crate downloads, which every build needs.
//!
//! Cargo unpacks the overlay's packages into `$CARGO_HOME/registry/src/-<hash>/` and
//! never unpacks a `name-version` there again, so after the sources change without a
//! version bump the verification would build the *old* sources. Those unpacked copies
//! of the published crates are removed first (only in the overlay's directory, whose
//! name starts with `-`; crates.io's are left alone).

use crate::util::{cmd, output, run};

/// The published crates, in dependency order.
pub const PUBLISHED: [&str; 3] = ["cliauth-core", "cliauth", "cliauth-devserver"];

pub fn package() -> Result<(), String> {
    forget_overlay_sources()?;
    let mut publish = cmd("cargo");
    publish.args(["publish", "--dry-run", "--allow-dirty", "--locked"]);
    for p in PUBLISHED {
        publish.args(["-p", p]);
    }
    run(&mut publish)?;
    let mut missing = Vec::new();
    for p in PUBLISHED {
        let files = output(cmd("cargo").args(["package", "--list", "--allow-dirty", "-p", p]))?;
        let mut wanted = vec!["LICENSE-MIT", "LICENSE-APACHE", "Cargo.toml", "src/lib.rs"];
        if p == "cliauth" {
            wanted.push("schema/auth-output.v1.schema.json");
        }
        for w in wanted {
            if !files.lines().any(|l| l.trim() == w) {
                missing.push(format!("{p}: {w}"));
            }
        }
    }
    if missing.is_empty() {
        eprintln!("  packaged: {}", PUBLISHED.join(", "));
        Ok(())
    } else {
        Err(format!(
            "files missing from the packages:\n  {}",
            missing.join("\n  ")
        ))
    }
}

/// Removes stale unpacked overlay copies of the published crates (see the module docs).
fn forget_overlay_sources() -> Result<(), String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let Ok(sources) = std::fs::read_dir(home.join("registry").join("src")) else {
        return Ok(());
    };
    let mut names = Vec::new();
    for p in PUBLISHED {
        // `path+file:///…#cliauth-core@0.1.0` (or `…/core#0.1.0` when name = dir).
        let id = output(cmd("cargo").args(["pkgid", "-p", p]))?;
        let version = id
            .trim()
            .rsplit(['@', '#'])
            .next()
            .unwrap_or_default()
            .to_string();
        names.push(format!("{p}-{version}"));
    }
    for dir in sources.flatten() {
        if !dir.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in &names {
            let unpacked = dir.path().join(name);
            if unpacked.exists() {
                std::fs::remove_dir_all(&unpacked)
                    .map_err(|e| format!("cannot remove {}: {e}", unpacked.display()))?;
            }
        }
    }
    Ok(())
}
