//! The HTTP executor: core's [`HttpRequest`] values sent with reqwest (rustls).
//!
//! - Redirects are never followed (a redirect from a token endpoint is an SSRF and
//!   token-leak vector); core reports a 3xx as a protocol error.
//! - Connect and total timeouts, a `User-Agent`.
//! - Response bodies are read up to [`MAX_RESPONSE_BODY`]; a larger body stops the
//!   read and is reported as [`cliauth_core::http::body_too_large`].
//! - Retries are core's decisions ([`cliauth_core::exchange::Exchange`]), executed by
//!   the one driver with the [`crate::clock::Clock`]'s sleeps ([`HttpClient::run`]).
//! - [`Transport`] is what the driver sends with: [`HttpClient`] by default, anything
//!   else an app or a test injects
//!   ([`AuthenticatorBuilder::transport`](crate::AuthenticatorBuilder::transport)).
//! - Each attempt emits a `tracing` debug event with the method, the URL with secret
//!   parameters redacted ([`HttpRequest::redacted_url`]), the status and the duration;
//!   never a header value or a body.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use cliauth_core::exchange::TransportError;
use cliauth_core::http::{MAX_RESPONSE_BODY, body_too_large};
use cliauth_core::retry::RetryPolicy;
use cliauth_core::{Error, HttpRequest, HttpResponse, Method};
use tracing::{debug, trace};

/// HTTP client settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Longest time to establish a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Longest time for a whole request, body included (default 30 s). It is also the
    /// one overall deadline of an API-key verification, retries included
    /// ([`HttpClient::run_within`]): a server that drips its answer cannot stretch it.
    pub timeout: Duration,
    /// The `User-Agent` (default `cliauth/<version>`).
    pub user_agent: String,
    /// Retries for requests that allow them (core's [`RetryPolicy`]).
    pub retry: RetryPolicy,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            user_agent: concat!("cliauth/", env!("CARGO_PKG_VERSION")).to_string(),
            retry: RetryPolicy::default(),
        }
    }
}

/// Why one attempt produced no response.
#[derive(Debug)]
pub enum SendFailure {
    /// The transport failed; core decides whether to retry.
    Transport(TransportError),
    /// A failure no retry can fix (an oversize body, an unusable URL).
    Fatal(Error),
}

/// The future of one attempt.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, SendFailure>> + Send + 'a>>;

/// Sends one attempt of core's requests (no retries: core decides those). Must not
/// follow redirects.
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` once.
    fn send<'a>(&'a self, request: &'a HttpRequest) -> Sending<'a>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> Sending<'a> {
        (**self).send(request)
    }
}

impl Transport for HttpClient {
    fn send<'a>(&'a self, request: &'a HttpRequest) -> Sending<'a> {
        Box::pin(self.execute(request))
    }
}

/// Executes core's requests. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    retry: RetryPolicy,
    timeout: Duration,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with these options.
    pub fn new(options: &HttpOptions) -> Result<HttpClient, Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|_| Error::InvalidConfig {
                reason: "the HTTP client could not be created (TLS roots unavailable?)".into(),
            })?;
        Ok(HttpClient {
            client,
            retry: options.retry,
            timeout: options.timeout,
        })
    }

    /// The retry policy used by [`HttpClient::run`].
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The longest time of one request ([`HttpOptions::timeout`]).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one attempt.
    pub async fn execute(&self, request: &HttpRequest) -> Result<HttpResponse, SendFailure> {
        let started = Instant::now();
        let url = request.redacted_url();
        let method = request.method.as_str();
        let result = self.attempt(request).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(r) => debug!(
                method,
                url = %url,
                status = r.status,
                elapsed_ms,
                "{method} {url} → {} ({:.2}s)",
                r.status,
                started.elapsed().as_secs_f64()
            ),
            Err(SendFailure::Transport(e)) => debug!(
                method,
                url = %url,
                error = %e.reason,
                not_sent = e.not_sent,
                elapsed_ms,
                "{method} {url} failed: {}",
                e.reason
            ),
            Err(SendFailure::Fatal(e)) => debug!(
                method,
                url = %url,
                error = e.code(),
                elapsed_ms,
                "{method} {url} failed: {e}"
            ),
        }
        result
    }

    async fn attempt(&self, request: &HttpRequest) -> Result<HttpResponse, SendFailure> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
            Method::Options => reqwest::Method::OPTIONS,
            Method::Head => reqwest::Method::HEAD,
        };
        let url = reqwest::Url::parse(&request.url).map_err(|_| {
            SendFailure::Fatal(Error::InvalidConfig {
                reason: "a request URL is not a valid absolute URL".into(),
            })
        })?;
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        trace!(
            headers = ?request.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            body_len = request.body.len(),
            "sending"
        );
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BODY as u64)
        {
            return Err(SendFailure::Fatal(body_too_large(MAX_RESPONSE_BODY)));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                return Err(SendFailure::Fatal(body_too_large(MAX_RESPONSE_BODY)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// Maps a reqwest error to core's transport error, without URLs (reqwest's own
/// message contains the URL, query included).
fn classify(e: reqwest::Error) -> SendFailure {
    if e.is_builder() {
        return SendFailure::Fatal(Error::InvalidConfig {
            reason: "a request could not be built".into(),
        });
    }
    let cause = io_cause(&e);
    if e.is_connect() {
        let what = if tls_cause(&e) {
            "TLS handshake failed".to_string()
        } else {
            match cause {
                Some(kind) => format!("could not connect ({kind})"),
                None => "could not connect".to_string(),
            }
        };
        return SendFailure::Transport(TransportError::not_sent(what));
    }
    if e.is_timeout() {
        return SendFailure::Transport(TransportError::unknown("timed out"));
    }
    let what = match cause {
        Some(kind) => format!("the connection failed ({kind})"),
        None => "the connection failed".to_string(),
    };
    SendFailure::Transport(TransportError::unknown(what))
}

fn io_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind().to_string());
        }
        source = s.source();
    }
    None
}

fn tls_cause(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
            return true;
        }
        source = s.source();
    }
    false
}
