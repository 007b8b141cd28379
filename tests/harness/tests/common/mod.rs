//! Shared helpers: a UI that records notices and reports device codes.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cliauth::cliauth_core::credentials::Credential;
use cliauth::cliauth_core::secret::SecretString;
use cliauth::cliauth_core::token::TokenSet;
use cliauth::store::{CredentialStore, FileStore};
use cliauth::ui::{Notice, Ui};

/// A device user code and its complete verification URI, if any.
pub type DeviceCode = (String, Option<String>);

/// Records every notice; sends each device user code (and the complete URI, if
/// any) to `on_device`.
#[derive(Debug, Default)]
pub struct CaptureUi {
    pub lines: Mutex<Vec<String>>,
    pub on_device: Mutex<Option<tokio::sync::mpsc::UnboundedSender<DeviceCode>>>,
}

impl CaptureUi {
    pub fn new() -> Arc<CaptureUi> {
        Arc::new(CaptureUi::default())
    }

    /// A UI and the receiver of its device codes.
    pub fn with_device_channel() -> (
        Arc<CaptureUi>,
        tokio::sync::mpsc::UnboundedReceiver<DeviceCode>,
    ) {
        let ui = CaptureUi::default();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        *ui.on_device.lock().unwrap() = Some(tx);
        (Arc::new(ui), rx)
    }

    pub fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Ui for CaptureUi {
    fn notice(&self, notice: &Notice<'_>) {
        if let Notice::DeviceCode {
            user_code,
            verification_uri_complete,
            ..
        } = notice
            && let Some(tx) = self.on_device.lock().unwrap().as_ref()
        {
            let _ = tx.send((
                user_code.to_string(),
                verification_uri_complete.map(str::to_string),
            ));
        }
        self.lines.lock().unwrap().push(notice.to_string());
    }

    fn read_secret(&self, _prompt: &str) -> Result<Option<SecretString>, cliauth::Error> {
        Ok(None)
    }
}

/// The stored OAuth tokens of a profile.
pub fn stored(dir: &Path, profile: &str) -> TokenSet {
    let doc = FileStore::new(dir).read().unwrap().unwrap();
    match &doc.profile(profile).unwrap().credential {
        Credential::OAuth(t) => t.clone_secret(),
        Credential::ApiKey(_) => panic!("expected OAuth tokens"),
    }
}

/// Rewrites a profile's stored tokens.
pub fn rewrite(dir: &Path, profile: &str, f: impl FnOnce(&mut TokenSet)) {
    let store = FileStore::new(dir);
    let lock = store.lock().unwrap();
    let mut doc = store.read_locked(&lock).unwrap().unwrap();
    let Credential::OAuth(t) = &mut doc.profile_mut(profile).unwrap().credential else {
        panic!("expected OAuth tokens")
    };
    f(t);
    store.write(&lock, &doc).unwrap();
}

/// Waits until `f` holds (polling), at most 20 s.
pub async fn until(mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached within 20 s");
}
