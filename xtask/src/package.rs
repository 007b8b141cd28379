//! The `package` suite: the crates that are published package and build from their
//! packaged sources alone, as crates.io would take them.
//!
//! `cargo publish --dry-run` for cliauth-core, cliauth and cliauth-devserver together
//! (cargo packages them in dependency order, each verified against the others'
//! packaged copies in a local overlay, so the path dependencies' versions are what is
//! checked), then `cargo package --list` for each, which must hold both licence files
//! (and the JSON Schema the clap group documents). Nothing is uploaded; the only
//! network use is the crates.io index and crate downloads, which every build needs.

use crate::util::{cmd, output, run};

/// The published crates, in dependency order.
pub const PUBLISHED: [&str; 3] = ["cliauth-core", "cliauth", "cliauth-devserver"];

pub fn package() -> Result<(), String> {
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
