//! The notices the driver shows about the stored document itself.

use std::sync::atomic::{AtomicBool, Ordering};

use cliauth_core::credentials::CredentialsDocument;

use crate::ui::{Notice, Ui};

/// Shows, once (`noted`), core's notices for the profiles a newer version stored:
/// kept unchanged, not used.
pub(crate) fn note_skipped(ui: &dyn Ui, noted: &AtomicBool, doc: &CredentialsDocument) {
    if doc.unknown_profiles().next().is_some() && !noted.swap(true, Ordering::Relaxed) {
        for n in doc.notices() {
            ui.notice(&Notice::Warning(&n));
        }
    }
}
