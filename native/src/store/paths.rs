//! Where the credentials directory is (not how its files are opened: that is
//! [`FileStore`](super::FileStore)'s job).
//!
//! | Platform | Directory |
//! | --- | --- |
//! | Linux, the BSDs, macOS | `$XDG_CONFIG_HOME/<app>`, or `~/.config/<app>` when it is unset or not absolute (the [XDG Base Directory] rule, as `gh` does on macOS too) |
//! | Windows | `%APPDATA%\<app>` (the roaming application data folder) |
//!
//! - An override (the app's `<APP>_CONFIG_DIR` variable) wins when it is set and not
//!   blank.
//! - **Legacy**: earlier versions of cliauth kept credentials in `~/.<app>` on Unix.
//!   When `~/.<app>/credentials.json` exists and the platform directory holds no
//!   `credentials.json`, `~/.<app>` keeps being used — read and written there, never
//!   copied or moved, so nothing is lost and older builds of the app still find it.
//!   Delete or move it to switch (`mv ~/.acme ~/.config/acme`).
//!
//! The platform directories come from the [`etcetera`] crate.
//!
//! [XDG Base Directory]: https://specifications.freedesktop.org/basedir-spec/latest/

use std::path::{Path, PathBuf};

use cliauth_core::Error;
use etcetera::BaseStrategy;

/// The name of the credentials file in the directory.
pub(crate) const FILE_NAME: &str = "credentials.json";

/// The credentials directory for `app`: `dir_override` when given and not blank,
/// else the legacy `~/.<app>` when only it holds credentials, else the platform's
/// configuration directory (see [the module docs](self)).
pub fn config_dir(app: &str, dir_override: Option<&str>) -> Result<PathBuf, Error> {
    if let Some(dir) = dir_override.filter(|d| !d.trim().is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let base = etcetera::choose_base_strategy().map_err(|e| {
        Error::storage(
            "no home directory is known (set HOME), so there is no place for the credentials file",
        )
        .with_source(e)
    })?;
    let platform = base.config_dir().join(app);
    Ok(choose(platform, legacy_dir(app, base.home_dir())))
}

/// `~/.<app>`, where cliauth kept credentials before it used the platform
/// directory (Unix only; on Windows the directory did not change).
pub fn legacy_dir(app: &str, home: &Path) -> Option<PathBuf> {
    if cfg!(windows) {
        None
    } else {
        Some(home.join(format!(".{app}")))
    }
}

/// The legacy directory when only it holds a credentials file, else `platform`.
fn choose(platform: PathBuf, legacy: Option<PathBuf>) -> PathBuf {
    let holds = |dir: &Path| std::fs::symlink_metadata(dir.join(FILE_NAME)).is_ok();
    match legacy {
        Some(legacy) if legacy != platform && !holds(&platform) && holds(&legacy) => legacy,
        _ => platform,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn legacy_is_used_only_while_it_alone_holds_credentials() {
        let tmp = tempfile::tempdir().unwrap();
        let platform = tmp.path().join("config/acme");
        let legacy = tmp.path().join(".acme");
        let pick = || choose(platform.clone(), Some(legacy.clone()));
        // Nothing anywhere: the platform directory.
        assert_eq!(pick(), platform);
        // A legacy directory without credentials does not count.
        std::fs::create_dir_all(&legacy).unwrap();
        assert_eq!(pick(), platform);
        std::fs::write(legacy.join(FILE_NAME), b"{}").unwrap();
        assert_eq!(pick(), legacy);
        // Once the platform directory has credentials, it wins.
        std::fs::create_dir_all(&platform).unwrap();
        std::fs::write(platform.join(FILE_NAME), b"{}").unwrap();
        assert_eq!(pick(), platform);
        assert_eq!(choose(platform.clone(), None), platform);
    }

    #[test]
    fn overrides_win_unless_blank() {
        assert_eq!(
            config_dir("acme", Some("/srv/acme")).unwrap(),
            PathBuf::from("/srv/acme")
        );
        let default = config_dir("acme", Some("  ")).unwrap();
        assert!(default.ends_with("acme"), "{}", default.display());
    }
}
