//! The credential stores on real files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]
#![cfg(unix)]

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cliauth::cliauth_core::credentials::{
    CREDENTIALS_VERSION, Credential, CredentialsDocument, LoginMethod, Profile,
};
use cliauth::cliauth_core::secret::ApiKey;
use cliauth::store::{CredentialStore, EnvSource, EnvStore, FileStore, KeyringStore, MemoryStore};
use cliauth::{Authenticator, Error};
use common::CaptureUi;

const KEY: &str = "acme_0123456789abcdefghijklmnop";

fn doc_with(name: &str, key: &str) -> CredentialsDocument {
    let mut doc = CredentialsDocument::new();
    doc.set_profile(
        name,
        Profile::new(
            Credential::ApiKey(ApiKey::new(key)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    doc
}

fn save(store: &dyn CredentialStore, doc: &CredentialsDocument) {
    let lock = store.lock().unwrap();
    store.write(&lock, doc).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn files_are_0600_in_a_0700_directory_from_creation() {
    let tmp = tempfile::tempdir().unwrap();
    // Modes are given to open(2)/mkdir(2) themselves (the crash test also checks
    // them under `umask 000`).
    let dir = tmp.path().join("nested").join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("credentials.json")), 0o600);
    assert_eq!(mode(&dir.join("credentials.json.lock")), 0o600);
    // stat(1) agrees.
    let out = std::process::Command::new("stat")
        .args(["-c", "%a %n"])
        .arg(&dir)
        .arg(dir.join("credentials.json"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let modes: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(modes, ["700", "600"], "{text}");
    assert!(store.warnings().is_empty());
    // No temporary file is left behind.
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn looser_permissions_are_reported_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(
        dir.join("credentials.json"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let warnings = store.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains(&format!("Fix: chmod 700 {}", dir.display())));
    assert!(warnings[1].contains(&format!(
        "Fix: chmod 600 {}",
        dir.join("credentials.json").display()
    )));
    // The authenticator shows them.
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(FileStore::new(&dir))
        .ui(ui.clone())
        .build()
        .unwrap();
    auth.profiles().unwrap();
    assert!(ui.text().contains("chmod 600"), "{}", ui.text());
}

#[test]
fn a_symlinked_credentials_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir(&dir).unwrap();
    let elsewhere = tmp.path().join("elsewhere.json");
    fs::write(&elsewhere, doc_with("default", KEY).to_json()).unwrap();
    symlink(&elsewhere, dir.join("credentials.json")).unwrap();
    let store = FileStore::new(&dir);
    let link = dir.join("credentials.json");
    let err = store.read().unwrap_err();
    assert_refused(&err, &link, &format!("rm {}", link.display()));
    assert!(err.to_string().contains("it is a symbolic link"), "{err}");
    let lock = store.lock().unwrap();
    let err = store.write(&lock, &doc_with("x", KEY)).unwrap_err();
    assert_refused(&err, &link, &format!("rm {}", link.display()));
    drop(lock);
    // The target was never written through the link.
    let still = CredentialsDocument::from_json(&fs::read(&elsewhere).unwrap()).unwrap();
    assert!(still.profile("default").is_some() && still.profile("x").is_none());
    // A symlinked lock file is refused too.
    let dir2 = tmp.path().join(".other");
    fs::create_dir(&dir2).unwrap();
    symlink(&elsewhere, dir2.join("credentials.json.lock")).unwrap();
    assert_eq!(
        FileStore::new(&dir2).lock().unwrap_err().code(),
        "unsafe_storage"
    );
}

#[test]
fn a_corrupt_file_is_moved_aside_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    let path = dir.join("credentials.json");
    fs::write(&path, b"{\"version\": 1, \"profiles\": {\"default\": ").unwrap();
    let err = store.read().unwrap_err();
    let Error::CorruptCredentials { reason, moved_to } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("line 1"), "{reason}");
    let moved = moved_to.clone().unwrap();
    assert!(moved.contains("credentials.json.corrupt-"), "{moved}");
    assert_eq!(
        fs::read(&moved).unwrap(),
        b"{\"version\": 1, \"profiles\": {\"default\": "
    );
    assert_eq!(mode(Path::new(&moved)), 0o600);
    assert!(!path.exists(), "never silently reset");
    let app = cliauth::AppContext::new("acme", "Acme");
    assert!(err.render(&app).contains(&moved));
    assert!(!format!("{err} {err:?}").contains(KEY));
    // Nothing stored now; the next login starts a new file.
    assert!(store.read().unwrap().is_none());

    // An empty file is damage too.
    fs::write(&path, b"").unwrap();
    assert!(matches!(
        store.read(),
        Err(Error::CorruptCredentials {
            moved_to: Some(_),
            ..
        })
    ));
}

#[tokio::test]
async fn a_login_over_a_corrupt_file_keeps_it_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("credentials.json"), b"not json").unwrap();
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(FileStore::new(&dir))
        .ui(ui.clone())
        .build()
        .unwrap();
    auth.login_api_key(KEY).await.unwrap();
    assert!(ui.text().contains("damaged"), "{}", ui.text());
    let kept: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.contains(".corrupt-").then_some(name)
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(fs::read(dir.join(&kept[0])).unwrap(), b"not json");
}

#[test]
fn a_newer_version_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir_all(&dir).unwrap();
    let newer = format!(
        "{{\"version\": {}, \"profiles\": {{}}, \"future\": true}}\n",
        CREDENTIALS_VERSION + 1
    );
    fs::write(dir.join("credentials.json"), &newer).unwrap();
    let store = FileStore::new(&dir);
    assert!(matches!(
        store.read(),
        Err(Error::UnsupportedVersion { .. })
    ));
    let lock = store.lock().unwrap();
    assert!(matches!(
        store.read_locked(&lock),
        Err(Error::UnsupportedVersion { .. })
    ));
    drop(lock);
    assert_eq!(
        fs::read_to_string(dir.join("credentials.json")).unwrap(),
        newer
    );
}

#[test]
fn unknown_fields_survive_a_rewrite() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::new(tmp.path());
    let text = format!(
        "{{\"version\":1,\"active_profile\":\"default\",\"added_later\":{{\"x\":1}},\"profiles\":{{\"default\":{{\"method\":\"api_key\",\"credential\":{{\"type\":\"api_key\",\"key\":\"{KEY}\"}},\"note\":\"hi\"}}}}}}"
    );
    fs::write(tmp.path().join("credentials.json"), text).unwrap();
    let lock = store.lock().unwrap();
    let mut doc = store.read_locked(&lock).unwrap().unwrap();
    doc.set_profile(
        "ci",
        Profile::new(
            Credential::ApiKey(ApiKey::new(KEY)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    store.write(&lock, &doc).unwrap();
    let raw: serde_json::Value =
        serde_json::from_slice(&fs::read(tmp.path().join("credentials.json")).unwrap()).unwrap();
    assert_eq!(raw["added_later"]["x"], 1);
    assert_eq!(raw["profiles"]["default"]["note"], "hi");
}

#[test]
fn the_lock_excludes_other_processes_and_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(FileStore::new(tmp.path()));
    let held = store.lock().unwrap();
    let other = Arc::new(FileStore::new(tmp.path()));
    let started = Instant::now();
    let waiter = std::thread::spawn(move || {
        let _lock = other.lock().unwrap();
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let waited = waiter.join().unwrap();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    // flock(1) in another process cannot take it while we hold it.
    let _held = store.lock().unwrap();
    let status = std::process::Command::new("flock")
        .args(["--nonblock", "--exclusive"])
        .arg(tmp.path().join("credentials.json.lock"))
        .arg("true")
        .status();
    if let Ok(status) = status {
        assert!(!status.success(), "another process took the lock");
    }
}

#[test]
fn a_lock_from_another_store_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (sa, sb) = (FileStore::new(a.path()), FileStore::new(b.path()));
    let lock = sa.lock().unwrap();
    assert!(matches!(
        sb.write(&lock, &CredentialsDocument::new()),
        Err(Error::Misuse(_))
    ));
    let memory = MemoryStore::new();
    assert!(matches!(memory.read_locked(&lock), Err(Error::Misuse(_))));
}

#[test]
fn memory_store_round_trips_and_locks() {
    let store = MemoryStore::new();
    assert!(store.read().unwrap().is_none());
    save(&store, &doc_with("default", KEY));
    let clone = store.clone();
    assert_eq!(
        clone.read().unwrap().unwrap().active().unwrap().0,
        "default"
    );
    let held = store.lock().unwrap();
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        let _l = clone.lock().unwrap();
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    drop(held);
    assert!(waiter.join().unwrap() >= Duration::from_millis(150));
}

#[test]
fn env_store_is_read_only() {
    let store = EnvStore::with_source("ACME_API_KEY", EnvSource::fixed([("ACME_API_KEY", KEY)]));
    let doc = store.read().unwrap().unwrap();
    let (name, profile) = doc.active().unwrap();
    assert_eq!(name, "env");
    assert!(matches!(&profile.credential, Credential::ApiKey(k) if k.expose_secret() == KEY));
    assert!(store.is_read_only());
    let lock = store.lock().unwrap();
    let err = store.write(&lock, &doc).unwrap_err();
    assert!(err.to_string().contains("ACME_API_KEY"));
    let empty = EnvStore::with_source("ACME_API_KEY", EnvSource::fixed([("ACME_API_KEY", " ")]));
    assert!(empty.read().unwrap().is_none());
}

#[test]
fn default_directory_and_override() {
    assert_eq!(
        FileStore::default_dir("acme", Some("/tmp/acme-conf")).unwrap(),
        Path::new("/tmp/acme-conf")
    );
    // The platform directory (XDG on Linux), unless only the legacy ~/.acme holds
    // credentials (store/paths.rs tests that choice; democli's tests run it with a
    // real HOME).
    let home = std::env::var("HOME").unwrap();
    let xdg = std::env::var("XDG_CONFIG_HOME")
        .ok()
        .filter(|d| Path::new(d).is_absolute())
        .map_or_else(
            || Path::new(&home).join(".config"),
            std::path::PathBuf::from,
        );
    if !Path::new(&home).join(".acme/credentials.json").exists() {
        assert_eq!(
            FileStore::default_dir("acme", None).unwrap(),
            xdg.join("acme")
        );
    }
    // The authenticator reads the override variable (ACME_CONFIG_DIR by default).
    let env = || EnvSource::fixed([("ACME_CONFIG_DIR", "/tmp/acme-from-env")]);
    let auth = Authenticator::builder("acme")
        .env(env())
        .keyring(false)
        .build()
        .unwrap();
    assert_eq!(
        auth.store().location(),
        "/tmp/acme-from-env/credentials.json"
    );
    // With the keyring feature the default store is the keyring over that file.
    let auth = Authenticator::builder("acme").env(env()).build().unwrap();
    let debug = format!("{:?}", auth.store());
    assert!(
        debug.starts_with("KeyringStore") && debug.contains("/tmp/acme-from-env"),
        "{debug}"
    );
}

#[tokio::test]
async fn keyring_store_falls_back_to_the_file_only_with_a_visible_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let service = format!("cliauth-test-{}", std::process::id());
    let store = KeyringStore::new(service.clone(), FileStore::new(tmp.path()));
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(store)
        .ui(ui.clone())
        .build()
        .unwrap();
    let keyring = KeyringStore::new(service, FileStore::new(tmp.path()));
    let outcome = auth.login_api_key(KEY).await.unwrap();
    assert_eq!(auth.access_token().await.unwrap().expose_secret(), KEY);
    // `cargo xtask test --only keyring` runs this against a real Secret Service
    // (native/tests/keyring.rs tests that in depth).
    if std::env::var("CLIAUTH_REQUIRE_KEYRING").is_ok_and(|v| v == "1") {
        assert!(keyring.uses_keyring(), "{:?}", keyring.warnings());
    }
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("credentials.json")).unwrap())
            .unwrap();
    if keyring.uses_keyring() {
        // A real keyring: the file names the profile but holds no key; no warning.
        assert!(file["profiles"].get("default").is_none());
        assert!(!file.to_string().contains(KEY));
        assert!(!ui.text().contains("could not be used"), "{}", ui.text());
        assert!(
            outcome
                .storage
                .as_deref()
                .is_some_and(|s| s.starts_with("OS keyring"))
        );
        assert!(
            keyring
                .read()
                .unwrap()
                .unwrap()
                .profile("default")
                .is_some()
        );
        // Leave no secret behind in the user's keyring.
        let lock = keyring.lock().unwrap();
        keyring.write(&lock, &CredentialsDocument::new()).unwrap();
        eprintln!("an OS keyring is available; its round trip was tested");
    } else {
        // No keyring: the credential is in the file (0600), and the user is told so,
        // with the reason and the path, right after the login.
        let text = ui.text();
        assert!(
            text.contains("The OS keyring could not be used ("),
            "{text}"
        );
        assert!(text.contains(&tmp.path().join("credentials.json").display().to_string()));
        assert_eq!(file["profiles"]["default"]["credential"]["key"], KEY);
        assert!(
            file["profiles"]["default"].get("storage").is_none(),
            "a fallback is not a choice"
        );
        assert_eq!(mode(&tmp.path().join("credentials.json")), 0o600);
        assert_eq!(
            outcome.storage,
            Some(tmp.path().join("credentials.json").display().to_string())
        );
        // Reading needs no keyring when every profile is in the file.
        assert_eq!(keyring.read().unwrap().unwrap().profiles.len(), 1);
    }
}

/// A storage failure keeps the OS error as its source: the message stays the stable
/// one-liner, the caller can still ask what the OS said.
#[test]
fn storage_errors_keep_the_io_error_as_their_source() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_dir = tmp.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let store = FileStore::new(not_a_dir.join("acme"));
    let err = store.lock().map(drop).unwrap_err();
    assert!(matches!(err, Error::Storage { .. }), "{err:?}");
    let io = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("no io::Error behind {err:?}"));
    assert_eq!(io.raw_os_error(), Some(20), "ENOTDIR: {io:?}");
    assert!(
        err.to_string().starts_with("Credential storage error: "),
        "{err}"
    );
}

// ── strict modes (issue 10, item 7) ──────────────────────────────────────

fn app() -> cliauth::AppContext {
    cliauth::AppContext::new("acme", "Acme")
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The uid the tests run as.
fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    fs::metadata(tmp.path()).unwrap().uid()
}

/// Asserts `err` is the strict-modes refusal for `path` whose hint is `fix`.
fn assert_refused(err: &Error, path: &Path, fix: &str) {
    assert_eq!(err.code(), "unsafe_storage", "{err:?}");
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string()
            .starts_with(&format!("Refusing to use {}: ", path.display())),
        "{err}"
    );
    let hint = err.hint(&app()).unwrap();
    assert!(hint.contains(fix), "hint {hint:?} lacks {fix:?}");
    assert!(!format!("{err} {err:?} {hint}").contains(KEY), "{err:?}");
}

#[test]
fn a_fifo_swapped_in_between_check_and_open_never_blocks_and_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = Arc::new(FileStore::new(&dir));
    save(&*store, &doc_with("default", KEY));
    let path = dir.join("credentials.json");
    let (fifo, saved) = (tmp.path().join("fifo"), tmp.path().join("saved.json"));
    mkfifo(&fifo);
    // The swapper: the regular file and a FIFO take turns at `credentials.json`
    // (every step an atomic rename), as fast as it can.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = std::thread::spawn({
        let (path, stop) = (path.clone(), Arc::clone(&stop));
        move || {
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                fs::rename(&path, &saved).unwrap();
                fs::rename(&fifo, &path).unwrap();
                fs::rename(&path, &fifo).unwrap();
                fs::rename(&saved, &path).unwrap();
                swaps += 1;
            }
            swaps
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn({
        let store = Arc::clone(&store);
        move || {
            let (mut ok, mut missing, mut refused) = (0, 0, 0);
            for _ in 0..3000 {
                match store.read() {
                    Ok(Some(doc)) => {
                        assert!(doc.profile("default").is_some());
                        ok += 1;
                    }
                    Ok(None) => missing += 1,
                    Err(e) if e.code() == "unsafe_storage" => {
                        assert!(e.to_string().contains("it is a FIFO"), "{e}");
                        refused += 1;
                    }
                    Err(e) => panic!("unexpected error: {e:?}"),
                }
            }
            tx.send((ok, missing, refused)).unwrap();
        }
    });
    // A hang guard, not a speed expectation: a read that opened the FIFO would
    // wait for a writer forever.
    let outcome = rx.recv_timeout(Duration::from_secs(120));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, missing, refused) = outcome.expect("a read blocked on the FIFO");
    reader.join().unwrap();
    let swaps = swapper.join().unwrap();
    eprintln!(
        "3000 reads during {swaps} swaps: {ok} read the file, {missing} found none, {refused} refused the FIFO"
    );
    assert!(
        refused > 0,
        "no read met the FIFO; the race was not exercised"
    );
    // The file is intact afterwards.
    assert!(store.read().unwrap().unwrap().profile("default").is_some());
}

#[test]
fn a_fifo_or_other_special_file_is_refused_as_file_and_as_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    let path = dir.join("credentials.json");
    mkfifo(&path);
    let store = FileStore::new(&dir);
    let rm = format!("rm {}", path.display());
    assert_refused(&store.read().unwrap_err(), &path, &rm);
    fs::remove_file(&path).unwrap();
    // The lock file: a FIFO there is refused, not locked.
    let lock_path = dir.join("credentials.json.lock");
    mkfifo(&lock_path);
    let err = store.lock().unwrap_err();
    assert_refused(&err, &lock_path, &format!("rm {}", lock_path.display()));
    fs::remove_file(&lock_path).unwrap();
    // A directory where the file should be.
    fs::create_dir(&path).unwrap();
    assert_refused(&store.read().unwrap_err(), &path, &rm);
}

#[tokio::test]
async fn files_and_directories_other_users_can_write_are_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    let path = dir.join("credentials.json");
    let lock_path = dir.join("credentials.json.lock");
    let before = fs::read(&path).unwrap();
    // A directory others (or the group) can write: they could replace the file.
    for mode in [0o777, 0o770, 0o1777, 0o702] {
        chmod(&dir, mode);
        let err = store.read().unwrap_err();
        assert_refused(&err, &dir, &format!("chmod 700 {}", dir.display()));
        assert!(
            err.to_string()
                .contains(&format!("(mode {:o})", mode & 0o777)),
            "{err}"
        );
        assert_refused(
            &store.lock().unwrap_err(),
            &dir,
            &format!("chmod 700 {}", dir.display()),
        );
    }
    chmod(&dir, 0o700);
    // The file itself, and the lock file.
    for mode in [0o666, 0o620, 0o602] {
        chmod(&path, mode);
        assert_refused(
            &store.read().unwrap_err(),
            &path,
            &format!("chmod 600 {}", path.display()),
        );
    }
    chmod(&path, 0o600);
    chmod(&lock_path, 0o666);
    assert_refused(
        &store.lock().unwrap_err(),
        &lock_path,
        &format!("chmod 600 {}", lock_path.display()),
    );
    chmod(&lock_path, 0o600);
    // Through the authenticator: status and a login both refuse and change nothing.
    chmod(&dir, 0o777);
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(FileStore::new(&dir))
        .ui(ui.clone())
        .build()
        .unwrap();
    let err = auth.status().await.unwrap_err();
    assert_refused(&err, &dir, &format!("chmod 700 {}", dir.display()));
    let err = auth.login_api_key(KEY).await.unwrap_err();
    assert_refused(&err, &dir, &format!("chmod 700 {}", dir.display()));
    chmod(&dir, 0o700);
    assert_eq!(fs::read(&path).unwrap(), before);
    // Readable by others is still only a warning (the existing behaviour).
    chmod(&path, 0o644);
    assert!(store.read().unwrap().is_some());
    assert_eq!(store.warnings().len(), 1, "{:?}", store.warnings());
}

#[tokio::test]
async fn a_file_or_directory_another_user_owns_is_refused_with_the_fix() {
    let me = my_uid();
    if me != 0 {
        eprintln!(
            "SKIPPED: giving a file to another uid needs root (running as uid {me}); run the tests as root to cover this"
        );
        return;
    }
    const OTHER: u32 = 4242;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = FileStore::new(&dir);
    save(&store, &doc_with("default", KEY));
    let path = dir.join("credentials.json");
    let lock_path = dir.join("credentials.json.lock");
    let before = fs::read(&path).unwrap();
    let chown = |p: &Path, uid: u32| std::os::unix::fs::chown(p, Some(uid), None).unwrap();

    // Another user's credentials file (planted, or written by a `sudo` run): never used.
    chown(&path, OTHER);
    let err = store.read().unwrap_err();
    assert_refused(&err, &path, &format!("sudo chown {me} {}", path.display()));
    assert!(
        err.to_string()
            .contains(&format!("owned by uid {OTHER}, not by you (uid {me})")),
        "{err}"
    );
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(FileStore::new(&dir))
        .ui(ui.clone())
        .build()
        .unwrap();
    assert_eq!(auth.status().await.unwrap_err().code(), "unsafe_storage");
    assert_eq!(
        auth.login_api_key(KEY).await.unwrap_err().code(),
        "unsafe_storage"
    );
    assert_eq!(fs::read(&path).unwrap(), before, "nothing was changed");
    chown(&path, me);

    // Its directory.
    chown(&dir, OTHER);
    assert_refused(
        &store.read().unwrap_err(),
        &dir,
        &format!("sudo chown -R {me} {}", dir.display()),
    );
    assert_eq!(store.lock().unwrap_err().code(), "unsafe_storage");
    chown(&dir, me);

    // The lock file.
    chown(&lock_path, OTHER);
    assert_refused(
        &store.lock().unwrap_err(),
        &lock_path,
        &format!("sudo chown {me} {}", lock_path.display()),
    );
    chown(&lock_path, me);
    assert!(store.read().unwrap().is_some());
    save(&store, &doc_with("default", KEY));
}

#[test]
fn an_oversized_file_is_refused_before_it_is_read_and_is_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    let store = FileStore::new(&dir);
    // A valid document of 2 MiB (a profile with a large unknown field).
    let mut doc = doc_with("default", KEY);
    let big = doc_with("big", KEY);
    let mut profile = big.profile("big").unwrap().clone_secret();
    profile
        .extra
        .insert("padding", &serde_json::Value::from("x".repeat(2 << 20)));
    doc.set_profile("big", profile).unwrap();
    let bytes = doc.to_json();
    assert!(CredentialsDocument::from_json(&bytes).is_ok());
    fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    let path = dir.join("credentials.json");
    fs::write(&path, &bytes).unwrap();
    chmod(&path, 0o600);
    let err = store.read().unwrap_err();
    assert_refused(
        &err,
        &path,
        &format!("mv {p} {p}.large", p = path.display()),
    );
    assert!(
        err.to_string().contains(&format!(
            "it is {} bytes, more than the 1024 KiB",
            bytes.len()
        )),
        "{err}"
    );
    // Not damage: the file stays where it is, unchanged.
    assert_eq!(fs::read(&path).unwrap(), bytes);
    let lock = store.lock().unwrap();
    assert_eq!(
        store.read_locked(&lock).unwrap_err().code(),
        "unsafe_storage"
    );
    // A document that large is never written either.
    fs::remove_file(&path).unwrap();
    let err = store.write(&lock, &doc).unwrap_err();
    assert!(
        err.to_string().contains("more than the 1024 KiB limit"),
        "{err}"
    );
    assert!(!path.exists());
}

// ── forward compatibility (issue 10, item 8) ─────────────────────────────

/// A document written by a newer release ("1.1": version 1 with additions).
const V1_1: &str = include_str!("../../tests/fixtures/credentials-1.1.json");
const V1_1_PARTS: &str = include_str!("../../tests/fixtures/credentials-1.1.parts.json");

/// The parts of [`V1_1`] this version does not understand, as their exact text.
fn v1_1_parts() -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(V1_1_PARTS).unwrap();
    v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

fn assert_parts_kept(text: &str, except: &[&str]) {
    for part in v1_1_parts() {
        if except.iter().any(|e| part.contains(e)) {
            continue;
        }
        assert!(
            text.contains(&part),
            "lost or changed:\n{part}\n--- in ---\n{text}"
        );
    }
}

#[tokio::test]
async fn a_newer_release_document_survives_reads_and_rewrites_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".acme");
    fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    let path = dir.join("credentials.json");
    fs::write(&path, V1_1).unwrap();
    chmod(&path, 0o600);
    let store = FileStore::new(&dir);
    // Read-only: nothing moved aside, nothing rewritten, the known profiles usable.
    let doc = store.read().unwrap().unwrap();
    assert_eq!(doc.profiles.keys().collect::<Vec<_>>(), ["default", "work"]);
    assert_eq!(fs::read_to_string(&path).unwrap(), V1_1);
    let ui = CaptureUi::new();
    let auth = Authenticator::builder("acme")
        .store(FileStore::new(&dir))
        .ui(ui.clone())
        .build()
        .unwrap();
    let status = auth.status().await.unwrap();
    assert!(status.authenticated);
    assert_eq!(status.profile.as_deref(), Some("default"));
    let text = ui.text();
    assert!(
        text.contains("Profile `next` was stored by a newer version (credential type `passkey`); it is kept unchanged and not used.")
            && text.contains("Profile `hw` was stored by a newer version (login method `hardware_key`)"),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        V1_1,
        "status wrote nothing"
    );
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("corrupt")),
        "nothing moved aside: {names:?}"
    );
    // A rewrite under the lock (what every login, refresh and logout does).
    let lock = store.lock().unwrap();
    let mut doc = store.read_locked(&lock).unwrap().unwrap();
    doc.set_profile(
        "ci",
        Profile::new(
            Credential::ApiKey(ApiKey::new(KEY)),
            LoginMethod::ApiKey,
            cliauth::now(),
        ),
    )
    .unwrap();
    store.write(&lock, &doc).unwrap();
    drop(lock);
    assert_parts_kept(&fs::read_to_string(&path).unwrap(), &[]);
    // A login of another profile and a logout of the active one, through the
    // authenticator.
    auth.with_profile("ci2")
        .unwrap()
        .login_api_key(KEY)
        .await
        .unwrap();
    assert_parts_kept(&fs::read_to_string(&path).unwrap(), &[]);
    let out = auth.logout().await.unwrap();
    assert_eq!(out.profile, "default");
    assert_parts_kept(
        &fs::read_to_string(&path).unwrap(),
        &["\"labels\"", "\"rotation\""],
    );
    // A login into the newer release's profile is refused; it is still there.
    let err = auth
        .with_profile("next")
        .unwrap()
        .login_api_key(KEY)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unsupported_profile");
    assert_parts_kept(
        &fs::read_to_string(&path).unwrap(),
        &["\"labels\"", "\"rotation\""],
    );
}
