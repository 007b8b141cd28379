//! Running a flow that needs no network against a document held in memory.

use crate::credentials::CredentialsDocument;
use crate::error::Error;
use crate::flow::{Flow, Input, Step};
use crate::time::Now;

/// Runs `flow` to its end at `now` against `stored` (the document as read; `None`:
/// nothing stored): every [`Step::ReadStorage`] is answered with the document as last
/// persisted, every [`Step::Persist`] is kept and acknowledged, prompts are dropped. A
/// flow that asks to send a request or to wait cannot run here and fails with
/// [`Error::Misuse`].
///
/// Returns the result and the document as last persisted (`None`: nothing written).
/// This is how a shell that holds the document itself — a web page's storage — applies
/// a flow's profile edits (an API key stored by [`KeyLogin`](super::KeyLogin)
/// without verification, a local [`Logout`](super::Logout)) without deciding them.
pub fn run_offline<F: Flow>(
    flow: &mut F,
    stored: Option<CredentialsDocument>,
    now: Now,
) -> Result<(F::Output, Option<CredentialsDocument>), Error> {
    let mut current = stored;
    let mut written = false;
    // Every step answered here moves the flow on; the bound only guards against a
    // flow that loops on prompts.
    for _ in 0..256 {
        match flow.poll(now) {
            Step::ReadStorage(_) => {
                let doc = current.as_ref().map(CredentialsDocument::clone_secret);
                flow.handle(now, Input::Stored(Ok(doc)));
            }
            Step::Persist(doc) => {
                current = Some(doc);
                written = true;
                flow.handle(now, Input::Persisted(Ok(())));
            }
            Step::Prompt(_) | Step::Reply { .. } | Step::StopListening => {}
            Step::Send(_) => flow.handle(
                now,
                Input::SendFailed(Error::Misuse(
                    "this flow sends a request; run it with a network",
                )),
            ),
            Step::WaitUntil(_) => {
                return Err(Error::Misuse("this flow waits; run it with a clock"));
            }
            Step::Done(output) => return Ok((output, current.filter(|_| written))),
            Step::Failed(e) => return Err(e),
            Step::Finished => return Err(Error::Misuse("the flow had already finished")),
        }
    }
    Err(Error::Misuse("the flow did not end"))
}
