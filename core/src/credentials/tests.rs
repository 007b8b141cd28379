//! The credentials document's unit tests.

use serde_json::{Value, json};

use super::format::write_json;
use super::*;
use crate::keys::{Charset, KeyFormat};
use crate::secret::{AccessToken, RefreshToken};

const NOW: Timestamp = Timestamp::from_unix_secs(1_795_341_600);

fn doc_with_profiles() -> CredentialsDocument {
    let mut d = CredentialsDocument::new();
    d.set_profile(
        "default",
        Profile::new(
            Credential::ApiKey(ApiKey::new("acme_dev_0123456789abcdefWXYZ")),
            LoginMethod::ApiKey,
            NOW,
        ),
    )
    .unwrap();
    let tokens = TokenSet {
        access_token: AccessToken::new("at"),
        token_type: "Bearer".into(),
        expires_at: Some(NOW.saturating_add(core::time::Duration::from_secs(3600))),
        refresh_token: Some(RefreshToken::new("rt")),
        scope: Some("read write".into()),
        id_token: None,
        obtained_at: NOW,
    };
    let mut p = Profile::new(Credential::OAuth(tokens), LoginMethod::Device, NOW);
    p.subject = Some("user-42".into());
    d.set_profile("work", p).unwrap();
    d
}

#[test]
fn profiles_stay_with_their_server() {
    let mut p = Profile::new(
        Credential::ApiKey(ApiKey::new("acme_dev_0123456789abcdefWXYZ")),
        LoginMethod::Browser,
        NOW,
    );
    p.issuer = Some("https://auth.acme.example/".into());
    p.api_base = Some("https://api.acme.example".into());
    assert!(
        p.check_server("w", Some("https://auth.acme.example/"), None)
            .is_ok()
    );
    // The one issuer rule: identical strings, so a trailing `/` is another issuer
    // (an API base is a URL to join paths to; there it changes nothing).
    assert!(matches!(
        p.check_server("w", Some("https://auth.acme.example"), None),
        Err(Error::ProfileServerMismatch { .. })
    ));
    assert!(
        p.check_server("w", None, Some("https://api.acme.example/"))
            .is_ok()
    );
    assert!(p.check_server("w", None, None).is_ok());
    assert_eq!(
        p.check_server("w", Some("https://evil.example"), None),
        Err(Error::ProfileServerMismatch {
            profile: "w".into(),
            stored: "https://auth.acme.example/".into(),
            configured: "https://evil.example".into(),
        })
    );
    assert!(matches!(
        p.check_server(
            "w",
            Some("https://auth.acme.example/"),
            Some("http://127.0.0.1:9/")
        ),
        Err(Error::ProfileServerMismatch { .. })
    ));
    p.issuer = None;
    assert!(
        p.check_server("w", Some("https://other.example"), None)
            .is_ok()
    );
}

#[test]
fn the_writer_spells_json_as_serde_json_does() {
    // Known parts are written as serde_json wrote them (so files this version
    // rewrites keep their spelling): pretty, and compact for inserted fields.
    let samples = [
        json!(null),
        json!({}),
        json!([]),
        json!({"a": [], "b": {}, "c": [1, {"d": null}], "e": "q\"\\\n\u{1}é", "f": -2.5}),
        json!([
            true,
            false,
            18446744073709551615u64,
            -9223372036854775808i64,
            1e300
        ]),
        json!({"z": {"y": {"x": [[], [[]], {"w": "v"}]}}}),
    ];
    for v in &samples {
        let (mut pretty, mut compact) = (String::new(), String::new());
        write_json(&mut pretty, v, 0, true);
        write_json(&mut compact, v, 0, false);
        assert_eq!(pretty, serde_json::to_string_pretty(v).unwrap());
        assert_eq!(compact, serde_json::to_string(v).unwrap());
    }
    // A whole document without unknown parts, as `to_vec_pretty` wrote it.
    let d = doc_with_profiles();
    let value: Value = serde_json::from_slice(&d.to_json()).unwrap();
    let mut expected = serde_json::to_vec_pretty(&value).unwrap();
    expected.push(b'\n');
    assert_eq!(
        String::from_utf8(d.to_json()).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

#[test]
fn round_trip_preserves_unknown_fields() {
    let mut d = doc_with_profiles();
    d.extra.insert("future", &json!({"x": 1}));
    d.profile_mut("work")
        .unwrap()
        .extra
        .insert("device_name", &json!("laptop"));
    let bytes = d.to_json();
    let back = CredentialsDocument::from_json(&bytes).unwrap();
    assert_eq!(back, d);
    assert_eq!(back.to_json(), bytes);
    assert_eq!(back.active_profile.as_deref(), Some("default"));
}

/// A document written by a newer release ("1.1": version 1 with additions).
const V1_1: &str = include_str!("../../../tests/fixtures/credentials-1.1.json");
const V1_1_PARTS: &str = include_str!("../../../tests/fixtures/credentials-1.1.parts.json");

fn v1_1_parts() -> Vec<String> {
    let v: Value = serde_json::from_str(V1_1_PARTS).unwrap();
    v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

fn assert_parts_kept(written: &[u8]) {
    let text = core::str::from_utf8(written).unwrap();
    for part in v1_1_parts() {
        assert!(
            text.contains(&part),
            "lost or changed:\n{part}\n--- in ---\n{text}"
        );
    }
}

#[test]
fn a_newer_release_document_is_read_skipping_what_it_added() {
    let doc = CredentialsDocument::from_json(V1_1.as_bytes()).unwrap();
    assert_eq!(
        doc.profiles.keys().collect::<Vec<_>>(),
        ["default", "work"],
        "the profiles this version knows stay usable"
    );
    assert_eq!(
        doc.unknown_profile("hw").unwrap().what(),
        "login method `hardware_key`"
    );
    assert_eq!(
        doc.unknown_profile("next").unwrap().what(),
        "credential type `passkey`"
    );
    assert_eq!(
        doc.notices(),
        [
            "Profile `hw` was stored by a newer version (login method `hardware_key`); it is kept unchanged and not used.",
            "Profile `next` was stored by a newer version (credential type `passkey`); it is kept unchanged and not used."
        ]
    );
    assert_eq!(doc.active().unwrap().0, "default");
    assert_eq!(
        doc.extra.names().collect::<Vec<_>>(),
        ["sync", "written_by"]
    );
    let work = doc.profile("work").unwrap();
    assert_eq!(work.extra.get("device_name"), Some(json!("laptop — home")));
    assert_eq!(
        work.credential_extra.names().collect::<Vec<_>>(),
        ["dpop_jkt"]
    );
    // Unchanged, the document is written back byte for byte.
    assert_eq!(String::from_utf8(doc.to_json()).unwrap(), V1_1);
    // Nothing added leaks through Debug.
    let debug = format!("{doc:?}");
    for secret in [
        "hardwarebound",
        "f83OJ3D2",
        "cred-0001",
        "0ZcOCORZ",
        "equipe",
        "at-1",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

#[test]
fn every_rewrite_keeps_what_a_newer_release_added() {
    let mut doc = CredentialsDocument::from_json(V1_1.as_bytes()).unwrap();
    // A login of another profile.
    let key = Credential::ApiKey(ApiKey::new("acme_dev_0123456789abcdefCI00"));
    doc.set_profile("ci", Profile::new(key, LoginMethod::ApiKey, NOW))
        .unwrap();
    assert_parts_kept(&doc.to_json());
    // A refresh of the OAuth profile (what the shells do on Persist).
    let p = doc.profile_mut("work").unwrap();
    let Credential::OAuth(t) = &p.credential else {
        panic!()
    };
    let mut refreshed = t.clone_secret();
    refreshed.access_token = AccessToken::new("at-2");
    p.credential = Credential::OAuth(refreshed);
    p.verified_at = Some(NOW);
    let written = doc.to_json();
    assert_parts_kept(&written);
    assert!(core::str::from_utf8(&written).unwrap().contains("\"at-2\""));
    // A switch, a logout of a known profile, and a parse of our own output.
    doc.switch("ci").unwrap();
    doc.remove_profile("default");
    let again = CredentialsDocument::from_json(&doc.to_json()).unwrap();
    assert_eq!(again.unknown_profiles().count(), 2);
    let text = String::from_utf8(again.to_json()).unwrap();
    for part in v1_1_parts() {
        if part.contains("\"labels\"") || part.contains("\"rotation\"") {
            assert!(!text.contains(&part), "the logged-out profile is gone");
        } else {
            assert!(text.contains(&part), "lost: {part}");
        }
    }
}

#[test]
fn a_profile_of_a_newer_release_is_never_overwritten_or_used() {
    let mut doc = CredentialsDocument::from_json(V1_1.as_bytes()).unwrap();
    let key = || Credential::ApiKey(ApiKey::new("acme_dev_0123456789abcdefCI00"));
    let refused = doc.set_profile("next", Profile::new(key(), LoginMethod::ApiKey, NOW));
    let e = refused.unwrap_err();
    assert_eq!((e.code(), e.exit_code()), ("unsupported_profile", 1));
    let app = AppContext::new("acme", "Acme");
    assert_eq!(
        e.render(&app),
        "✗ Profile `next` was stored by a newer version (credential type `passkey`)\n  It is kept unchanged. Upgrade acme to use it, pick another profile with `acme auth switch <NAME>` or `--profile <NAME>`, or remove it with `acme auth logout --profile next`."
    );
    assert_eq!(doc.switch("hw").unwrap_err().code(), "unsupported_profile");
    let named = resolve(ResolveInput {
        profile: Some("next"),
        document: Some(&doc),
        ..Default::default()
    });
    assert_eq!(named.unwrap_err().code(), "unsupported_profile");
    // Active and unknown: an error naming it, not "not authenticated".
    doc.active_profile = Some("next".into());
    let active = resolve(ResolveInput {
        document: Some(&doc),
        ..Default::default()
    });
    assert_eq!(active.unwrap_err().code(), "unsupported_profile");
    // A login elsewhere does not take "active" away from it.
    doc.set_profile("ci", Profile::new(key(), LoginMethod::ApiKey, NOW))
        .unwrap();
    assert_eq!(doc.active_profile.as_deref(), Some("next"));
    // Only an explicit removal drops it.
    assert!(doc.remove_profile("next").is_none());
    assert!(doc.unknown_profile("next").is_some());
    assert!(doc.remove_unknown_profile("next").is_some());
    assert_eq!(doc.active_profile, None);
    assert!(
        !String::from_utf8(doc.to_json())
            .unwrap()
            .contains("passkey")
    );
}

#[test]
fn corrupt_and_newer_files_are_typed_errors() {
    for (bytes, code) in [
        (&b""[..], "corrupt_credentials"),
        (b"   \n", "corrupt_credentials"),
        (b"{\"version\":1,\"profiles\":{\"a\":", "corrupt_credentials"),
        (b"[]", "corrupt_credentials"),
        (b"{}", "corrupt_credentials"),
        (b"{\"version\":\"1\"}", "corrupt_credentials"),
        (b"{\"version\":2}", "unsupported_version"),
        (b"{\"version\":1,\"profiles\":{\"a\":{\"method\":\"api_key\",\"credential\":{\"type\":\"api_key\",\"key\":5}}}}", "corrupt_credentials"),
        (b"{\"version\":1,\"profiles\":{\"../x\":{}}}", "corrupt_credentials"),
    ] {
        let e = CredentialsDocument::from_json(bytes).unwrap_err();
        assert_eq!(e.code(), code, "{}", String::from_utf8_lossy(bytes));
    }
    let leaky = br#"{"version":1,"profiles":{"a":{"method":"device","credential":{"type":"oauth","access_token":"SECRETVALUE","expires_at":"SECRETVALUE2"}}}}"#;
    let e = CredentialsDocument::from_json(leaky).unwrap_err();
    assert!(
        !e.to_string().contains("SECRET") && !format!("{e:?}").contains("SECRET"),
        "{e}"
    );
}

#[test]
fn precedence() {
    let d = doc_with_profiles();
    let input = ResolveInput {
        flag: Some("k1"),
        env: Some(("ACME_API_KEY", "k2")),
        env_token: None,
        profile: Some("work"),
        document: Some(&d),
    };
    assert_eq!(
        resolve(input).unwrap().unwrap().source(),
        CredentialSource::Flag
    );
    let input = ResolveInput {
        flag: Some(" "),
        ..input
    };
    assert_eq!(
        resolve(input).unwrap().unwrap().source(),
        CredentialSource::Env {
            var: "ACME_API_KEY".into()
        }
    );
    let input = ResolveInput { env: None, ..input };
    assert_eq!(
        resolve(input).unwrap().unwrap().source(),
        CredentialSource::Profile {
            name: "work".into()
        }
    );
    let input = ResolveInput {
        profile: None,
        ..input
    };
    assert_eq!(
        resolve(input).unwrap().unwrap().source(),
        CredentialSource::Profile {
            name: "default".into()
        }
    );
    let input = ResolveInput {
        profile: Some("nope"),
        ..input
    };
    assert_eq!(
        resolve(input).unwrap_err(),
        Error::ProfileNotFound {
            name: "nope".into()
        }
    );
    assert!(resolve(ResolveInput::default()).unwrap().is_none());
}

#[test]
fn switch_and_remove() {
    let mut d = doc_with_profiles();
    d.switch("work").unwrap();
    assert_eq!(d.active().unwrap().0, "work");
    assert!(d.switch("missing").is_err());
    d.remove_profile("work");
    assert!(d.active().is_none());
    assert!(
        d.set_profile(
            "bad name",
            Profile::new(
                Credential::ApiKey(ApiKey::new("k")),
                LoginMethod::ApiKey,
                NOW
            )
        )
        .is_err()
    );
}

#[test]
fn status_reports() {
    let d = doc_with_profiles();
    let keys = KeyRegistry::new(vec![KeyFormat::prefixed(
        "acme",
        "Acme",
        "developer key",
        "acme_dev_",
        Charset::Base62,
        20,
        64,
    )]);
    let app = AppContext::new("acme", "Acme");
    let r = resolve(ResolveInput {
        profile: Some("work"),
        document: Some(&d),
        ..Default::default()
    })
    .unwrap();
    let s = StatusReport::new(r.as_ref(), Some(&d), &keys, NOW, &RefreshPolicy::default());
    assert_eq!(s.token_status, Some("valid"));
    assert_eq!(s.other_profiles, vec!["default"]);
    assert_eq!(
        s.render(&app),
        "✓ Logged in to Acme as user-42\n  Profile:  work\n  Method:   device code\n  Token:    valid, expires in 1h (2026-11-22T11:00:00Z); refreshes automatically\n  Scopes:   read write\n  Others:   default"
    );
    let r = resolve(ResolveInput {
        document: Some(&d),
        ..Default::default()
    })
    .unwrap();
    let s = StatusReport::new(r.as_ref(), Some(&d), &keys, NOW, &RefreshPolicy::default());
    assert_eq!(s.masked_key.as_deref(), Some("acme_dev_…WXYZ"));
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("0123456789"), "{json}");
    let none = StatusReport::new(None, None, &keys, NOW, &RefreshPolicy::default());
    assert!(none.render(&app).starts_with("✗ Not authenticated"));
    // `to_json` (the web module's) writes what `Serialize` writes, for every field.
    let mut full = s.clone();
    full.profile = Some("w\"o\\rk\u{1}é".into());
    full.method = Some(LoginMethod::Handoff);
    full.subject = Some("user-42".into());
    full.issuer = Some("https://as.example".into());
    full.api_base = Some("https://api.example".into());
    full.expires_at = Some("2026-11-22T11:00:00Z".into());
    full.expires_in_secs = Some(u64::MAX);
    full.token_status = Some("refresh_due");
    full.refreshable = true;
    full.scopes = vec!["read".into(), "write".into()];
    full.verified_at = Some("2026-11-22T10:00:00Z".into());
    full.other_profiles = vec!["a".into(), "b\n".into()];
    for report in [&s, &none, &full, &StatusReport::default()] {
        assert_eq!(report.to_json(), serde_json::to_string(report).unwrap());
    }
}
