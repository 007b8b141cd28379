//! The file operations of [`super::FileStore`], with the safety checks of each
//! platform.
//!
//! On Unix every operation goes through a descriptor of the credentials directory
//! (`openat`, `renameat`, …), opened once and checked with `fstat`: owned by the
//! current user and writable by nobody else (a directory others can write lets them
//! replace the file). Files are opened with `O_NOFOLLOW | O_NONBLOCK | O_NOCTTY` and
//! checked on the opened descriptor — a regular file, owned by the current user, not
//! writable by group or others, at most [`MAX_DOCUMENT_BYTES`] — so that nothing
//! swapped in between a check and the open (a symbolic link, a FIFO that would block
//! the read forever, a device) is ever used. Violations are [`Error::UnsafeStorage`]
//! with the exact fix, like ssh's `StrictModes`.
//!
//! Elsewhere (Windows) the standard library's calls are used: symbolic links and
//! non-regular files are refused and the size is capped; permissions are the OS's
//! ACLs on the user's profile directory.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use cliauth_core::Error;
use cliauth_core::credentials::MAX_DOCUMENT_BYTES;
use cliauth_core::credentials::strict;

use crate::store::io_error;

fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(not(unix))]
fn refused(path: &Path, problem: &str, fix: String) -> Error {
    strict::refused(&shown(path), problem, fix)
}

fn symlink_refused(path: &Path) -> Error {
    strict::symlink_refused(&shown(path))
}

fn too_large(path: &Path, size: u64) -> Error {
    strict::too_large(&shown(path), size)
}

/// Reads at most [`MAX_DOCUMENT_BYTES`] from `file` (whose size was already
/// checked), refusing a file that grew past the limit meanwhile.
fn read_capped(mut file: impl Read, path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&format!("cannot read {}", path.display()), &e))?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    Ok(bytes)
}

/// Writes `bytes` to a new file and flushes it to disk.
fn fill(mut file: File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
pub(super) use unix::Dir;

#[cfg(not(unix))]
pub(super) use portable::Dir;

#[cfg(unix)]
mod unix {
    use std::os::fd::OwnedFd;

    use cliauth_core::credentials::strict::{Entry, EntryKind, Role};
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
    use rustix::io::Errno;

    use super::*;

    /// The credentials directory, open and checked.
    pub(crate) struct Dir {
        path: PathBuf,
        fd: OwnedFd,
    }

    fn me() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    fn file_type(st: &Stat) -> FileType {
        FileType::from_raw_mode(st.st_mode)
    }

    /// Core's strict-modes rule on what `fstat` said.
    fn check(path: &Path, role: Role, st: &Stat) -> Result<(), Error> {
        let kind = match file_type(st) {
            FileType::Directory => EntryKind::Directory,
            FileType::RegularFile => EntryKind::RegularFile,
            FileType::Symlink => EntryKind::Symlink,
            FileType::Fifo => EntryKind::Fifo,
            FileType::Socket => EntryKind::Socket,
            FileType::CharacterDevice => EntryKind::CharacterDevice,
            FileType::BlockDevice => EntryKind::BlockDevice,
            _ => EntryKind::Other,
        };
        let entry = Entry {
            kind,
            owner: st.st_uid,
            mode: Mode::from_raw_mode(st.st_mode).as_raw_mode() & 0o7777,
            size: u64::try_from(st.st_size).unwrap_or(u64::MAX),
        };
        strict::check_entry(&shown(path), role, &entry, me())
    }

    fn os_error(what: &str, path: &Path, e: Errno) -> Error {
        io_error(&format!("{what} {}", path.display()), &io::Error::from(e))
    }

    /// Flags for every file open: never follow a link, never block (a FIFO), never
    /// become the controlling terminal, never leak into a child.
    fn safe_flags() -> OFlags {
        OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC
    }

    impl Dir {
        /// Opens and checks the directory; `None` when it does not exist.
        pub(crate) fn open(path: &Path) -> Result<Option<Dir>, Error> {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = match rustix::fs::open(path, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::NOTDIR) => {
                    let st =
                        rustix::fs::stat(path).map_err(|e| os_error("cannot inspect", path, e))?;
                    check(path, Role::Directory, &st)?;
                    return Err(os_error("cannot open", path, Errno::NOTDIR));
                }
                Err(e) => return Err(os_error("cannot open", path, e)),
            };
            let st = rustix::fs::fstat(&fd).map_err(|e| os_error("cannot inspect", path, e))?;
            check(path, Role::Directory, &st)?;
            Ok(Some(Dir {
                path: path.to_path_buf(),
                fd,
            }))
        }

        fn child(&self, name: &str) -> PathBuf {
            self.path.join(name)
        }

        fn open_checked(
            &self,
            name: &str,
            role: Role,
            flags: OFlags,
        ) -> Result<Option<File>, Error> {
            let path = self.child(name);
            let mode = Mode::from_raw_mode(0o600);
            let fd = match rustix::fs::openat(&self.fd, name, flags | safe_flags(), mode) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP) => return Err(symlink_refused(&path)),
                Err(e) => return Err(os_error("cannot open", &path, e)),
            };
            // The checks are on what was opened, not on what a path named a moment ago.
            let st = rustix::fs::fstat(&fd).map_err(|e| os_error("cannot inspect", &path, e))?;
            check(&path, role, &st)?;
            Ok(Some(File::from(fd)))
        }

        /// The file's bytes, or `None` when it does not exist.
        pub(crate) fn read(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
            let path = self.child(name);
            let Some(file) = self.open_checked(name, Role::Document, OFlags::RDONLY)? else {
                return Ok(None);
            };
            // The size was checked on what was opened; the cap holds if it grows.
            read_capped(file, &path).map(Some)
        }

        /// Opens (creating `0600`) the lock file.
        pub(crate) fn open_lock(&self, name: &str) -> Result<File, Error> {
            match self.open_checked(name, Role::File, OFlags::RDWR | OFlags::CREATE)? {
                Some(file) => Ok(file),
                None => Err(os_error("cannot create", &self.child(name), Errno::NOENT)),
            }
        }

        /// Checks that `name`, if it exists, may be replaced: a regular file of ours.
        pub(crate) fn check_replaceable(&self, name: &str) -> Result<(), Error> {
            let path = self.child(name);
            match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => check(&path, Role::File, &st),
                Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(os_error("cannot inspect", &path, e)),
            }
        }

        /// Whether an entry `name` exists (of any type).
        pub(crate) fn exists(&self, name: &str) -> bool {
            rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
        }

        /// Creates `name` (`0600`, failing if it exists) holding `bytes`, flushed.
        pub(crate) fn create_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | safe_flags();
            let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(0o600))?;
            fill(File::from(fd), bytes)
        }

        /// Renames `from` to `to`, both in this directory.
        pub(crate) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            Ok(rustix::fs::renameat(&self.fd, from, &self.fd, to)?)
        }

        /// Removes `name`, ignoring failure.
        pub(crate) fn remove(&self, name: &str) {
            let _ = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty());
        }

        /// Flushes the directory's entries (after a rename).
        pub(crate) fn sync(&self) -> io::Result<()> {
            Ok(rustix::fs::fsync(&self.fd)?)
        }

        /// The names of the entries.
        pub(crate) fn names(&self) -> Vec<String> {
            let Ok(mut dir) = rustix::fs::Dir::read_from(&self.fd) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            while let Some(Ok(entry)) = dir.read() {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
            out
        }
    }
}

#[cfg(not(unix))]
mod portable {
    use std::fs::{self, OpenOptions};

    use super::*;

    /// The credentials directory.
    pub(crate) struct Dir {
        path: PathBuf,
    }

    impl Dir {
        /// The directory; `None` when it does not exist.
        pub(crate) fn open(path: &Path) -> Result<Option<Dir>, Error> {
            match fs::metadata(path) {
                Ok(m) if m.is_dir() => Ok(Some(Dir {
                    path: path.to_path_buf(),
                })),
                Ok(_) => Err(refused(
                    path,
                    "it is not a directory",
                    format!(
                        "Move it away: move {p} {p}.old, then sign in again.",
                        p = path.display()
                    ),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error(&format!("cannot open {}", path.display()), &e)),
            }
        }

        fn child(&self, name: &str) -> PathBuf {
            self.path.join(name)
        }

        /// Checks that `name`, if it exists, is a regular file (not a link).
        pub(crate) fn check_replaceable(&self, name: &str) -> Result<(), Error> {
            let path = self.child(name);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => Err(symlink_refused(&path)),
                Ok(m) if !m.is_file() => Err(refused(
                    &path,
                    "it is not a regular file",
                    format!("Remove it: del {}, then sign in again.", path.display()),
                )),
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_error(&format!("cannot inspect {}", path.display()), &e)),
            }
        }

        /// The file's bytes, or `None` when it does not exist.
        pub(crate) fn read(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
            let path = self.child(name);
            self.check_replaceable(name)?;
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_error(&format!("cannot open {}", path.display()), &e)),
            };
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            if size > MAX_DOCUMENT_BYTES as u64 {
                return Err(too_large(&path, size));
            }
            read_capped(file, &path).map(Some)
        }

        /// Opens (creating) the lock file.
        pub(crate) fn open_lock(&self, name: &str) -> Result<File, Error> {
            let path = self.child(name);
            self.check_replaceable(name)?;
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| io_error(&format!("cannot open {}", path.display()), &e))
        }

        /// Whether an entry `name` exists.
        pub(crate) fn exists(&self, name: &str) -> bool {
            fs::symlink_metadata(self.child(name)).is_ok()
        }

        /// Creates `name` (failing if it exists) holding `bytes`, flushed.
        pub(crate) fn create_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.child(name))?;
            fill(file, bytes)
        }

        /// Renames `from` to `to`, both in this directory.
        pub(crate) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            fs::rename(self.child(from), self.child(to))
        }

        /// Removes `name`, ignoring failure.
        pub(crate) fn remove(&self, name: &str) {
            let _ = fs::remove_file(self.child(name));
        }

        /// Nothing to flush for directory entries here.
        pub(crate) fn sync(&self) -> io::Result<()> {
            Ok(())
        }

        /// The names of the entries.
        pub(crate) fn names(&self) -> Vec<String> {
            fs::read_dir(&self.path)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        }
    }
}
