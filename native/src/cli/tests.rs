use super::render::versioned;
use super::*;
use cliauth_core::AppContext;
use cliauth_core::Error;
use serde_json::{Value, json};

#[test]
fn json_outputs_carry_the_schema_version() {
    let v = versioned(json!({"ok": true, "login": {"profile": "default"}}));
    assert_eq!(
        v.to_string(),
        r#"{"login":{"profile":"default"},"ok":true,"schema_version":1}"#
    );
    // Only objects are versioned.
    assert_eq!(versioned(json!([1])), json!([1]));
    let schema: Value = serde_json::from_str(JSON_SCHEMA).unwrap();
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        JSON_SCHEMA_VERSION
    );
}

#[test]
fn errors_render_with_and_without_colour() {
    let app = AppContext::new("acme", "Acme");
    let plain = Renderer::new(&app, false, false).error_text(&Error::NotAuthenticated);
    assert_eq!(
        plain,
        "✗ Not authenticated\n  Run `acme auth login` to sign in, or set ACME_API_KEY. (See `acme auth login --help`.)"
    );
    let coloured = Renderer::new(&app, false, true).error_text(&Error::NotAuthenticated);
    assert!(coloured.starts_with("\x1b[31m✗ Not authenticated\x1b[0m\n\x1b[2m  Run"));
}

#[test]
fn global_flags_parse_anywhere() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        global: GlobalArgs,
        #[command(subcommand)]
        auth: AuthCommand,
    }
    let cli = Cli::parse_from(["x", "login", "--api-key", "k", "-vv", "--no-color"]);
    assert_eq!(cli.global.verbosity.verbose, 2);
    assert!(cli.global.color.no_color && !cli.global.color());
    assert!(
        matches!(cli.auth, AuthCommand::Login(LoginArgs { ref api_key, .. }) if api_key.as_deref() == Some("k"))
    );
    let cli = Cli::parse_from(["x", "--color", "always", "status", "--all"]);
    assert!(cli.global.color());
    assert_eq!(cli.auth, AuthCommand::Status(StatusArgs { all: true }));
    let cli = Cli::parse_from([
        "x",
        "--color=never",
        "login",
        "--device",
        "-s",
        "read,write",
        "--scopes",
        "admin",
    ]);
    assert!(!cli.global.color());
    let AuthCommand::Login(login) = &cli.auth else {
        panic!("{:?}", cli.auth)
    };
    assert!(login.device && !login.insecure_storage);
    assert_eq!(split_scopes(&login.scopes), ["read", "write", "admin"]);
    assert!(Cli::try_parse_from(["x", "--color", "sometimes", "status"]).is_err());
    let cli = Cli::parse_from(["x", "refresh", "--scopes", "read write"]);
    assert_eq!(
        cli.auth,
        AuthCommand::Refresh(RefreshArgs {
            scopes: vec!["read write".into()]
        })
    );
    assert_eq!(
        Cli::parse_from(["x", "switch"]).auth,
        AuthCommand::Switch(SwitchArgs { name: None })
    );
    for conflict in [
        &["x", "login", "--device", "--api-key", "k"][..],
        &["x", "login", "--api-key", "k", "--with-token"],
        &["x", "login", "--browser", "--with-token"],
    ] {
        assert!(Cli::try_parse_from(conflict).is_err(), "{conflict:?}");
    }
    assert!(
        Cli::try_parse_from(["x", "login", "--device", "--insecure-storage", "-s", "a"]).is_ok()
    );
    assert!(Cli::try_parse_from(["x", "login", "--device", "--browser"]).is_err());
}
