//! The credentials document in Web Storage: the same versioned JSON the CLI keeps in
//! `~/.<app>/credentials.json`, read and changed by core.

use cliauth_core::credentials::{
    self, Credential, CredentialsDocument, LoginMethod, ResolveInput, StatusReport,
};
use cliauth_core::flow::{Client, KeyLogin, LoginConfig, Logout, ServerEndpoints, run_offline};
use cliauth_core::keys::KeyRegistry;
use cliauth_core::retry::RetryPolicy;
use cliauth_core::time::Now;
use cliauth_core::token::RefreshPolicy;
use cliauth_core::{Error, Timestamp};

use crate::convert::{Obj, push_str, string};

/// Parses stored text; `None` (nothing stored) is an empty document. Stored text that
/// is empty or damaged is `corrupt_credentials`, never silently reset (core's rule).
pub(crate) fn parse_doc(text: Option<&str>) -> Result<CredentialsDocument, Error> {
    match text {
        Some(t) => CredentialsDocument::from_json(t.as_bytes()),
        None => Ok(CredentialsDocument::new()),
    }
}

/// The text to store.
pub(crate) fn doc_text(doc: &CredentialsDocument) -> String {
    String::from_utf8_lossy(&doc.to_json()).into_owned()
}

/// What `auth status --json` prints for the document at `now`: core's status report,
/// field for field (snake_case, like the CLI's JSON). `profile`: a named profile
/// instead of the active one.
pub(crate) fn credentials_status(
    document: Option<&str>,
    profile: Option<&str>,
    at: Timestamp,
) -> Result<String, Error> {
    report(document, profile, at).map(|r| r.to_json())
}

/// The status block the CLI prints (`✓ Logged in to Acme as …`), with the configured
/// app names, as a JSON string.
pub(crate) fn credentials_status_text(
    document: Option<&str>,
    profile: Option<&str>,
    at: Timestamp,
) -> Result<String, Error> {
    report(document, profile, at).map(|r| string(&crate::config::with_app(|app| r.render(app))))
}

fn report(
    document: Option<&str>,
    profile: Option<&str>,
    at: Timestamp,
) -> Result<StatusReport, Error> {
    let doc = parse_doc(document)?;
    let resolved = credentials::resolve(ResolveInput {
        flag: None,
        env: None,
        env_token: None,
        profile,
        document: Some(&doc),
    })?;
    let r = crate::config::with_keys(|keys| {
        StatusReport::new(
            resolved.as_ref(),
            Some(&doc),
            keys,
            at,
            &RefreshPolicy::default(),
        )
    });
    Ok(r)
}

/// The profiles of a document: JSON `{activeProfile?, profiles: {name: {method,
/// credentialType, issuer?}}, skipped?: {name: notice}}` — `skipped`: the profiles a
/// newer version stored, kept unchanged and not used, with core's notice for each.
/// Fails with `corrupt_credentials` or `unsupported_version`.
pub(crate) fn credentials_profiles(document: Option<&str>) -> Result<String, Error> {
    parse_doc(document).map(|doc| {
        let mut profiles = String::from("{");
        for (i, (name, p)) in doc.profiles.iter().enumerate() {
            if i > 0 {
                profiles.push(',');
            }
            push_str(&mut profiles, name);
            profiles.push(':');
            let kind = match p.credential {
                Credential::ApiKey(_) => "api_key",
                Credential::OAuth(_) => "oauth",
            };
            profiles.push_str(
                &Obj::new()
                    .str("method", p.method.as_str())
                    .str("credentialType", kind)
                    .opt("issuer", p.issuer.as_deref())
                    .end(),
            );
        }
        profiles.push('}');
        let obj = Obj::new()
            .opt("activeProfile", doc.active_profile.as_deref())
            .raw("profiles", &profiles);
        if doc.unknown_profiles().next().is_none() {
            return obj.end();
        }
        let mut skipped = Obj::new();
        for (name, unknown) in doc.unknown_profiles() {
            skipped = skipped.str(name, &unknown.notice(name));
        }
        obj.raw("skipped", &skipped.end()).end()
    })
}

/// The document without `profile` (default: the active one) — a local sign-out.
/// Returns the new text (a JSON string), at `at`.
pub(crate) fn credentials_remove(
    document: Option<&str>,
    profile: Option<&str>,
    at: Timestamp,
) -> Result<String, Error> {
    {
        let doc = parse_doc(document)?;
        // Core's logout decides which profile goes; no server, so nothing is revoked.
        let mut flow = Logout::new(
            profile.map(str::to_string),
            None,
            Client::new(String::new()),
            ServerEndpoints::Missing(Error::NotAuthenticated),
            None,
            None,
            RetryPolicy::default(),
            0,
        );
        let (_, written) = run_offline(&mut flow, Some(doc), Now::from_wall(at))?;
        written
            .map(|d| string(&doc_text(&d)))
            .ok_or(Error::Misuse("a logout wrote nothing"))
    }
}

/// The document with `profile` active. Fails with `profile_not_found`.
pub(crate) fn credentials_switch(document: Option<&str>, profile: &str) -> Result<String, Error> {
    parse_doc(document).and_then(|mut doc| {
        doc.switch(profile)?;
        Ok(string(&doc_text(&doc)))
    })
}

/// The document with an API key stored in `profile` (made active), after validating
/// it with the configured key formats (fails with `invalid_key` and `problem`).
pub(crate) fn credentials_add_api_key(
    document: Option<&str>,
    profile: &str,
    key: &str,
    at: Timestamp,
) -> Result<String, Error> {
    {
        let doc = parse_doc(document)?;
        // Core's key login validates the key and decides the profile's fields (the
        // fields a newer version stored are kept); switching to it is this call's.
        let mut config = LoginConfig::new(Client::new(String::new()));
        config.keys = crate::config::with_keys(KeyRegistry::clone);
        config.profile = Some(profile.to_string());
        let mut flow = KeyLogin::new(key, LoginMethod::ApiKey, config);
        let (_, written) = run_offline(&mut flow, Some(doc), Now::from_wall(at))?;
        let mut doc = written.ok_or(Error::Misuse("a key login wrote nothing"))?;
        doc.switch(profile)?;
        Ok(string(&doc_text(&doc)))
    }
}
