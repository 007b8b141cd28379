//! The credentials file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use cliauth_core::Error;
use cliauth_core::credentials::CredentialsDocument;
use tracing::{debug, warn};

use super::{CredentialStore, StoreLock, io_error, store_id};

const FILE_NAME: &str = "credentials.json";

/// `credentials.json` in a private directory.
///
/// - **Location**: the platform's configuration directory by default
///   (`~/.config/<app>/`, `%APPDATA%\<app>\`; a legacy `~/.<app>/` keeps being used
///   while it alone holds credentials), or the directory an environment variable
///   names ([`FileStore::default_dir`], [`paths`](super::paths)).
/// - **Permissions from creation**: the directory is created `0700` and every file
///   `0600` by `open(2)` itself — there is no moment where a file exists with wider
///   permissions and is then `chmod`ed. Looser permissions found on existing files are
///   reported by [`CredentialStore::warnings`] with the command that fixes them.
/// - **Atomic writes**: a temporary file in the same directory, `fsync`, `rename` over
///   the old file, `fsync` of the directory. A crash leaves the old or the new
///   document, never a partial one.
/// - **Locking**: an advisory lock on `credentials.json.lock` (a separate file that is
///   never deleted) around every read-modify-write, across processes.
/// - **Symlinks refused**: a credentials or lock file that is a symbolic link is an
///   error, never followed.
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

    fn ensure_dir(&self) -> Result<(), Error> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(&self.dir)
            .map_err(|e| io_error(&format!("cannot create {}", self.dir.display()), &e))
    }

    fn refuse_symlink(path: &Path) -> Result<bool, Error> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Err(Error::storage(format!(
                "{} is a symbolic link; refusing to use it (replace it with a regular file)",
                path.display()
            ))),
            Ok(m) if !m.is_file() => Err(Error::storage(format!(
                "{} is not a regular file",
                path.display()
            ))),
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&format!("cannot inspect {}", path.display()), &e)),
        }
    }

    fn open_options() -> OpenOptions {
        #[cfg_attr(not(unix), allow(unused_mut))] // only Unix adds mode and flags
        let mut o = OpenOptions::new();
        #[cfg(unix)]
        {
            use rustix::fs::OFlags;
            use std::os::unix::fs::OpenOptionsExt;
            // The flag bits are small positive constants; the cast cannot wrap.
            let flags = (OFlags::NOFOLLOW | OFlags::CLOEXEC).bits() as i32;
            o.mode(0o600).custom_flags(flags);
        }
        o
    }

    fn read_bytes(&self) -> Result<Option<Vec<u8>>, Error> {
        let path = self.path();
        if !Self::refuse_symlink(&path)? {
            return Ok(None);
        }
        let mut file = match Self::open_options().read(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.open_error(&path, &e)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_error(&format!("cannot read {}", path.display()), &e))?;
        Ok(Some(bytes))
    }

    fn open_error(&self, path: &Path, e: &io::Error) -> Error {
        // O_NOFOLLOW on a symlink that appeared after the check: ELOOP.
        #[cfg(unix)]
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            return Error::storage(format!(
                "{} is a symbolic link; refusing to use it (replace it with a regular file)",
                path.display()
            ));
        }
        io_error(&format!("cannot open {}", path.display()), e)
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

    /// `credentials.json.corrupt-<time>` (with a counter if taken).
    fn corrupt_target(&self) -> PathBuf {
        let stamp: String = crate::sys::now()
            .to_rfc3339()
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        let mut target = self.dir.join(format!("{FILE_NAME}.corrupt-{stamp}"));
        let mut n = 1;
        while target.exists() && n < 100 {
            n += 1;
            target = self.dir.join(format!("{FILE_NAME}.corrupt-{stamp}-{n}"));
        }
        target
    }

    /// Saves damaged bytes from elsewhere (the keyring) as a `.corrupt-<time>` file in
    /// this store's directory (owner-only), returning its path.
    #[cfg_attr(not(feature = "keyring"), allow(dead_code))]
    pub(crate) fn keep_damaged(&self, bytes: &[u8]) -> Option<String> {
        self.ensure_dir().ok()?;
        let target = self.corrupt_target();
        let mut file = Self::open_options()
            .write(true)
            .create_new(true)
            .open(&target)
            .ok()?;
        file.write_all(bytes).ok()?;
        file.sync_all().ok()?;
        Some(target.display().to_string())
    }

    /// Renames the damaged file to `credentials.json.corrupt-<time>` and returns the
    /// error to report.
    fn move_aside(&self, reason: String) -> Error {
        let path = self.path();
        let target = self.corrupt_target();
        match fs::rename(&path, &target) {
            Ok(()) => {
                warn!(moved_to = %target.display(), "damaged credentials file moved aside");
                let _ = sync_dir(&self.dir);
                Error::CorruptCredentials {
                    reason,
                    moved_to: Some(target.display().to_string()),
                }
            }
            Err(e) => {
                debug!(error = %e.kind(), "could not move the damaged credentials file");
                Error::CorruptCredentials {
                    reason,
                    moved_to: None,
                }
            }
        }
    }

    fn open_lock_file(&self) -> Result<File, Error> {
        self.ensure_dir()?;
        let path = self.lock_path();
        Self::refuse_symlink(&path)?;
        Self::open_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| self.open_error(&path, &e))
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
    fn remove_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = Self::temp_prefix();
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(entry.path());
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
        self.ensure_dir()?;
        let path = self.path();
        Self::refuse_symlink(&path)?;
        self.remove_stale_temps();
        let suffix = crate::sys::entropy::<6>()
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())?;
        let temp = self.dir.join(format!(
            "{}{}-{suffix}",
            Self::temp_prefix(),
            std::process::id()
        ));
        let result = (|| -> io::Result<()> {
            let mut file = Self::open_options()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(&document.to_json())?;
            file.sync_all()?;
            drop(file);
            fs::rename(&temp, &path)?;
            sync_dir(&self.dir)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&temp);
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
            let loose = |m: fs::Metadata| {
                Some(m.permissions().mode() & 0o777).filter(|mode| mode & 0o077 != 0)
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

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
