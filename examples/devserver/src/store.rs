//! The server's state, in memory or in a JSON file shared between processes.
//!
//! Every handler runs its reads and writes as one [`Store::transact`] closure. With a
//! state file, a transaction takes an exclusive `flock` on `<file>.lock` (so separate
//! processes serialise), reads the file, runs the closure and — if anything changed —
//! writes a temporary file in the same directory and renames it over the state file.
//! Readers never see a half-written file, and two server instances sharing the file
//! see each other's codes, tokens, revocations and rate-limit windows immediately.
//!
//! Secrets are stored as SHA-256 hashes only ([`crate::random::hash`]).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cliauth_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::DevServerError;
use crate::util::{ServerError, now};

/// The state file's format version.
const VERSION: u32 = 1;
/// How long expired codes stay known, so that late use gets a precise error.
const CODE_GRACE: Duration = Duration::from_secs(600);
/// How long expired tokens stay known, for the same reason.
const TOKEN_GRACE: Duration = Duration::from_secs(3600);

/// A dev user. Anyone can sign in as any username; the first sign-in creates it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) sub: String,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) email: String,
}

impl User {
    pub(crate) fn new(username: &str) -> User {
        let mut name: String = username
            .chars()
            .take(1)
            .flat_map(char::to_uppercase)
            .collect();
        name.extend(username.chars().skip(1));
        User {
            sub: format!("user_{username}"),
            username: username.to_string(),
            name,
            email: format!("{username}@cliauth.test"),
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sub": self.sub, "username": self.username, "name": self.name, "email": self.email
        })
    }
}

/// A signed-in browser (the `cliauth_dev_session` cookie).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) username: String,
    pub(crate) expires_at: Timestamp,
}

/// A dev API key (`demo_dev_…`), stored by hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ApiKeyRecord {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) masked: String,
    pub(crate) created_at: Timestamp,
    pub(crate) revoked_at: Option<Timestamp>,
}

/// An opaque access token (`demo_at_…`), stored by hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AccessRecord {
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Timestamp,
    pub(crate) family: Option<String>,
    pub(crate) revoked: bool,
}

/// A refresh token (`demo_rt_…`), stored by hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub(crate) family: String,
    pub(crate) expires_at: Timestamp,
    /// Replaced by a newer token: presenting it again is reuse.
    pub(crate) rotated: bool,
}

/// A refresh-token family: one grant and all its rotations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Family {
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    /// Hash of the one refresh token that is currently valid.
    pub(crate) current: String,
    pub(crate) expires_at: Timestamp,
    pub(crate) rotations: u32,
    /// Why the family was revoked, if it was.
    pub(crate) revoked: Option<String>,
}

/// What an authorization code becomes at the token endpoint.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CodeKind {
    /// From `/authorize`: access + refresh tokens.
    OAuth,
    /// From `/cli-auth/mint`: a freshly minted dev API key as the access token.
    Handoff,
}

/// An authorization code or one-time handoff code, stored by hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CodeRecord {
    pub(crate) kind: CodeKind,
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Timestamp,
    pub(crate) used: bool,
    /// What the exchange issued, revoked if the code is presented again.
    pub(crate) issued_family: Option<String>,
    pub(crate) issued_access: Option<String>,
    pub(crate) issued_key: Option<String>,
}

/// A device authorization's progress.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code is spent.
    Consumed,
}

/// A device code (RFC 8628), stored by hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct DeviceRecord {
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Timestamp,
    /// The current minimum poll interval (grows by 5 s with each `slow_down`).
    pub(crate) interval_ms: u64,
    pub(crate) last_poll: Option<Timestamp>,
    pub(crate) status: DeviceStatus,
    pub(crate) username: Option<String>,
    pub(crate) auto_approve_at: Option<Timestamp>,
}

/// An authorization request waiting for the user's decision on the consent page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ConsentRequest {
    pub(crate) csrf_hash: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: String,
    pub(crate) code_challenge: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Timestamp,
}

/// A fixed rate-limit window for one policy and user.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RateWindow {
    pub(crate) start: Timestamp,
    pub(crate) until: Timestamp,
    pub(crate) count: u32,
}

/// Everything the server knows. Maps are keyed by secret hashes where the key is a
/// secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct State {
    pub(crate) version: u32,
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) sessions: BTreeMap<String, Session>,
    pub(crate) api_keys: BTreeMap<String, ApiKeyRecord>,
    pub(crate) access_tokens: BTreeMap<String, AccessRecord>,
    pub(crate) refresh_tokens: BTreeMap<String, RefreshRecord>,
    pub(crate) families: BTreeMap<String, Family>,
    pub(crate) codes: BTreeMap<String, CodeRecord>,
    pub(crate) device_codes: BTreeMap<String, DeviceRecord>,
    pub(crate) consents: BTreeMap<String, ConsentRequest>,
    pub(crate) rate_windows: BTreeMap<String, RateWindow>,
}

impl Default for State {
    fn default() -> Self {
        let mut users = BTreeMap::new();
        for (username, name) in [("demo", "Demo User"), ("alice", "Alice Example")] {
            let mut user = User::new(username);
            user.name = name.into();
            users.insert(username.to_string(), user);
        }
        State {
            version: VERSION,
            users,
            sessions: BTreeMap::new(),
            api_keys: BTreeMap::new(),
            access_tokens: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
            families: BTreeMap::new(),
            codes: BTreeMap::new(),
            device_codes: BTreeMap::new(),
            consents: BTreeMap::new(),
            rate_windows: BTreeMap::new(),
        }
    }
}

impl State {
    /// The user, created on first use.
    pub(crate) fn user(&mut self, username: &str) -> User {
        self.users
            .entry(username.to_string())
            .or_insert_with(|| User::new(username))
            .clone()
    }

    /// The users, the demo user first (pickers preselect the first one).
    pub(crate) fn users_sorted(&self) -> Vec<User> {
        let mut users: Vec<User> = self.users.values().cloned().collect();
        users.sort_by_key(|u| (u.username != crate::DEMO_USER, u.username.clone()));
        users
    }

    /// Revokes a refresh-token family and every access token issued from it.
    pub(crate) fn revoke_family(&mut self, family: &str, reason: &str) {
        if let Some(f) = self.families.get_mut(family)
            && f.revoked.is_none()
        {
            f.revoked = Some(reason.to_string());
        }
        for access in self.access_tokens.values_mut() {
            if access.family.as_deref() == Some(family) {
                access.revoked = true;
            }
        }
    }

    /// Forgets what has expired long enough ago.
    fn collect_garbage(&mut self, now: Timestamp) {
        let past = |t: Timestamp, grace: Duration| t.saturating_add(grace) < now;
        self.sessions
            .retain(|_, s| !past(s.expires_at, Duration::ZERO));
        self.consents
            .retain(|_, c| !past(c.expires_at, Duration::ZERO));
        self.codes.retain(|_, c| !past(c.expires_at, CODE_GRACE));
        self.device_codes
            .retain(|_, d| !past(d.expires_at, CODE_GRACE));
        self.access_tokens
            .retain(|_, a| !past(a.expires_at, TOKEN_GRACE));
        self.families
            .retain(|_, f| !past(f.expires_at, TOKEN_GRACE));
        let families = &self.families;
        self.refresh_tokens
            .retain(|_, r| families.contains_key(&r.family) && !past(r.expires_at, TOKEN_GRACE));
        self.rate_windows
            .retain(|_, w| !past(w.until, Duration::ZERO));
    }
}

/// Where the state lives.
pub(crate) struct Store {
    /// The state itself in memory mode; in file mode only serialises this process's
    /// transactions (the file lock serialises processes).
    memory: Mutex<State>,
    file: Option<StateFile>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("file", &self.file.as_ref().map(|s| &s.path))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct StateFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl Store {
    /// A store in memory, or backed by `path` (created with the seed users if absent;
    /// refused if it exists but is not a state file).
    pub(crate) fn open(path: Option<PathBuf>) -> Result<Store, DevServerError> {
        let file = match path {
            None => None,
            Some(path) => {
                let mut lock_name = path.file_name().unwrap_or_default().to_os_string();
                lock_name.push(".lock");
                let file = StateFile {
                    lock_path: path.with_file_name(lock_name),
                    path,
                };
                let error = |reason: String| DevServerError::StateFile {
                    path: file.path.clone(),
                    reason,
                };
                if let Some(dir) = file.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
                }
                let _lock = file.lock().map_err(|e| error(e.to_string()))?;
                match file.read() {
                    Ok(Some(_)) => {}
                    Ok(None) => file
                        .write(&State::default())
                        .map_err(|e| error(e.to_string()))?,
                    Err(e) => return Err(error(e)),
                }
                Some(file)
            }
        };
        Ok(Store {
            memory: Mutex::new(State::default()),
            file,
        })
    }

    fn memory(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way
        // that matters for a dev server; keep serving.
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the state at the current time, atomically with respect to every
    /// other transaction (in this process and, with a state file, in other processes).
    pub(crate) async fn transact<R, F>(self: &Arc<Self>, f: F) -> Result<R, ServerError>
    where
        F: FnOnce(&mut State, Timestamp) -> R + Send + 'static,
        R: Send + 'static,
    {
        if self.file.is_none() {
            let mut state = self.memory();
            let now = now();
            state.collect_garbage(now);
            return Ok(f(&mut state, now));
        }
        let store = Arc::clone(self);
        tokio::task::spawn_blocking(move || store.transact_file(f))
            .await
            .map_err(|e| ServerError(format!("state transaction failed: {e}")))?
    }

    fn transact_file<R>(
        &self,
        f: impl FnOnce(&mut State, Timestamp) -> R,
    ) -> Result<R, ServerError> {
        let Some(file) = &self.file else {
            return Err(ServerError("no state file".into()));
        };
        let _in_process = self.memory();
        let _lock = file
            .lock()
            .map_err(|e| ServerError(format!("cannot lock the state file: {e}")))?;
        let (mut state, before) = match file.read().map_err(ServerError)? {
            Some((state, text)) => (state, Some(text)),
            None => (State::default(), None),
        };
        let now = now();
        state.collect_garbage(now);
        let result = f(&mut state, now);
        let after = serialize(&state).map_err(|e| ServerError(e.to_string()))?;
        if before.as_deref() != Some(after.as_str()) {
            file.write_text(&after)
                .map_err(|e| ServerError(format!("cannot write the state file: {e}")))?;
        }
        Ok(result)
    }

    /// Replaces the state with the seed (for `/_dev/reset`).
    pub(crate) async fn reset(self: &Arc<Self>) -> Result<(), ServerError> {
        self.transact(|state, _| *state = State::default()).await
    }
}

fn serialize(state: &State) -> serde_json::Result<String> {
    serde_json::to_string_pretty(state)
}

impl StateFile {
    /// An exclusive lock on the lock file, released when the file is closed.
    fn lock(&self) -> io::Result<File> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&self.lock_path)?;
        file.lock()?;
        Ok(file)
    }

    /// The state and its text, `None` if there is no file yet.
    fn read(&self) -> Result<Option<(State, String)>, String> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read the state file: {e}")),
        };
        let state: State = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a dev-server state file (line {} column {}); delete it to start over",
                self.path.display(),
                e.line(),
                e.column()
            )
        })?;
        if state.version != VERSION {
            return Err(format!(
                "{} has state version {} (this server writes {VERSION}); delete it to start over",
                self.path.display(),
                state.version
            ));
        }
        Ok(Some((state, text)))
    }

    fn write(&self, state: &State) -> io::Result<()> {
        let text = serialize(state).map_err(io::Error::other)?;
        self.write_text(&text)
    }

    /// Writes a sibling temporary file, syncs it, and renames it over the state file.
    fn write_text(&self, text: &str) -> io::Result<()> {
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = self.path.with_file_name(tmp_name);
        {
            let mut f = create_private(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)
    }
}

/// Creates (truncating) a file readable only by its owner.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.json");
        let a = Arc::new(Store::open(Some(path.clone())).unwrap());
        let b = Arc::new(Store::open(Some(path.clone())).unwrap());
        a.transact(|s, _| {
            s.user("carol");
        })
        .await
        .unwrap();
        let seen = b
            .transact(|s, _| s.users.contains_key("carol"))
            .await
            .unwrap();
        assert!(seen);
        fs::write(&path, "not json").unwrap();
        assert!(Store::open(Some(path.clone())).is_err());
        assert!(b.transact(|_, _| ()).await.is_err());
    }
}
