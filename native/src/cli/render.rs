//! What the `auth` commands print: human text on stderr (coloured through anstyle
//! and anstream, or not), or one JSON document on stdout with its schema version.

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};
use cliauth_core::credentials::StatusReport;
use cliauth_core::error::exit_code;
use cliauth_core::{AppContext, Error};
use serde_json::{Value, json};

use super::JSON_SCHEMA_VERSION;
use crate::auth::{
    LoginOutcome, LogoutOutcome, ProfileStatus, RefreshOutcome, Revocation, Verification,
};

const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().effects(Effects::DIMMED);
const BOLD: Style = Style::new().effects(Effects::BOLD);

/// Writes results and errors the way the flags ask.
#[derive(Clone, Copy, Debug)]
pub struct Renderer<'a> {
    pub(super) app: &'a AppContext,
    pub(super) json: bool,
    color: bool,
}

impl<'a> Renderer<'a> {
    /// A renderer.
    pub fn new(app: &'a AppContext, json: bool, color: bool) -> Renderer<'a> {
        Renderer { app, json, color }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// A line on stderr. Without colour, any escape sequence in it is stripped
    /// (anstream), so text from elsewhere cannot drive the terminal.
    fn stderr(&self, text: &str) {
        let choice = if self.color {
            anstream::ColorChoice::AlwaysAnsi
        } else {
            anstream::ColorChoice::Never
        };
        let mut out = anstream::AutoStream::new(io::stderr().lock(), choice);
        let _ = writeln!(out, "{text}");
    }

    /// One JSON object on stdout, with `schema_version`.
    fn stdout_json(&self, value: Value) {
        let _ = writeln!(io::stdout().lock(), "{}", versioned(value));
    }

    /// Reports `error` (`✗ message` and hint on stderr, or the JSON envelope on
    /// stdout) and returns its exit code.
    pub fn error(&self, error: &Error) -> i32 {
        if self.json {
            self.stdout_json(error.to_json(self.app));
        } else {
            self.stderr(&self.error_text(error));
        }
        error.exit_code()
    }

    /// The terminal text for an error: `✗ message` (red) and the hint (dim).
    pub fn error_text(&self, error: &Error) -> String {
        let rendered = error.render(self.app);
        let mut lines = rendered.lines();
        let first = lines.next().unwrap_or_default();
        let mut out = self.paint(RED, first);
        for line in lines {
            out.push('\n');
            out.push_str(&self.paint(DIM, line));
        }
        out
    }

    /// `✓ text` on stderr (nothing in JSON mode).
    pub fn success(&self, text: &str) {
        if !self.json {
            self.stderr(&format!("{} {text}", self.paint(GREEN, "✓")));
        }
    }

    /// `! text` on stderr (nothing in JSON mode).
    pub fn warning(&self, text: &str) {
        if !self.json {
            self.stderr(&self.paint(YELLOW, &format!("! {text}")));
        }
    }

    /// The one-line warning for `login --api-key KEY`: the key is in the process list
    /// (`/proc/<pid>/cmdline`, `ps`) for every user, and in shell history. On stderr
    /// also with `--json` (stdout stays the JSON envelope).
    pub fn api_key_flag_warning(&self) {
        let text = format!(
            "! --api-key is visible to other users in the process list and stays in shell \
             history; use `{cli} auth login --with-token` (reads stdin) or set {var} instead.",
            cli = self.app.cli,
            var = self.app.api_key_env
        );
        self.stderr(&self.paint(YELLOW, &text));
    }

    /// Reports a login.
    pub fn login(&self, outcome: &LoginOutcome) -> i32 {
        if self.json {
            self.stdout_json(json!({ "ok": true, "login": outcome }));
            return exit_code::OK;
        }
        // Always the account, so that one the user did not sign in to stands out.
        let who = match outcome.subject.as_deref() {
            Some(s) => format!(" as {s}"),
            None => " (account unknown: the server did not say whose credential this is)".into(),
        };
        self.success(&format!("Logged in to {}{who}", self.app.product));
        let mut details = format!("  Profile:  {}", outcome.profile);
        if !outcome.active {
            details.push_str(&format!(
                " (not active; use `{} auth switch {}`)",
                self.app.cli, outcome.profile
            ));
        }
        details.push_str(&format!("\n  Method:   {}", outcome.method.describe()));
        if let Some(k) = &outcome.masked_key {
            details.push_str(&format!("\n  Key:      {k}"));
        }
        if !outcome.scopes.is_empty() {
            details.push_str(&format!("\n  Scopes:   {}", outcome.scopes.join(" ")));
        }
        if let Some(storage) = &outcome.storage {
            details.push_str(&format!("\n  Stored:   {storage}"));
        }
        self.stderr(&details);
        if let Verification::Unverified { reason } = &outcome.verification {
            self.warning(&format!(
                "The key was saved but could not be checked ({reason}). Run `{} auth status` later.",
                self.app.cli
            ));
        }
        exit_code::OK
    }

    /// Reports `status`; exit 0 when authenticated, else the exit code of
    /// [`Error::NotAuthenticated`].
    pub fn status(&self, report: &StatusReport) -> i32 {
        if self.json {
            self.stdout_json(serde_json::to_value(report).unwrap_or_default());
        } else {
            let text = report.render(self.app);
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            let style = if report.authenticated { GREEN } else { RED };
            let mut out = self.paint(style, first);
            for line in lines {
                out.push('\n');
                out.push_str(line);
            }
            self.stderr(&out);
        }
        if report.authenticated {
            exit_code::OK
        } else {
            Error::NotAuthenticated.exit_code()
        }
    }

    /// Reports `status --all`: every profile, the active one marked with `*`. Exit 0
    /// when the active profile (or, with none active, any profile) is authenticated,
    /// else the exit code of [`Error::NotAuthenticated`]. `overridden_by` names the
    /// flag or variable whose key takes precedence over every profile.
    pub fn status_all(&self, profiles: &[ProfileStatus], overridden_by: Option<&str>) -> i32 {
        let usable = |p: &ProfileStatus| p.status.authenticated && p.problem.is_none();
        let ok = match profiles.iter().find(|p| p.active) {
            Some(active) => usable(active),
            None => profiles.iter().any(usable),
        };
        if self.json {
            self.stdout_json(json!({ "profiles": profiles, "overridden_by": overridden_by }));
        } else if profiles.is_empty() {
            self.stderr(&self.paint(RED, "✗ No stored profiles"));
            self.stderr(&format!("  Run `{} auth login` to sign in.", self.app.cli));
        } else {
            let mut out = String::new();
            for p in profiles {
                let marker = if p.active { "*" } else { " " };
                let name = if p.active {
                    self.paint(BOLD, &p.name)
                } else {
                    p.name.clone()
                };
                let state = match (&p.problem, p.status.authenticated) {
                    (Some(problem), _) => self.paint(RED, &format!("✗ {problem}")),
                    (None, true) => self.paint(GREEN, "✓ logged in"),
                    (None, false) => self.paint(RED, "✗ signed out (log in again)"),
                };
                out.push_str(&format!("{marker} {name}  {state}"));
                let mut facts = Vec::new();
                if let Some(s) = &p.status.subject {
                    facts.push(format!("as {s}"));
                }
                if let Some(m) = p.status.method {
                    facts.push(m.describe().to_string());
                }
                if let Some(k) = &p.status.masked_key {
                    facts.push(k.clone());
                }
                if let Some(t) = p.status.token_status {
                    facts.push(format!("token {}", t.replace('_', " ")));
                }
                if !facts.is_empty() {
                    out.push_str(&format!("\n    {}", facts.join(" · ")));
                }
                out.push('\n');
            }
            out.push_str(&self.paint(DIM, "  (* active profile)"));
            self.stderr(&out);
            if let Some(source) = overridden_by {
                self.warning(&format!(
                    "{source} is set and takes precedence over every stored profile."
                ));
            }
        }
        if ok {
            exit_code::OK
        } else {
            Error::NotAuthenticated.exit_code()
        }
    }

    /// Reports a logout.
    pub fn logout(&self, outcome: &LogoutOutcome) -> i32 {
        if self.json {
            self.stdout_json(json!({ "ok": true, "logout": outcome }));
            return exit_code::OK;
        }
        self.success(&format!(
            "Logged out of {} (profile {})",
            self.app.product, outcome.profile
        ));
        match &outcome.revocation {
            Revocation::Failed { message, .. } => self.warning(&format!(
                "The token could not be revoked at the server ({message}); it was deleted from this computer."
            )),
            Revocation::Skipped { reason } => self.warning(&format!(
                "Nothing was sent to the server ({reason}); the credential was deleted from this computer."
            )),
            Revocation::Revoked | Revocation::NotSupported => {}
        }
        if let Some(var) = &outcome.env_still_set {
            self.warning(&format!(
                "{var} is still set and keeps authenticating {}; unset it to sign out completely.",
                self.app.cli
            ));
        }
        exit_code::OK
    }

    /// Reports a refresh.
    pub fn refresh(&self, outcome: &RefreshOutcome) -> i32 {
        if self.json {
            self.stdout_json(json!({ "ok": true, "refresh": outcome }));
            return exit_code::OK;
        }
        let until = outcome
            .expires_at
            .as_deref()
            .map(|t| format!(", valid until {t}"))
            .unwrap_or_default();
        self.success(&format!(
            "Refreshed the access token of profile {}{until}",
            outcome.profile
        ));
        let mut details = Vec::new();
        if !outcome.scopes.is_empty() {
            details.push(format!("  Scopes:   {}", outcome.scopes.join(" ")));
        }
        if outcome.rotated {
            details.push("  The server rotated the refresh token; the new one is stored.".into());
        }
        if !details.is_empty() {
            self.stderr(&details.join("\n"));
        }
        exit_code::OK
    }

    /// Reports a switch.
    pub fn switched(&self, name: &str) -> i32 {
        if self.json {
            self.stdout_json(json!({ "ok": true, "active_profile": name }));
        } else {
            self.success(&format!("Switched to profile {name}"));
        }
        exit_code::OK
    }

    /// Prints an access token for scripts (the bare token, or `{"access_token"}`).
    pub fn token(&self, token: &str) -> i32 {
        if self.json {
            self.stdout_json(json!({ "access_token": token }));
        } else {
            let _ = writeln!(io::stdout().lock(), "{token}");
        }
        exit_code::OK
    }
}

/// `value` with `"schema_version"` (objects only; keys are printed sorted).
pub(super) fn versioned(value: Value) -> Value {
    match value {
        Value::Object(mut fields) => {
            fields.insert("schema_version".into(), json!(JSON_SCHEMA_VERSION));
            Value::Object(fields)
        }
        other => other,
    }
}
