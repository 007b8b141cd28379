use super::*;

fn app() -> AppContext {
    AppContext::new("acme", "Acme")
}

#[test]
fn exit_codes_are_stable() {
    assert_eq!(
        Error::InvalidArgument {
            name: "x".into(),
            reason: "y".into()
        }
        .exit_code(),
        1
    );
    assert_eq!(Error::NotAuthenticated.exit_code(), 2);
    assert_eq!(
        Error::InsufficientPermissions {
            required_scope: None
        }
        .exit_code(),
        2
    );
    assert_eq!(Error::Server { status: 502 }.exit_code(), 3);
    assert_eq!(Error::network("x").exit_code(), 3);
    assert_eq!(
        Error::RateLimited {
            policy: None,
            limit: None,
            retry_after: None
        }
        .exit_code(),
        4
    );
    assert_eq!(Error::NotFound { what: None }.exit_code(), 5);
    assert_eq!(Error::Cancelled.exit_code(), 130);
    assert_eq!(
        Error::LoginTimedOut {
            waited: Duration::from_secs(300)
        }
        .exit_code(),
        2
    );
    assert_eq!(
        Error::CorruptCredentials {
            reason: "x".into(),
            moved_to: None
        }
        .exit_code(),
        1
    );
}

#[test]
fn seed_messages() {
    let rl = Error::RateLimited {
        policy: Some("dev:memories".into()),
        limit: Some("120/hr".into()),
        retry_after: Some(Duration::from_secs(12)),
    };
    assert_eq!(
        rl.render(&app()),
        "✗ Rate limited: dev:memories (120/hr)\n  Retry in 12s. Slow down and retry shortly."
    );
    assert_eq!(rl.to_json(&app())["error"]["retry_after"], 12);
    assert_eq!(
        Error::Server { status: 502 }.render(&app()),
        "✗ Server error (502)\n  The Acme server returned an error. Try again in a minute."
    );
    assert_eq!(
        Error::LoginTimedOut {
            waited: Duration::from_secs(300)
        }
        .render(&app()),
        "✗ OAuth flow timed out\n  No callback received within 5m. Try again, or use `acme auth login --device` or `acme auth login --api-key <KEY>` instead."
    );
    assert_eq!(Error::Cancelled.render(&app()), "✗ Cancelled");
}

#[test]
fn shell_reported_errors() {
    let bind = Error::LoopbackUnavailable {
        address: "127.0.0.1:8400".into(),
        reason: "address in use".into(),
        source: None,
    };
    assert_eq!((bind.exit_code(), bind.code()), (3, "loopback_unavailable"));
    assert_eq!(
        bind.render(&app()),
        "✗ Cannot listen on 127.0.0.1:8400 for the browser callback: address in use\n  Another program may be using the port, or local connections are blocked. Try again, or use `acme auth login --device` or `acme auth login --api-key <KEY>` instead."
    );
    let other = Error::ProfileServerMismatch {
        profile: "work".into(),
        stored: "https://old.example".into(),
        configured: "https://auth.acme.example".into(),
    };
    assert_eq!(
        (other.exit_code(), other.code()),
        (2, "profile_server_mismatch")
    );
    assert_eq!(
        other.to_string(),
        "Profile `work` belongs to https://old.example, not https://auth.acme.example"
    );
    assert!(
        other
            .hint(&app())
            .unwrap()
            .contains("`acme auth login --profile <NAME>`")
    );
}

#[test]
fn sanitizes() {
    assert_eq!(
        sanitize_server_text("  bad\n\tthing\u{7}  here "),
        "bad thing here"
    );
    assert_eq!(sanitize_server_text(&"x".repeat(500)).chars().count(), 201);
    assert_eq!(sanitize_server_text("a\u{202e}b"), "ab");
}

#[test]
fn sources_are_kept_shared_and_ignored_by_equality() {
    use std::error::Error as _;
    let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
    let err = Error::storage("cannot write").with_source(io);
    let copy = err.clone();
    for e in [&err, &copy] {
        let source = e.source().expect("a source");
        assert_eq!(
            source
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
            Some(std::io::ErrorKind::PermissionDenied)
        );
    }
    assert_eq!(err, Error::storage("cannot write"));
    assert_ne!(err, Error::storage("cannot read"));
    assert_eq!(err.to_string(), "Credential storage error: cannot write");
    assert!(format!("{err:?}").contains("denied"));
    // Variants without a source ignore it.
    assert!(
        Error::NotAuthenticated
            .with_source(std::fmt::Error)
            .source()
            .is_none()
    );
    assert!(Error::network("down").source().is_none());
}

#[test]
fn protocol_debug_hides_body() {
    let e = Error::protocol("not JSON", b"access_token=secret");
    assert!(!format!("{e:?} {e}").contains("secret"));
}

/// One error of every variant.
fn every_variant() -> Vec<Error> {
    let s = || "x".to_string();
    vec![
        Error::InvalidArgument {
            name: s(),
            reason: s(),
        },
        Error::invalid_config("x"),
        Error::InvalidKey(KeyProblem {
            kind: crate::keys::KeyProblemKind::Empty,
            expected: s(),
        }),
        Error::InvalidJwt(JwtError::WrongPartCount { found: 2 }),
        Error::Rejected {
            status: 400,
            detail: Some(s()),
        },
        Error::Misuse("x"),
        Error::NotAuthenticated,
        Error::Unauthorized { detail: None },
        Error::SessionExpired,
        Error::StateMismatch,
        Error::LoginIntercepted,
        Error::NonceMismatch,
        Error::IssuerMismatch {
            expected: s(),
            found: None,
        },
        Error::AccessDenied { description: None },
        Error::AuthorizationFailed {
            error: s(),
            description: None,
        },
        Error::ProfileServerMismatch {
            profile: s(),
            stored: s(),
            configured: s(),
        },
        Error::InsufficientPermissions {
            required_scope: Some(s()),
        },
        Error::RateLimited {
            policy: None,
            limit: None,
            retry_after: Some(Duration::from_secs(3)),
        },
        Error::Server { status: 502 },
        Error::network("x"),
        Error::LoopbackUnavailable {
            address: s(),
            reason: s(),
            source: None,
        },
        Error::protocol("x", b"body"),
        Error::NotFound { what: None },
        Error::ProfileNotFound { name: s() },
        Error::CorruptCredentials {
            reason: s(),
            moved_to: None,
        },
        Error::UnsupportedVersion {
            found: 9,
            supported: 1,
        },
        Error::storage("x"),
        Error::UnsafeStorage {
            path: s(),
            problem: s(),
            fix: s(),
        },
        Error::UnsupportedProfile {
            name: s(),
            what: s(),
        },
        Error::LoginTimedOut {
            waited: Duration::from_secs(300),
        },
        Error::DeviceCodeExpired,
        Error::AuthorizationExpired,
        Error::Cancelled,
    ]
}

#[test]
fn web_text_is_message_and_hint_of_the_web_variants() {
    let app = app();
    let mut web = Vec::new();
    for e in every_variant() {
        assert!(!e.message().is_empty(), "{e:?}");
        assert_eq!(e.hint(&app).is_none(), e.code() == "cancelled", "{e:?}");
        if let Some(text) = e.web_text(&app) {
            assert_eq!(text, (e.message(), e.hint(&app)), "{e:?}");
            web.push(e.code());
        }
    }
    assert_eq!(
        web,
        [
            "invalid_argument",
            "rejected",
            "misuse",
            "unauthorized",
            "state_mismatch",
            "insufficient_permissions",
            "rate_limited",
            "server_error",
            "network_error",
            "protocol_error",
            "not_found",
            "cancelled"
        ]
    );
}
