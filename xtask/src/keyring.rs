//! The `keyring` suite: `KeyringStore` against a real Secret Service.
//!
//! A private D-Bus session bus (its own config: no service activation, so nothing
//! can be started with the user's environment) and a throwaway gnome-keyring whose
//! `login` collection is created and unlocked with a password on stdin, all under a
//! fresh 0700 temporary directory. The user's session bus and keyring are never
//! used: the tests get this bus's address explicitly. Both daemons are killed by pid
//! and the directory removed afterwards, also when the tests fail.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cmd, run};

const TESTS: [&str; 2] = ["keyring", "store"];

fn cargo_test(no_run: bool) -> Command {
    let mut c = cmd("cargo");
    c.args(["test", "-p", "cliauth", "--features", "keyring"]);
    for t in TESTS {
        c.args(["--test", t]);
    }
    if no_run {
        c.arg("--no-run");
    } else {
        // Every test of tests/keyring.rs, and store.rs's keyring test.
        c.args(["--", "keyring"]);
    }
    c
}

pub fn keyring() -> Result<(), String> {
    // Build first, so the daemons only live for the test run itself.
    run(&mut cargo_test(true))?;
    let session = Session::start()?;
    eprintln!(
        "  private session bus {} with an unlocked gnome-keyring",
        session.address
    );
    let result = run(cargo_test(false)
        .env("DBUS_SESSION_BUS_ADDRESS", &session.address)
        .env("CLIAUTH_REQUIRE_KEYRING", "1")
        .env("CLIAUTH_KEYRING_DATA_DIR", session.dir.join("data")));
    let logs = session.stop();
    if result.is_err() && !logs.is_empty() {
        eprintln!("  daemon logs:\n{logs}");
    }
    result
}

struct Session {
    dir: PathBuf,
    address: String,
    bus: Option<Child>,
    keyring: Option<Child>,
}

impl Session {
    fn start() -> Result<Session, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("cliauth-keyring-{}-{nanos:09}", std::process::id()));
        for sub in ["", "data", "config", "cache", "run"] {
            private_dir(&dir.join(sub))?;
        }
        // From here on, dropping `session` cleans up.
        let mut session = Session {
            dir,
            address: String::new(),
            bus: None,
            keyring: None,
        };
        session.start_bus()?;
        session.start_keyring()?;
        session.wait_until_ready()?;
        Ok(session)
    }

    /// A daemon with a private home and XDG directories, no display and (until set)
    /// no session bus.
    fn daemon(&self, program: &str) -> Result<Command, String> {
        let mut c = Command::new(program);
        c.current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("XDG_RUNTIME_DIR", self.dir.join("run"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stderr(Stdio::from(log_file(&self.dir, program)?));
        Ok(c)
    }

    fn start_bus(&mut self) -> Result<(), String> {
        let config = self.dir.join("bus.conf");
        let socket = self.dir.join("bus");
        std::fs::write(&config, bus_config(&socket)).map_err(|e| e.to_string())?;
        let mut child = self
            .daemon("dbus-daemon")?
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start dbus-daemon: {e}"))?;
        let stdout = child.stdout.take();
        self.bus = Some(child);
        // The address is printed once the bus listens.
        let mut line = String::new();
        if let Some(out) = stdout {
            BufReader::new(out)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
        }
        self.address = line.trim().to_string();
        if self.address.is_empty() {
            return Err(format!("dbus-daemon printed no address\n{}", self.logs()));
        }
        Ok(())
    }

    fn start_keyring(&mut self) -> Result<(), String> {
        // --unlock reads the password from stdin and creates the `login` collection
        // (the default one) with it.
        let mut child = self
            .daemon("gnome-keyring-daemon")?
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start gnome-keyring-daemon: {e}"))?;
        let stdin = child.stdin.take();
        self.keyring = Some(child);
        if let Some(mut stdin) = stdin {
            // Closing stdin ends the password.
            stdin
                .write_all(b"cliauth-throwaway-keyring")
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Waits until the Secret Service is on the bus with its default collection.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let owned = self.dbus_send(&[
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ]);
            if owned.contains("boolean true") {
                let alias = self.dbus_send(&[
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets",
                    "org.freedesktop.Secret.Service.ReadAlias",
                    "string:default",
                ]);
                if alias.contains("/org/freedesktop/secrets/collection/") {
                    return Ok(());
                }
            }
            let exited = self
                .keyring
                .as_mut()
                .is_none_or(|k| k.try_wait().ok().flatten().is_some());
            if exited || started.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "the Secret Service did not come up on the private bus\n{}",
                    self.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn dbus_send(&self, args: &[&str]) -> String {
        Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .arg("--print-reply")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn logs(&self) -> String {
        ["dbus-daemon", "gnome-keyring-daemon"]
            .iter()
            .filter_map(|p| std::fs::read_to_string(self.dir.join(format!("{p}.log"))).ok())
            .flat_map(|t| t.lines().map(|l| format!("    {l}")).collect::<Vec<_>>())
            // dbus-daemon's notice that it may not raise its fd limit, as non-root.
            .filter(|l| !l.contains("Failed to set fd limit"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Kills both daemons (ours, by pid), removes the directory; returns their logs.
    fn stop(mut self) -> String {
        let logs = self.logs();
        self.cleanup();
        logs
    }

    fn cleanup(&mut self) {
        for child in [self.keyring.take(), self.bus.take()].into_iter().flatten() {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// A session bus listening only on `socket`, for this user, with no service
/// directories: nothing is activated on demand.
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

fn private_dir(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Err("the keyring suite needs Linux (D-Bus and gnome-keyring)".into())
    }
}

fn log_file(dir: &Path, program: &str) -> Result<std::fs::File, String> {
    std::fs::File::create(dir.join(format!("{program}.log"))).map_err(|e| e.to_string())
}
