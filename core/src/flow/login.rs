//! What every login shares: its configuration, its outcome, and the storing step
//! where the profile edits are decided.
//!
//! A login's credential goes to the profile the user named (`--profile`), else the
//! active profile, else `default`; it becomes active only when no profile is active
//! (so `--profile work` does not silently switch the account other commands use). The
//! new profile records how it was obtained, the API base, the issuer (OAuth
//! credentials only), who it belongs to (`subject`) and when a server last accepted
//! it (`verified_at`: an OAuth login, a verified key; not an unverified key), and
//! keeps the fields a newer version stored in the profile it replaces — except the
//! ones the shell's configuration sets or removes ([`LoginConfig::profile_fields`],
//! such as native's `"storage": "file"` for `--insecure-storage`).

use serde::Serialize;

use crate::credentials::{Credential, CredentialsDocument, DEFAULT_PROFILE, LoginMethod, Profile};
use crate::error::Error;
use crate::exchange::Exchange;
use crate::flow::{Access, Client, Flow, Input, Outbox, Prompt, Step};
use crate::http::{HttpRequest, HttpResponse};
use crate::json::Value;
use crate::keys::KeyRegistry;
use crate::retry::RetryPolicy;
use crate::time::{Now, Timestamp};
use crate::token::TokenSet;

/// What a login needs to know about the app and its server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginConfig {
    /// The OAuth client.
    pub client: Client,
    /// The token endpoint (`None`: the app has no OAuth server; codes cannot be
    /// exchanged).
    pub token_endpoint: Option<String>,
    /// Retries for the login's requests.
    pub retry: RetryPolicy,
    /// The API key formats the app accepts.
    pub keys: KeyRegistry,
    /// The endpoint that verifies an API key (`GET` with the key as bearer token).
    pub verify: Option<String>,
    /// One overall deadline for that verification, retries included (`None`: the
    /// retry policy alone bounds it), so that a server dripping its answer cannot
    /// hold the login for attempts × timeout.
    pub verify_within: Option<core::time::Duration>,
    /// Where to ask who an opaque access token belongs to (the verification endpoint
    /// or OpenID userinfo), when the tokens do not say.
    pub subject_endpoint: Option<String>,
    /// The product's name, for the loopback server's pages.
    pub product: String,
    /// The profile the user named (`None`: the active one, else `default`).
    pub profile: Option<String>,
    /// The configured authorization server, stored with OAuth credentials.
    pub issuer: Option<String>,
    /// The configured API, stored with every credential.
    pub api_base: Option<String>,
    /// Whether the credential is stored (`false`: the flow ends with it, reading and
    /// writing nothing).
    pub store: bool,
    /// Unknown-field entries of the stored profile ([`Profile::extra`]) the storing
    /// step sets (`Some`) or removes (`None`): fields the shell's store reads, such as
    /// native's `"storage": "file"` (keep this credential out of the OS keyring).
    pub profile_fields: Vec<(String, Option<serde_json::Value>)>,
    /// Whether the cli-auth handoff accepts a raw API key from the page
    /// (`api_key=`), not only a one-time code bound to the PKCE challenge. Off by
    /// default: a key is a bearer credential nothing binds to this login, so whoever
    /// reaches the loopback server with the `state` first has it stored.
    pub raw_key_handoff: bool,
    /// Entropy for backoff jitter.
    pub seed: u64,
}

impl LoginConfig {
    /// A configuration for `client` with default retries, no key formats, no
    /// endpoints; the credential is stored.
    pub fn new(client: Client) -> Self {
        LoginConfig {
            client,
            token_endpoint: None,
            retry: RetryPolicy::default(),
            keys: KeyRegistry::new(Vec::new()),
            verify: None,
            verify_within: None,
            subject_endpoint: None,
            product: "the service".into(),
            profile: None,
            issuer: None,
            api_base: None,
            store: true,
            profile_fields: Vec::new(),
            raw_key_handoff: false,
            seed: 0,
        }
    }

    /// The next seed for a sub-flow's jitter.
    pub(crate) fn next_seed(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.seed
    }

    /// The token endpoint, or the configuration error naming its absence.
    pub fn require_token_endpoint(&self) -> Result<String, Error> {
        self.token_endpoint.clone().ok_or_else(|| {
            Error::invalid_config("the authorization server offers no token endpoint")
        })
    }
}

/// Whether a verification round trip accepted a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// The server accepted the credential.
    Verified,
    /// The server could not be asked (network or server error); the credential was
    /// stored anyway.
    Unverified {
        /// Why (no secret).
        reason: String,
    },
    /// No verification endpoint is configured (or the login itself proved it).
    NotChecked,
}

/// The result of a successful login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LoginOutcome {
    /// The profile the credential was stored in.
    pub profile: String,
    /// Whether that profile is now the active one.
    pub active: bool,
    /// How it was obtained.
    pub method: LoginMethod,
    /// `api_key` or `oauth`.
    pub credential_type: &'static str,
    /// Who it belongs to, when known.
    pub subject: Option<String>,
    /// The key, masked (for API keys).
    pub masked_key: Option<String>,
    /// When the access token expires (OAuth).
    pub expires_at: Option<String>,
    /// Granted scopes (OAuth).
    pub scopes: Vec<String>,
    /// Verification of API keys.
    pub verification: Verification,
    /// Where the shell's store keeps the credential (`OS keyring (service acme)`, the
    /// credentials file's path): a fact of the store, which the shell fills in after
    /// the flow (`None` from core; not serialised then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

/// What a login flow ends with: the outcome to report and the credential it stored.
#[derive(Debug)]
#[non_exhaustive]
pub struct Login {
    /// What to tell the user.
    pub outcome: LoginOutcome,
    /// The credential (secret).
    pub credential: Credential,
}

/// The storing step: read the document under the lock, put the credential in the
/// right profile, persist the whole document.
#[derive(Debug)]
pub(crate) struct Save {
    credential: Option<Credential>,
    method: LoginMethod,
    subject: Option<String>,
    verified_at: Option<Timestamp>,
    profile: Option<String>,
    issuer: Option<String>,
    api_base: Option<String>,
    fields: Vec<(String, Option<serde_json::Value>)>,
    outbox: Outbox,
    state: SaveState,
}

#[derive(Debug)]
enum SaveState {
    Read,
    Persisting(CredentialsDocument, String, bool),
    Saved(String, bool),
    Failed(Error),
    Finished,
}

impl Save {
    pub(crate) fn new(
        config: &LoginConfig,
        credential: Credential,
        method: LoginMethod,
        subject: Option<String>,
        verified_at: Option<Timestamp>,
    ) -> Self {
        let state = if config.store {
            SaveState::Read
        } else {
            let name = config.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
            SaveState::Saved(name.to_string(), false)
        };
        Save {
            credential: Some(credential),
            method,
            subject,
            verified_at,
            profile: config.profile.clone(),
            issuer: config.issuer.clone(),
            api_base: config.api_base.clone(),
            fields: config.profile_fields.clone(),
            outbox: Outbox::default(),
            state,
        }
    }

    /// The decision of the module docs, applied to `doc`: the profile's name and
    /// whether it is active.
    fn store_in(&self, doc: &mut CredentialsDocument, now: Now) -> Result<(String, bool), Error> {
        let credential = self
            .credential
            .as_ref()
            .ok_or(Error::Misuse("the credential was already stored"))?
            .clone_secret();
        let name = self
            .profile
            .clone()
            .or_else(|| doc.active_profile.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        let oauth = matches!(credential, Credential::OAuth(_));
        let mut profile = Profile::new(credential, self.method, now.wall);
        if oauth {
            profile.issuer = self.issuer.clone();
        }
        profile.api_base = self.api_base.clone();
        profile.subject = self.subject.clone();
        profile.verified_at = self.verified_at;
        if let Some(old) = doc.profile(&name) {
            profile.extra = old.extra.clone();
        }
        for (field, value) in &self.fields {
            match value {
                Some(v) => profile.extra.insert(field.clone(), v),
                None => {
                    profile.extra.remove(field);
                }
            }
        }
        doc.set_profile(&name, profile)?;
        let active = doc.active_profile.as_deref() == Some(name.as_str());
        Ok((name, active))
    }

    fn on_stored(&mut self, now: Now, stored: Result<Option<CredentialsDocument>, Error>) {
        let mut doc = match stored {
            Ok(doc) => doc.unwrap_or_default(),
            // The store kept the damaged file aside: say so, and start afresh.
            Err(Error::CorruptCredentials {
                moved_to: Some(path),
                ..
            }) => {
                self.outbox.prompt(Prompt::Warning(format!(
                    "The credentials file was damaged; it was kept at {path} and a new one is started."
                )));
                CredentialsDocument::new()
            }
            Err(e) => {
                self.state = SaveState::Failed(e);
                return;
            }
        };
        self.state = match self.store_in(&mut doc, now) {
            Ok((name, active)) => SaveState::Persisting(doc, name, active),
            Err(e) => SaveState::Failed(e),
        };
    }

    /// The stored credential, once [`Step::Done`] was returned.
    pub(crate) fn take_credential(&mut self) -> Option<Credential> {
        self.credential.take()
    }
}

impl Flow for Save {
    /// The profile's name and whether it is active.
    type Output = (String, bool);

    fn poll(&mut self, _now: Now) -> Step<(String, bool)> {
        if let Some(step) = self.outbox.pop() {
            return step;
        }
        match &self.state {
            SaveState::Read => Step::ReadStorage(Access::Locked),
            SaveState::Persisting(doc, ..) => Step::Persist(doc.clone_secret()),
            _ => match core::mem::replace(&mut self.state, SaveState::Finished) {
                SaveState::Saved(name, active) => Step::Done((name, active)),
                SaveState::Failed(e) => Step::Failed(e),
                _ => Step::Finished,
            },
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match (&self.state, input) {
            (SaveState::Finished, _) => {}
            (SaveState::Read, Input::Stored(stored)) => self.on_stored(now, stored),
            (SaveState::Persisting(_, name, active), Input::Persisted(result)) => {
                self.state = match result {
                    Ok(()) => SaveState::Saved(name.clone(), *active),
                    Err(e) => SaveState::Failed(e),
                };
            }
            // Once the document is being written, the login completes as written.
            (SaveState::Persisting(..), Input::Cancel) => {}
            (_, Input::Cancel) => self.state = SaveState::Failed(Error::Cancelled),
            (_, other) => self.state = SaveState::Failed(crate::flow::unexpected(&other)),
        }
    }
}

/// Finishes an OAuth login: who the tokens belong to (their JWT claims, else one
/// request to the subject endpoint, best effort), then storing them with
/// `verified_at` (the server just issued them).
#[derive(Debug)]
pub(crate) struct OAuthFinish {
    tokens: Option<TokenSet>,
    method: LoginMethod,
    config: LoginConfig,
    subject: Option<String>,
    state: FinishState,
}

#[derive(Debug)]
enum FinishState {
    Start,
    Asking(Exchange),
    Saving(Save),
    Finished,
}

impl OAuthFinish {
    pub(crate) fn new(tokens: TokenSet, method: LoginMethod, config: LoginConfig) -> Self {
        OAuthFinish {
            tokens: Some(tokens),
            method,
            config,
            subject: None,
            state: FinishState::Start,
        }
    }

    fn save(&mut self, now: Now, subject: Option<String>) {
        self.subject = subject.clone();
        self.state = match &self.tokens {
            Some(t) => FinishState::Saving(Save::new(
                &self.config,
                Credential::OAuth(t.clone_secret()),
                self.method,
                subject,
                Some(now.wall),
            )),
            None => FinishState::Finished,
        };
    }
}

impl Flow for OAuthFinish {
    type Output = Login;

    fn poll(&mut self, now: Now) -> Step<Login> {
        loop {
            match &mut self.state {
                FinishState::Start => {
                    let Some(tokens) = &self.tokens else {
                        return Step::Finished;
                    };
                    let subject = token_subject(tokens);
                    match (&subject, &self.config.subject_endpoint) {
                        (None, Some(url)) => {
                            let request = HttpRequest::get(url.clone())
                                .with_bearer(tokens.access_token.expose_secret());
                            let seed = self.config.next_seed();
                            self.state = FinishState::Asking(Exchange::new(
                                request,
                                RetryPolicy::never(),
                                seed,
                            ));
                        }
                        _ => self.save(now, subject),
                    }
                }
                FinishState::Asking(ex) => match ex.poll(now).outcome() {
                    Err(step) => return step,
                    // Best effort: the login has succeeded either way.
                    Ok(outcome) => {
                        let subject = outcome
                            .ok()
                            .filter(HttpResponse::is_success)
                            .and_then(|r| subject_from_json(&r));
                        self.save(now, subject);
                    }
                },
                FinishState::Saving(save) => {
                    return match save.poll(now).outcome() {
                        Err(step) => step,
                        Ok(Err(e)) => {
                            self.state = FinishState::Finished;
                            Step::Failed(e)
                        }
                        Ok(Ok((profile, active))) => {
                            let credential = save.take_credential();
                            self.state = FinishState::Finished;
                            let (Some(tokens), Some(credential)) = (self.tokens.take(), credential)
                            else {
                                return Step::Failed(Error::Misuse("the login finished twice"));
                            };
                            Step::Done(Login {
                                outcome: LoginOutcome {
                                    profile,
                                    active,
                                    method: self.method,
                                    credential_type: "oauth",
                                    subject: self.subject.take(),
                                    masked_key: None,
                                    expires_at: tokens.expires_at.map(Timestamp::to_rfc3339),
                                    scopes: tokens.scopes().iter().map(|s| s.to_string()).collect(),
                                    verification: Verification::NotChecked,
                                    storage: None,
                                },
                                credential,
                            })
                        }
                    };
                }
                FinishState::Finished => return Step::Finished,
            }
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match &mut self.state {
            FinishState::Asking(ex) => ex.handle(now, input),
            FinishState::Saving(save) => save.handle(now, input),
            FinishState::Start | FinishState::Finished => {}
        }
    }
}

/// Who the tokens belong to, as a person reads it: the ID token's `email`,
/// `preferred_username` or `name`, else its `sub`; else the same claims of the access
/// token (when it is a JWT). Shown on the login's success line, so that an account
/// the user did not sign in to stands out. Claims are decoded for display only,
/// never trusted.
pub(crate) fn token_subject(t: &TokenSet) -> Option<String> {
    let sub = |token: &str| {
        let claims = crate::jwt::decode_unverified(token).ok()?.claims;
        ["email", "preferred_username", "name"]
            .iter()
            .find_map(|k| match claims.extra.get(*k) {
                Some(serde_json::Value::String(v)) if !v.is_empty() => {
                    Some(crate::error::sanitize_server_text(v))
                }
                _ => None,
            })
            .or(claims.sub.map(|s| crate::error::sanitize_server_text(&s)))
    };
    t.id_token
        .as_ref()
        .and_then(|id| sub(id.expose_secret()))
        .or_else(|| sub(t.access_token.expose_secret()))
}

/// A display name from a verification or userinfo response (`email`, `login`,
/// `username`, `name`, `sub`, `id`, also under `user`), sanitised.
pub fn subject_from_json(response: &HttpResponse) -> Option<String> {
    let value = Value::parse(&response.body)?;
    let fields = ["email", "login", "username", "name", "sub", "id"];
    let user = value.get("user");
    [Some(&value), user]
        .into_iter()
        .flatten()
        .flat_map(|v| fields.iter().map(move |f| v.get(f)))
        .flatten()
        .find_map(|v| match v {
            Value::String(s) if !s.is_empty() => Some(crate::error::sanitize_server_text(s)),
            Value::Number(n) => Some(n.clone()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ApiKey;

    #[test]
    fn profile_fields_are_set_or_removed_and_the_rest_is_kept() {
        let now = Now::from_wall(Timestamp::from_unix_secs(1_700_000_000));
        let key = |k: &str| Credential::ApiKey(ApiKey::new(k));
        let mut doc = CredentialsDocument::new();
        let mut old = Profile::new(key("k1"), LoginMethod::ApiKey, now.wall);
        old.extra.insert("storage", &"file".into());
        old.extra.insert("newer", &true.into());
        doc.set_profile("default", old).unwrap();
        let stored = |fields: Vec<(String, Option<serde_json::Value>)>,
                      doc: &mut CredentialsDocument| {
            let mut config = LoginConfig::new(Client::new("cli"));
            config.profile_fields = fields;
            let save = Save::new(&config, key("k2"), LoginMethod::ApiKey, None, None);
            let (name, _) = save.store_in(doc, now).unwrap();
            doc.profile(&name).unwrap().extra.clone()
        };
        // A login without `--insecure-storage` removes the marker; a newer version's
        // field survives.
        let extra = stored(vec![("storage".into(), None)], &mut doc);
        assert_eq!(extra.get("storage"), None);
        assert_eq!(extra.get("newer"), Some(serde_json::Value::Bool(true)));
        // With it, the marker is set.
        let extra = stored(vec![("storage".into(), Some("file".into()))], &mut doc);
        assert_eq!(extra.get("storage"), Some(serde_json::Value::from("file")));
        assert_eq!(extra.get("newer"), Some(serde_json::Value::Bool(true)));
        // No fields: the old profile's are kept as they are.
        assert_eq!(stored(Vec::new(), &mut doc), extra);
    }

    #[test]
    fn subjects_from_verification_responses() {
        let r = |v: serde_json::Value| HttpResponse::json(200, &v);
        assert_eq!(
            subject_from_json(&r(serde_json::json!({"id": 7, "email": "a@b.c"}))).as_deref(),
            Some("a@b.c")
        );
        assert_eq!(
            subject_from_json(&r(serde_json::json!({"user": {"login": "octo"}}))).as_deref(),
            Some("octo")
        );
        assert_eq!(subject_from_json(&r(serde_json::json!([]))), None);
    }
}
