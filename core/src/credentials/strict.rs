//! Strict modes for stored credentials, as ssh's `StrictModes`: which directory and
//! file a store may use, decided from what `fstat(2)` said about what it opened.
//!
//! A store (the native file store) opens the credentials directory and each file
//! without following links or blocking, describes what it opened as [`Entry`], and
//! asks [`check_entry`]. A refusal is [`Error::UnsafeStorage`] whose hint is the exact
//! command that fixes it; nothing was read or changed.

use super::MAX_DOCUMENT_BYTES;
use crate::encoding::decimal;
use crate::error::Error;

/// What kind of entry was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file.
    RegularFile,
    /// A symbolic link (seen by a check that does not follow links).
    Symlink,
    /// A FIFO, which would block a read forever.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device.
    CharacterDevice,
    /// A block device.
    BlockDevice,
    /// Anything else.
    Other,
}

impl EntryKind {
    fn described(self) -> &'static str {
        match self {
            EntryKind::Directory => "a directory",
            EntryKind::RegularFile => "a regular file",
            EntryKind::Symlink => "a symbolic link",
            EntryKind::Fifo => "a FIFO",
            EntryKind::Socket => "a socket",
            EntryKind::CharacterDevice => "a character device",
            EntryKind::BlockDevice => "a block device",
            EntryKind::Other => "not a regular file",
        }
    }
}

/// What the store found, from `fstat` on the opened descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its kind.
    pub kind: EntryKind,
    /// Its owner's uid.
    pub owner: u32,
    /// Its permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Its size in bytes.
    pub size: u64,
}

/// What the store needs the entry to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The credentials directory.
    Directory,
    /// The credentials document, to be read: also at most [`MAX_DOCUMENT_BYTES`].
    Document,
    /// A file of any size: the lock file, or the document about to be replaced.
    File,
}

/// Refuses `path` for `problem`, with `fix` as the hint.
pub fn refused(path: &str, problem: impl Into<String>, fix: impl Into<String>) -> Error {
    Error::UnsafeStorage {
        path: path.to_string(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// A symbolic link where a credentials or lock file should be.
pub fn symlink_refused(path: &str) -> Error {
    refused(
        path,
        "it is a symbolic link",
        [
            "Replace it with a regular file or remove it: rm ",
            path,
            " (the link's target is not touched), then sign in again.",
        ]
        .concat(),
    )
}

/// A document of `size` bytes, over [`MAX_DOCUMENT_BYTES`]: refused before it is read.
pub fn too_large(path: &str, size: u64) -> Error {
    refused(
        path,
        [
            "it is ",
            &decimal(size),
            " bytes, more than the ",
            &decimal((MAX_DOCUMENT_BYTES / 1024) as u64),
            " KiB a credentials file can hold",
        ]
        .concat(),
        [
            "It was not read or changed. Move it away: mv ",
            path,
            " ",
            path,
            ".large, then sign in again.",
        ]
        .concat(),
    )
}

/// The strict-modes rule for `entry` at `path`, used as `role` by the user `me`: it
/// must be of the right kind (a directory, or a regular file — never a link, FIFO or
/// device), owned by `me`, writable by nobody else (mode `& 0o022` clear: a directory
/// others can write lets them replace the file in it), and a document at most
/// [`MAX_DOCUMENT_BYTES`]. Readable by others is allowed here; a store reports it as a
/// warning with its `chmod` fix.
///
/// ```
/// use cliauth_core::credentials::strict::{check_entry, Entry, EntryKind, Role};
/// let mine = Entry { kind: EntryKind::RegularFile, owner: 1000, mode: 0o600, size: 120 };
/// assert!(check_entry("/home/u/.acme/credentials.json", Role::Document, &mine, 1000).is_ok());
/// let theirs = Entry { owner: 1001, ..mine };
/// let e = check_entry("/home/u/.acme/credentials.json", Role::Document, &theirs, 1000).unwrap_err();
/// assert_eq!(e.code(), "unsafe_storage");
/// let hint = e.hint(&cliauth_core::AppContext::new("acme", "Acme")).unwrap();
/// assert!(hint.contains("sudo chown 1000 /home/u/.acme/credentials.json"));
/// ```
pub fn check_entry(path: &str, role: Role, entry: &Entry, me: u32) -> Result<(), Error> {
    let dir = role == Role::Directory;
    match (dir, entry.kind) {
        (true, EntryKind::Directory) | (false, EntryKind::RegularFile) => {}
        (true, _) => {
            return Err(refused(
                path,
                "it is not a directory",
                [
                    "Move it away: mv ",
                    path,
                    " ",
                    path,
                    ".old, then sign in again.",
                ]
                .concat(),
            ));
        }
        (false, EntryKind::Symlink) => return Err(symlink_refused(path)),
        (false, kind) => {
            return Err(refused(
                path,
                ["it is ", kind.described()].concat(),
                [
                    "Remove it: rm ",
                    path,
                    " (a credentials file is a regular file), then sign in again.",
                ]
                .concat(),
            ));
        }
    }
    let what = if dir { "directory" } else { "file" };
    if entry.owner != me {
        let chown = if dir { "chown -R " } else { "chown " };
        return Err(refused(
            path,
            [
                "the ",
                what,
                " is owned by uid ",
                &decimal(u64::from(entry.owner)),
                ", not by you (uid ",
                &decimal(u64::from(me)),
                ")",
            ]
            .concat(),
            [
                "If you created it (for example with sudo), take it back: sudo ",
                chown,
                &decimal(u64::from(me)),
                " ",
                path,
                "; otherwise remove it and sign in again.",
            ]
            .concat(),
        ));
    }
    if entry.mode & 0o022 != 0 {
        let (chmod, who) = if dir {
            ("700", "replace the file in it")
        } else {
            ("600", "change it")
        };
        return Err(refused(
            path,
            [
                "other users can ",
                who,
                " (mode ",
                &octal(entry.mode & 0o777),
                ")",
            ]
            .concat(),
            ["chmod ", chmod, " ", path].concat(),
        ));
    }
    if role == Role::Document && entry.size > MAX_DOCUMENT_BYTES as u64 {
        return Err(too_large(path, entry.size));
    }
    Ok(())
}

fn octal(mut n: u32) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (n % 8) as u8);
        n /= 8;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppContext;

    const ME: u32 = 1000;
    const P: &str = "/home/u/.acme/credentials.json";
    const D: &str = "/home/u/.acme";

    fn file(owner: u32, mode: u32, size: u64) -> Entry {
        Entry {
            kind: EntryKind::RegularFile,
            owner,
            mode,
            size,
        }
    }

    fn dir(owner: u32, mode: u32) -> Entry {
        Entry {
            kind: EntryKind::Directory,
            size: 4096,
            ..file(owner, mode, 0)
        }
    }

    /// The problem and the hint of a refusal.
    fn refusal(path: &str, role: Role, entry: Entry) -> (String, String) {
        let e = check_entry(path, role, &entry, ME).unwrap_err();
        assert_eq!((e.code(), e.exit_code()), ("unsafe_storage", 1));
        let Error::UnsafeStorage { problem, .. } = &e else {
            panic!("{e:?}")
        };
        let hint = e.hint(&AppContext::new("acme", "Acme")).unwrap_or_default();
        (problem.clone(), hint)
    }

    #[test]
    fn strict_modes_refuse_what_another_user_owns_or_can_write_with_the_exact_fix() {
        // What a login creates, and readable-by-others modes, are used.
        for (role, entry) in [
            (Role::Directory, dir(ME, 0o700)),
            (Role::Directory, dir(ME, 0o755)),
            (Role::Document, file(ME, 0o600, 2_000)),
            (Role::Document, file(ME, 0o644, MAX_DOCUMENT_BYTES as u64)),
            (Role::File, file(ME, 0o600, 0)),
            (Role::File, file(ME, 0o600, 1 << 40)),
        ] {
            assert_eq!(
                check_entry(D, role, &entry, ME),
                Ok(()),
                "{role:?} {entry:?}"
            );
        }
        let cases: [(&str, Role, Entry, &str, &str); 9] = [
            (
                P,
                Role::Document,
                file(4242, 0o600, 10),
                "the file is owned by uid 4242, not by you (uid 1000)",
                "If you created it (for example with sudo), take it back: sudo chown 1000 /home/u/.acme/credentials.json; otherwise remove it and sign in again.",
            ),
            (
                D,
                Role::Directory,
                dir(0, 0o700),
                "the directory is owned by uid 0, not by you (uid 1000)",
                "If you created it (for example with sudo), take it back: sudo chown -R 1000 /home/u/.acme; otherwise remove it and sign in again.",
            ),
            (
                D,
                Role::Directory,
                dir(ME, 0o777),
                "other users can replace the file in it (mode 777)",
                "chmod 700 /home/u/.acme",
            ),
            (
                D,
                Role::Directory,
                dir(ME, 0o1770),
                "other users can replace the file in it (mode 770)",
                "chmod 700 /home/u/.acme",
            ),
            (
                P,
                Role::Document,
                file(ME, 0o620, 10),
                "other users can change it (mode 620)",
                "chmod 600 /home/u/.acme/credentials.json",
            ),
            (
                P,
                Role::File,
                file(ME, 0o602, 0),
                "other users can change it (mode 602)",
                "chmod 600 /home/u/.acme/credentials.json",
            ),
            (
                P,
                Role::Document,
                file(ME, 0o600, 200 << 20),
                "it is 209715200 bytes, more than the 1024 KiB a credentials file can hold",
                "It was not read or changed. Move it away: mv /home/u/.acme/credentials.json /home/u/.acme/credentials.json.large, then sign in again.",
            ),
            (
                P,
                Role::Document,
                Entry {
                    kind: EntryKind::Fifo,
                    ..file(ME, 0o600, 0)
                },
                "it is a FIFO",
                "Remove it: rm /home/u/.acme/credentials.json (a credentials file is a regular file), then sign in again.",
            ),
            (
                P,
                Role::File,
                Entry {
                    kind: EntryKind::Symlink,
                    ..file(ME, 0o777, 0)
                },
                "it is a symbolic link",
                "Replace it with a regular file or remove it: rm /home/u/.acme/credentials.json (the link's target is not touched), then sign in again.",
            ),
        ];
        for (path, role, entry, problem, hint) in cases {
            assert_eq!(
                refusal(path, role, entry),
                (problem.to_string(), hint.to_string()),
                "{role:?} {entry:?}"
            );
        }
        // A file where the directory should be, and a directory where a file should be.
        assert_eq!(
            refusal(D, Role::Directory, file(ME, 0o600, 1)).1,
            "Move it away: mv /home/u/.acme /home/u/.acme.old, then sign in again."
        );
        assert_eq!(
            refusal(P, Role::Document, dir(ME, 0o700)).0,
            "it is a directory"
        );
        // The kind is checked before the owner, the owner before the mode.
        assert_eq!(
            refusal(P, Role::Document, file(4242, 0o666, 1 << 30)).0,
            "the file is owned by uid 4242, not by you (uid 1000)"
        );
    }
}
