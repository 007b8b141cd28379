//! Rewrites a credentials file as fast as it can, printing one line per completed
//! write. cliauth's crash-safety test kills it with SIGKILL at random moments and
//! checks that the file is always a complete, parsable document.
//!
//! ```text
//! cargo run -p cliauth --example store_writer -- /tmp/acme-creds
//! ```

use std::io::Write;

use cliauth::cliauth_core::credentials::{Credential, LoginMethod, Profile};
use cliauth::cliauth_core::secret::ApiKey;
use cliauth::store::{CredentialStore, FileStore};

fn main() -> Result<(), cliauth::Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let store = FileStore::new(dir);
    let mut stdout = std::io::stdout();
    for n in 0u64.. {
        let lock = store.lock()?;
        let mut doc = store.read_locked(&lock)?.unwrap_or_default();
        // Documents of varying size, so a torn write would be visible.
        let key = format!("acme_{n:024}{}", "x".repeat((n % 97) as usize));
        let mut profile = Profile::new(
            Credential::ApiKey(ApiKey::new(key)),
            LoginMethod::ApiKey,
            cliauth::now(),
        );
        // A large document (~128 KiB) keeps a non-atomic write's window wide.
        let padding = "x".repeat(128 * 1024 + (n % 4096) as usize);
        profile.extra.insert("padding", &padding.into());
        doc.set_profile("default", profile)?;
        store.write(&lock, &doc)?;
        drop(lock);
        if writeln!(stdout, "{n}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    Ok(())
}
