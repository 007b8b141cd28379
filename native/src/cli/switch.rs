//! `auth switch` without a name: on a terminal, the user picks a profile from a
//! numbered list; elsewhere it is a usage error that lists the profiles.

use std::io::{self, BufRead, IsTerminal, Write};

use cliauth_core::Error;

use super::Renderer;
use crate::auth::{Authenticator, ProfileInfo};

/// Lists the profiles on stderr, reads a number or a name from stdin, switches.
pub(super) async fn interactive(
    auth: &Authenticator,
    renderer: &Renderer<'_>,
) -> Result<i32, Error> {
    let profiles = auth.profiles()?;
    if profiles.is_empty() {
        return Err(Error::NotAuthenticated);
    }
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    if renderer.json || !io::stdin().is_terminal() || !io::stderr().is_terminal() {
        return Err(Error::InvalidArgument {
            name: "profile".into(),
            reason: format!(
                "name the profile to switch to (`{} auth switch <NAME>`); stored: {}",
                renderer.app.cli,
                names.join(", ")
            ),
        });
    }
    let menu = menu(&profiles);
    let answer = tokio::task::spawn_blocking(move || -> io::Result<Option<String>> {
        let mut err = io::stderr().lock();
        write!(err, "{menu}")?;
        err.flush()?;
        let mut line = String::new();
        Ok((io::stdin().lock().read_line(&mut line)? > 0).then_some(line))
    })
    .await
    .map_err(|_| Error::Cancelled)?
    .map_err(|e| Error::storage("cannot read from the terminal").with_source(e))?;
    let Some(answer) = answer else {
        return Err(Error::Cancelled);
    };
    let name = pick(&profiles, answer.trim()).ok_or_else(|| Error::InvalidArgument {
        name: "profile".into(),
        reason: format!(
            "`{}` is not one of 1-{} or a stored profile ({})",
            answer.trim(),
            profiles.len(),
            names.join(", ")
        ),
    })?;
    auth.switch_profile(&name).await?;
    Ok(renderer.switched(&name))
}

/// The numbered list and the question.
fn menu(profiles: &[ProfileInfo]) -> String {
    let mut out = String::from("Switch to which profile?\n");
    for (n, p) in profiles.iter().enumerate() {
        let who = p
            .subject
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let active = if p.active { "  [active]" } else { "" };
        out.push_str(&format!("  {}) {}{who}{active}\n", n + 1, p.name));
    }
    out.push_str(&format!("Profile [1-{}]: ", profiles.len()));
    out
}

/// A profile by its number in the list or by name.
fn pick(profiles: &[ProfileInfo], answer: &str) -> Option<String> {
    if let Ok(n) = answer.parse::<usize>() {
        return n
            .checked_sub(1)
            .and_then(|i| profiles.get(i))
            .map(|p| p.name.clone());
    }
    profiles
        .iter()
        .find(|p| p.name == answer)
        .map(|p| p.name.clone())
}
