//! django-oauth-toolkit, a second real OAuth 2.0 / OpenID Connect server (after
//! panva's oidc-provider), started from `tests/django/server.py` on 127.0.0.1 with
//! the virtualenv `cargo xtask` installs into `target/django-venv` from PyPI
//! (`tests/django/requirements.txt`).
//!
//! [`DjangoServer::start`] returns `None` with a notice when the virtualenv is
//! missing — unless `CLIAUTH_REQUIRE_DJANGO=1` (set by the xtask suite), which makes
//! that a failure. [`FormBrowser`] is the user's browser: a cookie jar, redirects,
//! and the server's own HTML forms (Django's login, the device code entry and the
//! accept/deny page) filled in and submitted.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .expect("tests/harness is two levels below the root")
}

/// The virtualenv's Python: `CLIAUTH_DJANGO_VENV` or `target/django-venv`.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("CLIAUTH_DJANGO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target").join("django-venv"));
    venv.join("bin").join("python")
}

/// A running django-oauth-toolkit server. Dropping it stops the process.
pub struct DjangoServer {
    /// The issuer (`http://127.0.0.1:PORT/o`).
    pub issuer: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The user who signs in.
    pub username: String,
    /// Their password.
    pub password: String,
    /// A public client for the authorization code grant.
    pub code_client: String,
    /// A public client for the device grant.
    pub device_client: String,
    /// A public client for the authorization code grant whose logins the user
    /// approves on the toolkit's consent form.
    pub consent_client: String,
    /// A confidential client for the authorization code grant: (id, secret).
    pub secret_client: (String, String),
    child: Child,
    _stdin: ChildStdin,
    _dir: tempfile::TempDir,
}

impl DjangoServer {
    /// Starts a fresh server (its own database), or `None` when the virtualenv is
    /// not installed and `CLIAUTH_REQUIRE_DJANGO` is not `1`.
    pub fn start() -> Option<DjangoServer> {
        let python = venv_python();
        if !python.exists() {
            let required = std::env::var("CLIAUTH_REQUIRE_DJANGO").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{} is missing and CLIAUTH_REQUIRE_DJANGO=1: run `cargo xtask test --only django`",
                python.display()
            );
            eprintln!(
                "SKIPPED: django-oauth-toolkit is not installed (run `cargo xtask test --only django`)"
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new(&python)
            .arg(repo_root().join("tests").join("django").join("server.py"))
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("CLIAUTH_INTEROP_DEBUG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("the virtualenv's python runs");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("django-oauth-toolkit did not start within 60 s");
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("unexpected output from server.py: {line}"));
        let s = |v: &serde_json::Value| v.as_str().expect("a string").to_string();
        Some(DjangoServer {
            issuer: s(&ready["issuer"]),
            base: format!("http://127.0.0.1:{}", ready["port"]),
            username: s(&ready["username"]),
            password: s(&ready["password"]),
            code_client: s(&ready["clients"]["code"]),
            device_client: s(&ready["clients"]["device"]),
            consent_client: s(&ready["clients"]["consent"]),
            secret_client: (
                s(&ready["clients"]["secret"]["id"]),
                s(&ready["clients"]["secret"]["secret"]),
            ),
            child,
            _stdin: stdin,
            _dir: dir,
        })
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser signed in (once it meets the login form) as the server's user.
    pub fn browser(&self, approve: bool) -> FormBrowser {
        FormBrowser::new(&self.username, &self.password, approve)
    }
}

impl Drop for DjangoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser with a cookie jar that follows redirects and submits the forms it
/// meets: the login form with the user's credentials, a code entry form as filled
/// in, an accept/deny form with the decision.
#[derive(Clone)]
pub struct FormBrowser {
    client: reqwest::Client,
    username: String,
    password: String,
    approve: bool,
}

impl FormBrowser {
    /// A browser for this user; `approve` decides accept/deny pages.
    pub fn new(username: &str, password: &str, approve: bool) -> FormBrowser {
        FormBrowser {
            client: crate::reqwest_builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::limited(20))
                .build()
                .expect("a reqwest client"),
            username: username.into(),
            password: password.into(),
            approve,
        }
    }

    /// Opens `url` and goes through the forms; returns the last status and page.
    pub async fn visit(&self, url: &str) -> (u16, String) {
        let mut response = match self.client.get(url).send().await {
            Ok(r) => r,
            Err(e) => return (0, e.to_string()),
        };
        for _ in 0..10 {
            let status = response.status().as_u16();
            let at = response.url().clone();
            let body = response.text().await.unwrap_or_default();
            let Some(form) = parse_form(&body) else {
                return (status, body);
            };
            let target = match &form.action {
                Some(a) => at.join(a).expect("a form action URL"),
                None => at.clone(),
            };
            let mut fields = form.fields;
            for (name, value) in fields.iter_mut() {
                match name.as_str() {
                    "username" => *value = self.username.clone(),
                    "password" => *value = self.password.clone(),
                    _ => {}
                }
            }
            // The device page's `action=accept|deny` buttons; the consent page's
            // `allow` submit input (denying is submitting without it).
            let clicked = form.buttons.iter().find(|(name, value)| {
                if self.approve {
                    value == "accept" || name == "allow"
                } else {
                    value == "deny"
                }
            });
            if let Some(b) = clicked {
                fields.push(b.clone());
            }
            response = match self
                .client
                .post(target)
                .header("Referer", at.as_str())
                .form(&fields)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return (0, e.to_string()),
            };
        }
        (0, "too many forms".into())
    }

    /// A `Browser` for the Authenticator that visits URLs with this browser.
    pub fn opener(&self) -> cliauth::browser::Browser {
        let me = self.clone();
        let handle = tokio::runtime::Handle::current();
        cliauth::browser::Browser::custom(move |url| {
            let me = me.clone();
            let url = url.to_string();
            handle.spawn(async move { me.visit(&url).await });
            Ok(())
        })
    }
}

struct Form {
    action: Option<String>,
    fields: Vec<(String, String)>,
    buttons: Vec<(String, String)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let i = tag.find(&key)? + key.len();
    let j = tag[i..].find('"')? + i;
    Some(
        tag[i..j]
            .replace("&amp;", "&")
            .replace("&#x2F;", "/")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'"),
    )
}

/// The first `<form method="post">`: its action, its inputs with their values, and
/// its named buttons.
fn parse_form(html: &str) -> Option<Form> {
    let start = html.find("<form")?;
    let end = html[start..]
        .find("</form>")
        .map_or(html.len(), |e| start + e);
    let form = &html[start..end];
    let head = &form[..form.find('>')?];
    if !head.to_ascii_lowercase().contains("method=\"post\"") {
        return None;
    }
    let mut fields = Vec::new();
    let mut buttons = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        let Some(n) = attr(tag, "name") else {
            continue;
        };
        let value = attr(tag, "value").unwrap_or_default();
        // A named submit input is sent only when clicked: a button.
        if attr(tag, "type").is_some_and(|t| t.eq_ignore_ascii_case("submit")) {
            buttons.push((n, value));
        } else {
            fields.push((n, value));
        }
    }
    for button in form.split("<button").skip(1) {
        let tag = &button[..button.find('>').unwrap_or(button.len())];
        if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
            buttons.push((n, v));
        }
    }
    Some(Form {
        action: attr(head, "action").filter(|a| !a.is_empty()),
        fields,
        buttons,
    })
}
