//! The loopback callback server (RFC 8252 §7.3): the sockets around
//! [`cliauth_core::loopback::LoopbackHandler`].
//!
//! [`LoopbackServer::bind`] listens on `127.0.0.1` on a random port (or the one configured),
//! and on `[::1]` on the same port when the machine has IPv6 loopback; on an IPv6-only host
//! it listens on `[::1]` and the redirect URI names it (RFC 8252 §7.3). The server then
//! serves every connection in its own task — browsers preconnect
//! spare sockets and ask for `/favicon.ico` — feeding the bytes to core's
//! [`RequestParser`](cliauth_core::loopback::RequestParser) until it has a complete
//! request (or refuses the bytes), and hands each request — with who owns the
//! connecting socket (`peer`: another user's program is refused by core) — to the
//! flow being driven, which decides every answer
//! ([`cliauth_core::flow::Step::Reply`]). [`LoopbackServer::wait`] drives core's
//! [`CallbackWait`](cliauth_core::flow::CallbackWait): it ends only with a callback
//! whose `state` matched; forged, stray or malformed requests are answered and
//! forgotten.
//!
//! **Admission.** At most [`LoopbackOptions::max_connections`] connections are open at
//! once: the server accepts a connection only when a slot is free, so the process
//! never holds more sockets than that (plus the listeners), however many connect —
//! the others wait in the kernel's accept queue, in order, and are accepted as slots
//! free. When every slot is taken and a connection waits to be accepted (on Unix the
//! accept queue is polled; elsewhere one is assumed), core's admission policy
//! ([`cliauth_core::loopback::eviction`]) picks the connections to close: those open
//! for [`LoopbackOptions::evict_after`] without completing their request *and*
//! waiting for bytes that do not come (an idle preconnect, a slowloris trickling its
//! request). A connection that was accepted but not yet read, or whose request is
//! complete, is never closed this way: a browser's callback that arrives in one write
//! is always read and answered, and the login's result is not lost. Before a
//! connection is closed for room it reads once more, and a request that completes
//! then is still answered.
//!
//! The accept queue holds [`ACCEPT_BACKLOG`] connections on Unix (the kernel caps
//! it at `net.core.somaxconn`), not the standard library's 128: connections waiting
//! there cost the process no descriptor, and while it is full the kernel drops new
//! handshakes — including, at the moment it fills, the last packet of one whose
//! client already sent its request, which TCP then resends only after a backoff
//! that can outlast `evict_after`, so that connection could be taken for an idle
//! one. A queue larger than any flood seen in the tests keeps that from happening.
//!
//! **Parsing** is incremental ([`cliauth_core::loopback::RequestParser`]): a request
//! trickled in one byte per read costs work linear in its size.
//!
//! Every path releases the port: the server is consumed by `wait` (or by a login), so success,
//! error, timeout and Ctrl-C (when [`LoopbackOptions::cancel_on_ctrl_c`] is set) all drop the
//! listeners and abort the connection tasks before returning; so does dropping `wait`.
//!
//! ```
//! use std::time::Duration;
//! use cliauth::loopback::{LoopbackOptions, LoopbackServer};
//! use cliauth_core::loopback::{LoopbackConfig, LoopbackHandler};
//! use cliauth_core::state::StateToken;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cliauth::Error> {
//! let server = LoopbackServer::bind(LoopbackOptions::default())?;
//! let port = server.port();
//! assert_eq!(server.redirect_uri(), format!("http://127.0.0.1:{port}/callback"));
//!
//! let state = StateToken::from_entropy(&[7; 32]);
//! let handler = LoopbackHandler::new(LoopbackConfig::new(port, "Acme"), &state);
//!
//! // Play the browser: a forged request first, then the real callback.
//! let real = format!("/callback?code=abc&state={}", state.expose_secret());
//! tokio::spawn(async move {
//!     for target in ["/callback?code=evil&state=forged".to_string(), real] {
//!         let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
//!         let req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
//!         s.write_all(req.as_bytes()).await.unwrap();
//!         let mut page = String::new();
//!         s.read_to_string(&mut page).await.unwrap();
//!     }
//! });
//!
//! let params = server.wait(handler, Duration::from_secs(10)).await?;
//! assert_eq!(params.code.unwrap().expose_secret(), "abc");
//! // The port is free again.
//! assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::time::Duration;

use cliauth_core::Error;
use cliauth_core::authorize::{DEFAULT_LOGIN_TIMEOUT, LoopbackHost};
use cliauth_core::loopback::{
    ConnectionPhase, DEFAULT_EVICT_AFTER, EVICTION_RECHECK, LoopbackLimits, LoopbackRequest,
    LoopbackResponse, Rejection,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::debug;

mod connection;

use connection::{ConnState, Connection, Held, Slot, evict_stale, pending};

/// How the loopback server listens and how long it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopbackOptions {
    /// The port to listen on; `0` (the default) picks a free one.
    pub port: u16,
    /// Also listen on `[::1]` on the same port when IPv6 loopback is available
    /// (default `true`), and listen on `[::1]` alone where 127.0.0.1 does not exist.
    /// The redirect URI names `127.0.0.1` unless only `[::1]` could be bound.
    pub ipv6: bool,
    /// How long a login waits for its callback (default 5 minutes). Used by
    /// [`crate::Authenticator`]; [`LoopbackServer::wait`] takes its own timeout.
    pub timeout: Duration,
    /// How long one connection may take to send its request (default 10 s). Idle
    /// preconnected sockets are closed after this.
    pub read_timeout: Duration,
    /// Connections open at once (default 64). No more are accepted until one closes;
    /// see the module docs.
    pub max_connections: usize,
    /// How long a connection may take to send its request before, when every slot
    /// is taken, it may be closed to make room (default 1 s,
    /// [`DEFAULT_EVICT_AFTER`]) — only while it waits for bytes, never before its
    /// first read. A browser sends its callback at once.
    pub evict_after: Duration,
    /// Whether Ctrl-C ends the wait with [`Error::Cancelled`] (default `true`).
    ///
    /// Tokio installs a process-wide SIGINT handler the first time this is used; it
    /// stays installed afterwards, so a program that keeps running long after a
    /// login and relies on the default Ctrl-C behaviour may want `false` (the OS
    /// still releases the port when the process is killed).
    pub cancel_on_ctrl_c: bool,
}

impl Default for LoopbackOptions {
    fn default() -> Self {
        LoopbackOptions {
            port: 0,
            ipv6: true,
            timeout: DEFAULT_LOGIN_TIMEOUT,
            read_timeout: Duration::from_secs(10),
            max_connections: 64,
            evict_after: DEFAULT_EVICT_AFTER,
            cancel_on_ctrl_c: true,
        }
    }
}

/// A bound loopback server, waiting to be [`wait`](LoopbackServer::wait)ed on.
///
/// Binding needs no async runtime; waiting does (tokio). Dropping the server
/// releases the port.
#[derive(Debug)]
pub struct LoopbackServer {
    /// The primary listener: `127.0.0.1`, or `[::1]` when 127.0.0.1 cannot be
    /// bound (then `host` is [`LoopbackHost::Ipv6`] and there is no second one).
    v4: StdListener,
    /// `[::1]` on the same port, next to a 127.0.0.1 primary.
    v6: Option<StdListener>,
    host: LoopbackHost,
    port: u16,
    options: LoopbackOptions,
}

impl LoopbackServer {
    /// Listens on `127.0.0.1:options.port` (and `[::1]` on the same port when
    /// available). Where 127.0.0.1 does not exist (an IPv6-only host or container:
    /// binding it fails with "address not available") and `options.ipv6` is set, it
    /// listens on `[::1]` alone and [`redirect_uri`](Self::redirect_uri) names
    /// `[::1]` (RFC 8252 §7.3). A port that cannot be bound is
    /// [`Error::LoopbackUnavailable`].
    pub fn bind(options: LoopbackOptions) -> Result<LoopbackServer, Error> {
        let listen = |addr: SocketAddr| {
            let listener = StdListener::bind(addr)?;
            widen_accept_queue(&listener);
            listener.set_nonblocking(true).map(|()| listener)
        };
        let v4_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
        let v6_on = |port: u16| SocketAddr::from((Ipv6Addr::LOCALHOST, port));
        let (primary, host) = match listen(v4_addr) {
            Ok(l) => (l, LoopbackHost::Ipv4),
            Err(e) if options.ipv6 && e.kind() == io::ErrorKind::AddrNotAvailable => {
                debug!(error = %e, "127.0.0.1 is not available; listening on [::1]");
                let addr = v6_on(options.port);
                (
                    listen(addr).map_err(|e| bind_error(addr, e))?,
                    LoopbackHost::Ipv6,
                )
            }
            Err(e) => return Err(bind_error(v4_addr, e)),
        };
        let port = primary
            .local_addr()
            .map_err(|e| bind_error(v4_addr, e))?
            .port();
        let v6 = if options.ipv6 && host == LoopbackHost::Ipv4 {
            match listen(v6_on(port)) {
                Ok(l) => Some(l),
                Err(e) => {
                    debug!(port, error = %e, "not listening on [::1]");
                    None
                }
            }
        } else {
            None
        };
        debug!(
            port,
            host = host.as_str(),
            ipv6 = v6.is_some() || host == LoopbackHost::Ipv6,
            "loopback server listening"
        );
        Ok(LoopbackServer {
            v4: primary,
            v6,
            host,
            port,
            options,
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/callback` (`http://[::1]:PORT/callback` on an
    /// IPv6-only host), the `redirect_uri` to send.
    pub fn redirect_uri(&self) -> String {
        self.host.redirect_uri(self.port)
    }

    /// The loopback address the redirect URI names: [`LoopbackHost::Ipv4`], or
    /// [`LoopbackHost::Ipv6`] where 127.0.0.1 could not be bound.
    pub fn host(&self) -> LoopbackHost {
        self.host
    }

    /// Whether the server listens on `[::1]` (too).
    pub fn has_ipv6(&self) -> bool {
        self.v6.is_some() || self.host == LoopbackHost::Ipv6
    }

    /// The options it was bound with.
    pub fn options(&self) -> &LoopbackOptions {
        &self.options
    }

    /// Starts serving: every connection's complete request (or refused bytes) comes
    /// out of the returned [`Serving`] with a channel for its answer. `limits` bound
    /// what one connection may send.
    pub(crate) fn serve(self, limits: LoopbackLimits) -> Result<Serving, Error> {
        let LoopbackServer {
            v4, v6, options, ..
        } = self;
        let v4 = to_tokio(v4)?;
        let v6 = match v6 {
            Some(l) => Some(to_tokio(l)?),
            None => None,
        };
        let (tx, rx) = mpsc::channel::<Arrival>(16);
        Ok(Serving {
            v4: Some(v4),
            v6,
            slots: Arc::new(Semaphore::new(options.max_connections.max(1))),
            options,
            limits,
            live: VecDeque::new(),
            connections: JoinSet::new(),
            next_id: 0,
            tx: Some(tx),
            rx,
        })
    }
}

/// A complete request on a connection, with the channel for its answer.
pub(crate) struct Arrival {
    /// The connection's number.
    pub(crate) connection: u64,
    /// The request, or why its bytes were refused.
    pub(crate) request: Result<LoopbackRequest, Rejection>,
    /// Where the answer goes; dropping it closes the connection unanswered.
    pub(crate) reply: oneshot::Sender<LoopbackResponse>,
    /// Who owns the connecting socket (looked up once the request is complete,
    /// while the client waits for its answer).
    pub(crate) peer: cliauth_core::flow::Peer,
}

/// A loopback server that is serving. It accepts while [`Serving::next`] is awaited
/// (each connection is then served by its own task); dropping it closes the
/// listeners at once and aborts every connection.
pub(crate) struct Serving {
    v4: Option<TcpListener>,
    v6: Option<TcpListener>,
    /// One permit per open connection: a socket is accepted only with a permit in
    /// hand, and the permit is given back after the socket is closed.
    slots: Arc<Semaphore>,
    options: LoopbackOptions,
    limits: LoopbackLimits,
    /// Open connections in accept order, for eviction.
    live: VecDeque<Slot>,
    connections: JoinSet<()>,
    next_id: u64,
    tx: Option<mpsc::Sender<Arrival>>,
    rx: mpsc::Receiver<Arrival>,
}

impl Serving {
    /// The next complete request (`None`: the server can no longer accept).
    /// Cancel-safe: accepting and receiving resume where they were.
    pub(crate) async fn next(&mut self) -> Option<Arrival> {
        loop {
            let Some(v4) = &self.v4 else {
                return None;
            };
            let permit = match Arc::clone(&self.slots).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    // Full. When someone is waiting to be accepted, make room from
                    // connections past their deadline; then wait for a slot (or look
                    // again shortly).
                    let recheck = if pending(v4) || self.v6.as_ref().is_some_and(pending) {
                        evict_stale(&mut self.live, self.options.evict_after)
                    } else {
                        EVICTION_RECHECK
                    };
                    tokio::select! {
                        arrival = self.rx.recv() => return arrival,
                        permit = Arc::clone(&self.slots).acquire_owned() => match permit {
                            Ok(permit) => permit,
                            Err(_) => return None,
                        },
                        () = tokio::time::sleep(recheck) => continue,
                        Some(_) = self.connections.join_next(), if !self.connections.is_empty() => continue,
                    }
                }
            };
            let accepted = tokio::select! {
                arrival = self.rx.recv() => return arrival,
                a = v4.accept() => a,
                a = accept_opt(self.v6.as_ref()) => a,
                // Reap finished connection tasks so the set does not grow.
                Some(_) = self.connections.join_next(), if !self.connections.is_empty() => continue,
            };
            match accepted {
                Ok((stream, _peer)) => self.admit(Held {
                    stream,
                    _permit: permit,
                }),
                Err(e) => {
                    // EMFILE and friends: do not spin.
                    debug!(error = %e, "loopback accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// A request already received and not yet taken, without accepting more.
    pub(crate) fn try_next(&mut self) -> Option<Arrival> {
        self.rx.try_recv().ok()
    }

    fn admit(&mut self, held: Held) {
        let Some(tx) = &self.tx else {
            return;
        };
        self.live.retain(|slot| !slot.task.is_finished());
        let state = Arc::new(ConnState::new());
        self.next_id += 1;
        let conn = Connection {
            id: self.next_id,
            arrivals: tx.clone(),
            limits: self.limits,
            read_timeout: self.options.read_timeout,
            state: Arc::clone(&state),
        };
        let task = self.connections.spawn(conn.serve(held));
        self.live.push_back(Slot { state, task });
    }

    /// Stops accepting and releases the port; the answers already given are written
    /// (bounded by the read timeout), every other connection is closed.
    pub(crate) async fn stop(mut self) {
        self.v4 = None;
        self.v6 = None;
        self.tx = None;
        self.rx.close();
        // Requests nobody will answer: their connections close unanswered.
        while self.rx.try_recv().is_ok() {}
        for slot in &self.live {
            if slot.state.phase() != ConnectionPhase::Decided {
                slot.task.abort();
            }
        }
        let connections = &mut self.connections;
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(self.options.read_timeout, drained)
            .await
            .is_err()
        {
            self.connections.abort_all();
        }
    }
}

async fn accept_opt(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

fn to_tokio(listener: StdListener) -> Result<TcpListener, Error> {
    let addr = listener.local_addr();
    TcpListener::from_std(listener).map_err(|e| match addr {
        Ok(addr) => bind_error(addr, e),
        Err(_) => bind_error(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), e),
    })
}

/// How many connections the kernel may hold waiting to be accepted (Unix; capped by
/// the kernel at `net.core.somaxconn`). See the module docs, "Admission".
pub const ACCEPT_BACKLOG: i32 = 4096;

/// Raises a bound listener's accept queue to [`ACCEPT_BACKLOG`]: `listen(2)` again
/// on a listening socket only changes its backlog. A failure keeps the standard
/// library's queue, which works, only with less room under a flood.
fn widen_accept_queue(listener: &StdListener) {
    #[cfg(unix)]
    if let Err(e) = rustix::net::listen(listener, ACCEPT_BACKLOG) {
        debug!(error = %e, "the accept queue keeps its default size");
    }
    #[cfg(not(unix))]
    let _ = listener;
}

fn bind_error(addr: SocketAddr, e: io::Error) -> Error {
    let reason = match e.kind() {
        io::ErrorKind::AddrInUse => "the port is already in use".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::AddrNotAvailable => "the loopback address is not available".to_string(),
        _ => e.to_string(),
    };
    Error::LoopbackUnavailable {
        address: addr.to_string(),
        reason,
        source: None,
    }
    .with_source(e)
}
