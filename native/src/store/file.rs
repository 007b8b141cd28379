//! The credentials file.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use cliauth_core::Error;
use cliauth_core::credentials::{CredentialsDocument, MAX_DOCUMENT_BYTES};
use tracing::{debug, warn};

use super::{CredentialStore, StoreLock, io_error, store_id};

mod os;

use os::Dir;

const FILE_NAME: &str = "credentials.json";

/// `credentials.json` in a private directory.
///
/// - **Location**: the platform's configuration directory by default
///   (`~/.config/<app>/`, `%APPDATA%\<app>\`; a legacy `~/.<app>/` keeps being used
///   while it alone holds credentials), or the directory an environment variable
///   names ([`FileStore::default_dir`], [`paths`](super::paths)).
/// - **Permissions from creation**: the directory is created `0700` and every file
///   `0600` by `open(2)` itself — there is no moment where a file exists with wider
///   permissions and is then `chmod`ed. Existing files that other users can *read* are
///   reported by [`CredentialStore::warnings`] with the command that fixes them.
/// - **Strict modes** (Unix, like ssh's `StrictModes`): a directory, credentials file
///   or lock file that another user owns or that group or others can write is refused
///   ([`Error::UnsafeStorage`], the hint is the exact fix), and so is anything but a
///   regular file. Files are opened `O_NOFOLLOW | O_NONBLOCK` through a descriptor of
///   the checked directory and checked again with `fstat` on what was opened, so a
///   FIFO or link swapped in after a check is never read or followed.
/// - **Size cap**: a file over [`MAX_DOCUMENT_BYTES`] is refused before it is read
///   (and never written).
/// - **Atomic writes**: a temporary file in the same directory, `fsync`, `rename` over
///   the old file, `fsync` of the directory. A crash leaves the old or the new
///   document, never a partial one.
/// - **Locking**: an advisory lock on `credentials.json.lock` (a separate file that is
///   never deleted) around every read-modify-write, across processes.
/// - **Symlinks refused**: a credentials or lock file that is a symbolic link is
///   [`Error::UnsafeStorage`], never followed (the directory itself may be a link to
///   a directory of the user's).
/// - **Damage**: an unparsable file is renamed to `credentials.json.corrupt-<time>`
///   and reported ([`Error::CorruptCredentials`] with `moved_to`); a file from a newer
///   version is left untouched ([`Error::UnsupportedVersion`]).
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    id: u64,
}

impl FileStore {
    /// A store in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> FileStore {
        FileStore {
            dir: dir.into(),
            id: store_id(),
        }
    }

    /// The store an app uses by default: [`FileStore::default_dir`] with the
    /// directory override read from the environment variable `dir_var` (e.g.
    /// `ACME_CONFIG_DIR`).
    pub fn for_app(app: &str, dir_var: &str) -> Result<FileStore, Error> {
        let over = std::env::var(dir_var).ok();
        Ok(FileStore::new(FileStore::default_dir(
            app,
            over.as_deref(),
        )?))
    }

    /// The directory for `app`: `dir_override` if given and not blank, else the
    /// platform's configuration directory (`~/.config/<app>`, `%APPDATA%\<app>`),
    /// or the legacy `~/.<app>` while only it holds credentials; see
    /// [`paths`](super::paths).
    pub fn default_dir(app: &str, dir_override: Option<&str>) -> Result<PathBuf, Error> {
        super::paths::config_dir(app, dir_override)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The credentials file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{FILE_NAME}.lock"))
    }

    fn temp_prefix() -> String {
        format!(".{FILE_NAME}.tmp-")
    }

    /// Creates the directory (`0700`) if needed, then opens and checks it.
    fn ensure_dir(&self) -> Result<Dir, Error> {
        if !self.dir.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder
                .create(&self.dir)
                .map_err(|e| io_error(&format!("cannot create {}", self.dir.display()), &e))?;
        }
        Dir::open(&self.dir)?.ok_or_else(|| {
            Error::storage(format!(
                "{} vanished while it was being created",
                self.dir.display()
            ))
        })
    }

    fn read_bytes(&self) -> Result<Option<Vec<u8>>, Error> {
        match Dir::open(&self.dir)? {
            Some(dir) => dir.read(FILE_NAME),
            None => Ok(None),
        }
    }

    fn read_inner(&self, locked: bool) -> Result<Option<CredentialsDocument>, Error> {
        let Some(bytes) = self.read_bytes()? else {
            return Ok(None);
        };
        match CredentialsDocument::from_json(&bytes) {
            Ok(doc) => Ok(Some(doc)),
            Err(Error::CorruptCredentials { reason, .. }) => {
                if locked {
                    return Err(self.move_aside(reason));
                }
                // Move it aside only while holding the lock, so that a document a
                // writer is replacing right now is not taken for damage.
                match self.try_lock()? {
                    Some(_lock) => match self.read_bytes()? {
                        None => Ok(None),
                        Some(again) => match CredentialsDocument::from_json(&again) {
                            Ok(doc) => Ok(Some(doc)),
                            Err(Error::CorruptCredentials { reason, .. }) => {
                                Err(self.move_aside(reason))
                            }
                            Err(e) => Err(e),
                        },
                    },
                    None => Err(Error::CorruptCredentials {
                        reason,
                        moved_to: None,
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    #[allow(dead_code)]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// `credentials.json.corrupt-<time>` (with a counter if taken): the name.
    fn corrupt_target(&self, dir: &Dir) -> String {
        let stamp: String = crate::sys::now()
            .to_rfc3339()
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        let mut target = format!("{FILE_NAME}.corrupt-{stamp}");
        let mut n = 1;
        while dir.exists(&target) && n < 100 {
            n += 1;
            target = format!("{FILE_NAME}.corrupt-{stamp}-{n}");
        }
        target
    }

    /// Saves damaged bytes from elsewhere (the keyring) as a `.corrupt-<time>` file in
    /// this store's directory (owner-only), returning its path.
    #[cfg_attr(not(feature = "keyring"), allow(dead_code))]
    pub(crate) fn keep_damaged(&self, bytes: &[u8]) -> Option<String> {
        let dir = self.ensure_dir().ok()?;
        let target = self.corrupt_target(&dir);
        dir.create_new(&target, bytes).ok()?;
        Some(self.dir.join(target).display().to_string())
    }

    /// Renames the damaged file to `credentials.json.corrupt-<time>` and returns the
    /// error to report.
    fn move_aside(&self, reason: String) -> Error {
        let moved = Dir::open(&self.dir).ok().flatten().and_then(|dir| {
            let target = self.corrupt_target(&dir);
            match dir.rename(FILE_NAME, &target) {
                Ok(()) => {
                    let _ = dir.sync();
                    Some(self.dir.join(target).display().to_string())
                }
                Err(e) => {
                    debug!(error = %e.kind(), "could not move the damaged credentials file");
                    None
                }
            }
        });
        if let Some(target) = &moved {
            warn!(moved_to = %target, "damaged credentials file moved aside");
        }
        Error::CorruptCredentials {
            reason,
            moved_to: moved,
        }
    }

    fn open_lock_file(&self) -> Result<File, Error> {
        self.ensure_dir()?.open_lock(&format!("{FILE_NAME}.lock"))
    }

    fn try_lock(&self) -> Result<Option<StoreLock>, Error> {
        let file = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(StoreLock::new(self.id, file))),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io_error(
                &format!("cannot lock {}", self.lock_path().display()),
                &e,
            )),
        }
    }

    /// Removes temporary files left by writers that were killed mid-write. Only
    /// called under the lock, when no other writer can be using one.
    fn remove_stale_temps(dir: &Dir) {
        let prefix = Self::temp_prefix();
        for name in dir.names() {
            if name.starts_with(&prefix) {
                dir.remove(&name);
            }
        }
    }
}

impl CredentialStore for FileStore {
    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn read(&self) -> Result<Option<CredentialsDocument>, Error> {
        self.read_inner(false)
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        let file = self.open_lock_file()?;
        file.lock()
            .map_err(|e| io_error(&format!("cannot lock {}", self.lock_path().display()), &e))?;
        Ok(StoreLock::new(self.id, file))
    }

    fn read_locked(&self, lock: &StoreLock) -> Result<Option<CredentialsDocument>, Error> {
        lock.check(self.id)?;
        self.read_inner(true)
    }

    fn write(&self, lock: &StoreLock, document: &CredentialsDocument) -> Result<(), Error> {
        lock.check(self.id)?;
        let path = self.path();
        let bytes = document.to_json();
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(Error::storage(format!(
                "the credentials document would be {} bytes, more than the {} KiB limit; log out of profiles you no longer use",
                bytes.len(),
                MAX_DOCUMENT_BYTES / 1024
            )));
        }
        let dir = self.ensure_dir()?;
        dir.check_replaceable(FILE_NAME)?;
        Self::remove_stale_temps(&dir);
        let suffix = crate::sys::entropy::<6>()
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())?;
        let temp = format!("{}{}-{suffix}", Self::temp_prefix(), std::process::id());
        let result = dir
            .create_new(&temp, &bytes)
            .and_then(|()| dir.rename(&temp, FILE_NAME))
            .and_then(|()| dir.sync());
        if let Err(e) = result {
            dir.remove(&temp);
            return Err(io_error(&format!("cannot write {}", path.display()), &e));
        }
        debug!(path = %path.display(), "credentials written");
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        #[cfg_attr(not(unix), allow(unused_mut))] // permission bits exist on Unix only
        let mut out = Vec::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Modes others can write are refused when the store is used (see
            // `os::Dir`); readable ones are allowed, with this warning.
            let loose = |m: fs::Metadata| {
                Some(m.permissions().mode() & 0o777)
                    .filter(|mode| mode & 0o077 != 0 && mode & 0o022 == 0)
            };
            // The directory the file lives in (through a symbolic link, if it is one).
            if let Some(mode) = fs::metadata(&self.dir).ok().and_then(loose) {
                out.push(format!(
                    "The credentials directory {} can be read by other users (mode {mode:o}). Fix: chmod 700 {}",
                    self.dir.display(),
                    self.dir.display()
                ));
            }
            let path = self.path();
            // A symbolic link always shows mode 777, and `chmod` would change its
            // target: it is refused when read, not reported here.
            let file = fs::symlink_metadata(&path)
                .ok()
                .filter(|m| !m.file_type().is_symlink());
            if let Some(mode) = file.and_then(loose) {
                out.push(format!(
                    "The credentials file {} can be read by other users (mode {mode:o}). Fix: chmod 600 {}",
                    path.display(),
                    path.display()
                ));
            }
        }
        out
    }
}
