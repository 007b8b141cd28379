//! The loopback server's admission policy under a connect flood: which open
//! connection may be closed to make room.

use core::time::Duration;

/// Where an open connection is, as the server's admission policy ([`eviction`]) sees
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionPhase {
    /// Reading: accepted and not yet read (a browser's callback may be waiting in its
    /// socket), or bytes being read and parsed right now.
    Reading,
    /// It read its socket empty and waits for more bytes of its request.
    Waiting,
    /// Its request is complete (or refused): it is being answered.
    Decided,
}

/// What the admission policy says about one open connection while every slot is
/// taken and another connection waits to be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// Close it to make room. The shell lets it read once more first: a request that
    /// completes with those bytes is still answered.
    Close,
    /// Not now; ask again after this long.
    AskAgainIn(Duration),
    /// Never: it is being answered.
    Never,
}

/// How long a connection may take to send its request before, when every slot is
/// taken, it may be closed to make room (1 s). A browser sends its callback at once.
pub const DEFAULT_EVICT_AFTER: Duration = Duration::from_secs(1);

/// How soon a connection past its deadline that is reading right now is asked about
/// again (20 ms).
pub const EVICTION_RECHECK: Duration = Duration::from_millis(20);

/// The loopback server's admission policy, for a connection open for `open_for`, when
/// every slot is taken and another connection waits: only a connection open for
/// `evict_after` or longer that waits for bytes (an idle preconnect, a slowloris
/// trickling its request) is closed. One being read — including one accepted but not
/// yet read, whose complete callback may already be in its socket — is asked about
/// again shortly; one whose request is decided is never closed, so its answer and
/// the login's result are not lost.
///
/// ```
/// use std::time::Duration;
/// use cliauth_core::loopback::{ConnectionPhase as P, DEFAULT_EVICT_AFTER, Eviction, eviction};
/// let s = Duration::from_secs;
/// assert_eq!(eviction(P::Waiting, s(2), DEFAULT_EVICT_AFTER), Eviction::Close);
/// assert_eq!(eviction(P::Waiting, Duration::from_millis(300), DEFAULT_EVICT_AFTER),
///            Eviction::AskAgainIn(Duration::from_millis(700)));
/// assert!(matches!(eviction(P::Reading, s(9), DEFAULT_EVICT_AFTER), Eviction::AskAgainIn(_)));
/// assert_eq!(eviction(P::Decided, s(9), DEFAULT_EVICT_AFTER), Eviction::Never);
/// ```
pub fn eviction(phase: ConnectionPhase, open_for: Duration, evict_after: Duration) -> Eviction {
    match phase {
        ConnectionPhase::Decided => Eviction::Never,
        _ if open_for < evict_after => Eviction::AskAgainIn(evict_after - open_for),
        ConnectionPhase::Waiting => Eviction::Close,
        ConnectionPhase::Reading => Eviction::AskAgainIn(EVICTION_RECHECK),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_closes_only_connections_waiting_past_their_deadline() {
        use ConnectionPhase::{Decided, Reading, Waiting};
        let ms = Duration::from_millis;
        let after = DEFAULT_EVICT_AFTER;
        for (phase, open_for, expected) in [
            // Idle preconnects and slowloris connections, once past the deadline.
            (Waiting, ms(1000), Eviction::Close),
            (Waiting, ms(60_000), Eviction::Close),
            // Not before the deadline, whatever they do.
            (Waiting, ms(0), Eviction::AskAgainIn(ms(1000))),
            (Waiting, ms(999), Eviction::AskAgainIn(ms(1))),
            (Reading, ms(10), Eviction::AskAgainIn(ms(990))),
            // Accepted but not yet read (or reading): never closed, looked at again.
            (Reading, ms(5000), Eviction::AskAgainIn(EVICTION_RECHECK)),
            // Being answered: never.
            (Decided, ms(0), Eviction::Never),
            (Decided, ms(60_000), Eviction::Never),
        ] {
            assert_eq!(
                eviction(phase, open_for, after),
                expected,
                "{phase:?} {open_for:?}"
            );
        }
    }
}
