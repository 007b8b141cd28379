//! One connection: reading its request incrementally, the accept loop's view of it,
//! and the eviction that core's admission policy decides.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use cliauth_core::loopback::{
    ConnectionPhase, EVICTION_RECHECK, Eviction, LoopbackLimits, LoopbackRequest, ParseProgress,
    Rejection, RequestParser, eviction,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc, oneshot};
use tokio::task::AbortHandle;
use tracing::{debug, trace};

use super::Arrival;

/// What the accept loop and a connection share.
pub(super) struct ConnState {
    accepted: Instant,
    /// A [`ConnectionPhase`]: [`READING`], [`WAITING`] or [`DECIDED`].
    phase: AtomicU8,
    /// The accept loop asked it to close if it still has nothing to read.
    evict_requested: AtomicBool,
    evict: Notify,
}

const READING: u8 = 0;
const WAITING: u8 = 1;
const DECIDED: u8 = 2;

impl ConnState {
    pub(super) fn new() -> ConnState {
        ConnState {
            accepted: Instant::now(),
            phase: AtomicU8::new(READING),
            evict_requested: AtomicBool::new(false),
            evict: Notify::new(),
        }
    }

    pub(super) fn phase(&self) -> ConnectionPhase {
        match self.phase.load(Ordering::Acquire) {
            WAITING => ConnectionPhase::Waiting,
            DECIDED => ConnectionPhase::Decided,
            _ => ConnectionPhase::Reading,
        }
    }

    fn set(&self, phase: u8) {
        self.phase.store(phase, Ordering::Release);
    }
}

/// A served connection, as the accept loop tracks it.
pub(super) struct Slot {
    pub(super) state: Arc<ConnState>,
    pub(super) task: AbortHandle,
}

/// The socket and its slot: fields drop in order, so the socket is closed before the
/// slot is given back.
pub(super) struct Held {
    pub(super) stream: TcpStream,
    pub(super) _permit: OwnedSemaphorePermit,
}

/// Whether a connection waits in `listener`'s accept queue (a zero-timeout
/// `poll(2)`: the listener is readable exactly when one does).
#[cfg(unix)]
pub(super) fn pending(listener: &TcpListener) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(listener, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut fds, Some(&now)), Ok(n) if n > 0)
}

/// Elsewhere the accept queue is not inspected: when every slot is taken, a
/// connection is assumed to be waiting.
#[cfg(not(unix))]
pub(super) fn pending(_listener: &TcpListener) -> bool {
    true
}

/// Asks every connection core's policy ([`eviction`]) closes to close. Returns when
/// to look again.
pub(super) fn evict_stale(live: &mut VecDeque<Slot>, evict_after: Duration) -> Duration {
    live.retain(|slot| !slot.task.is_finished());
    let now = Instant::now();
    let mut next = evict_after.max(EVICTION_RECHECK);
    let mut asked = 0usize;
    for slot in live.iter() {
        let s = &slot.state;
        if s.evict_requested.load(Ordering::Acquire) {
            continue;
        }
        match eviction(
            s.phase(),
            now.saturating_duration_since(s.accepted),
            evict_after,
        ) {
            Eviction::Close => {
                s.evict_requested.store(true, Ordering::Release);
                s.evict.notify_one();
                asked += 1;
            }
            Eviction::AskAgainIn(wait) => next = next.min(wait),
            Eviction::Never => {}
        }
    }
    if asked > 0 {
        debug!(
            asked,
            "loopback connection limit reached; closing connections idle past their deadline"
        );
        next = EVICTION_RECHECK;
    }
    next.max(Duration::from_millis(1))
}

pub(super) struct Connection {
    pub(super) id: u64,
    pub(super) arrivals: mpsc::Sender<Arrival>,
    pub(super) limits: LoopbackLimits,
    pub(super) read_timeout: Duration,
    pub(super) state: Arc<ConnState>,
}

impl Connection {
    pub(super) async fn serve(self, mut held: Held) {
        let request = match self.read_request(&held.stream).await {
            Ok(request) => request,
            Err(why) => {
                trace!(why, "loopback connection closed unanswered");
                return;
            }
        };
        // Handed to the flow: from now on the connection is answered, never evicted.
        let (reply, answer) = oneshot::channel();
        let peer = crate::peer::owner(held.stream.local_addr().ok(), held.stream.peer_addr().ok());
        let arrival = Arrival {
            connection: self.id,
            request,
            reply,
            peer,
        };
        if self.arrivals.send(arrival).await.is_err() {
            return;
        }
        let Ok(response) = answer.await else {
            return;
        };
        let bytes = response.to_bytes();
        let stream = &mut held.stream;
        let written = tokio::time::timeout(self.read_timeout, async {
            stream.write_all(&bytes).await?;
            stream.flush().await?;
            stream.shutdown().await
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            trace!("loopback response not fully written");
        }
        // The socket is closed, then the slot given back (`Held`'s field order).
    }

    /// Reads until the request is decided (complete, or its bytes refused), or says
    /// why the connection closes unanswered: the peer went away, the read timeout
    /// passed, or the accept loop needed the slot of a connection past its deadline.
    async fn read_request(
        &self,
        stream: &TcpStream,
    ) -> Result<Result<LoopbackRequest, Rejection>, &'static str> {
        let deadline = tokio::time::Instant::from_std(self.state.accepted + self.read_timeout);
        let mut parser = RequestParser::new(self.limits);
        let mut chunk = [0u8; 4096];
        loop {
            let n = match stream.try_read(&mut chunk) {
                Ok(0) => return Err("closed by the peer"),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.state.set(WAITING);
                    let evicted = tokio::select! {
                        ready = stream.readable() => match ready {
                            Ok(()) => false,
                            Err(_) => return Err("socket error"),
                        },
                        () = self.state.evict.notified() => true,
                        () = tokio::time::sleep_until(deadline) => return Err("idle past the read timeout"),
                    };
                    self.state.set(READING);
                    if !evicted {
                        continue;
                    }
                    // Closing for room: unless bytes arrived that complete the request.
                    return match stream.try_read(&mut chunk) {
                        Ok(n) if n > 0 => self
                            .feed(&mut parser, &chunk[..n])
                            .ok_or("evicted: still incomplete past its deadline"),
                        _ => Err("evicted: idle past its deadline"),
                    };
                }
                Err(_) => return Err("read error"),
            };
            if let Some(decided) = self.feed(&mut parser, &chunk[..n]) {
                return Ok(decided);
            }
        }
    }

    /// Feeds bytes to the parser; the request (or why its bytes are refused) once
    /// that is decided.
    fn feed(
        &self,
        parser: &mut RequestParser,
        bytes: &[u8],
    ) -> Option<Result<LoopbackRequest, Rejection>> {
        let decided = match parser.push(bytes) {
            Ok(ParseProgress::Incomplete) => return None,
            Ok(ParseProgress::Complete(request, _)) => Ok(request),
            Err(rejection) => Err(rejection),
        };
        self.state.set(DECIDED);
        Some(decided)
    }
}
