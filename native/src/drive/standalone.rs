//! The driver for what runs without an [`Authenticator`](crate::Authenticator): one
//! request with core's retries ([`HttpClient::run`]) and the bare loopback wait
//! ([`LoopbackServer::wait`]).

use cliauth_core::{Error, HttpRequest, HttpResponse};
use tracing::debug;

use super::{Io, drive};
use crate::clock::{Clock, SystemClock};
use crate::http::HttpClient;
use crate::loopback::LoopbackServer;

impl HttpClient {
    /// Runs a request through core's [`Exchange`](cliauth_core::exchange::Exchange)
    /// with this client's retry policy: the final response (any status), or the
    /// network error.
    pub async fn run(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.run_with(request, self.retry_policy()).await
    }

    /// Like [`HttpClient::run`], with one overall deadline `total` from now for every
    /// attempt and wait together (core's
    /// [`Exchange::with_deadline`](cliauth_core::exchange::Exchange::with_deadline)); the
    /// attempt in flight at the deadline is abandoned as `timed out`.
    pub async fn run_within(
        &self,
        request: HttpRequest,
        total: std::time::Duration,
    ) -> Result<HttpResponse, Error> {
        let clock = SystemClock;
        let deadline = clock.now().instant.saturating_add(total);
        let mut exchange =
            cliauth_core::exchange::Exchange::new(request, self.retry_policy(), crate::sys::seed())
                .with_deadline(deadline);
        let mut io = Io::new(&clock);
        io.transport = Some(self);
        drive(io, &mut exchange).await
    }

    /// Like [`HttpClient::run`] with another retry policy.
    pub async fn run_with(
        &self,
        request: HttpRequest,
        policy: cliauth_core::retry::RetryPolicy,
    ) -> Result<HttpResponse, Error> {
        let mut exchange =
            cliauth_core::exchange::Exchange::new(request, policy, crate::sys::seed());
        let mut io = Io::new(&SystemClock);
        io.transport = Some(self);
        drive(io, &mut exchange).await
    }
}

impl LoopbackServer {
    /// Serves requests until `handler` accepts a callback whose `state` matches, and
    /// returns its parameters (a code, a key, or an authorization error to interpret,
    /// e.g. with [`cliauth_core::authorize::PendingAuthorization::complete`]). Core's
    /// [`CallbackWait`](cliauth_core::flow::CallbackWait) decides every answer.
    ///
    /// Fails with [`Error::LoginTimedOut`] after `timeout`, [`Error::Cancelled`] on
    /// Ctrl-C (if enabled), and [`Error::Misuse`] if the handler was configured for
    /// another port. The port is released before this returns, on every path.
    pub async fn wait(
        self,
        handler: cliauth_core::loopback::LoopbackHandler,
        timeout: std::time::Duration,
    ) -> Result<cliauth_core::authorize::CallbackParams, Error> {
        if handler.config().port != self.port() {
            return Err(Error::Misuse(
                "the loopback handler is configured for another port",
            ));
        }
        let ctrl_c = self.options().cancel_on_ctrl_c;
        let limits = handler.config().limits;
        let clock = SystemClock;
        let mut flow = cliauth_core::flow::CallbackWait::new(handler, clock.now(), timeout);
        let mut io = Io::new(&clock);
        io.loopback = Some(self.serve(limits)?);
        io.ctrl_c = ctrl_c;
        let outcome = drive(io, &mut flow).await;
        debug!(
            target: "cliauth::loopback",
            outcome = match &outcome {
                Ok(_) => "callback",
                Err(e) => e.code(),
            },
            "loopback server closed"
        );
        outcome
    }
}
