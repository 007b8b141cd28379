//! The HTTP executor: core's [`HttpRequest`] values sent with reqwest (rustls).
//!
//! - **TLS**: rustls with the operating system's certificate verifier
//!   ([rustls-platform-verifier]: the Keychain on macOS, CryptoAPI on Windows, the
//!   system CA bundle on Linux — including `SSL_CERT_FILE`/`SSL_CERT_DIR`), so a
//!   corporate proxy's or a company's own CA that the system trusts is trusted here
//!   too. The crypto provider is *ring*, configured per client: nothing process-wide
//!   is installed.
//! - **Proxies**: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case)
//!   are honoured, as are the system proxy settings on macOS and Windows.
//! - **Your own client**: [`HttpClient::with_client`] (or
//!   [`AuthenticatorBuilder::http_client`](crate::AuthenticatorBuilder::http_client))
//!   takes a `reqwest::Client` the app configured — extra roots, a proxy, a
//!   resolver. Start from [`client_builder`], which sets everything above; a client
//!   that follows redirects must not be passed (see [`HttpClient::with_client`]).
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
use std::sync::Arc;
use std::time::{Duration, Instant};

use cliauth_core::exchange::TransportError;
use cliauth_core::http::{MAX_RESPONSE_BODY, body_too_large};
use cliauth_core::retry::RetryPolicy;
use cliauth_core::{Error, HttpRequest, HttpResponse, Method};
use tracing::{debug, trace};

/// HTTP client settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

/// The TLS configuration cliauth uses: rustls with the *ring* provider, TLS 1.2 and
/// 1.3, the platform's certificate verifier, and ALPN for HTTP/2 and HTTP/1.1.
pub fn tls_config() -> Result<rustls::ClientConfig, Error> {
    tls_config_with_roots([])
}

/// Like [`tls_config`], also trusting `roots` (DER certificates: a company CA the
/// system does not know), next to what the platform trusts. Pass it to
/// [`client_builder`]'s result with `tls_backend_preconfigured`.
pub fn tls_config_with_roots(
    roots: impl IntoIterator<Item = rustls::pki_types::CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots: Vec<_> = roots.into_iter().collect();
    let verifier = if roots.is_empty() {
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
    } else {
        platform_verifier_with(roots, Arc::clone(&provider))
    };
    let verifier = verifier.map_err(|e| {
        Error::invalid_config("the platform's certificate verifier is unavailable").with_source(e)
    })?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid_config("no TLS protocol version is available").with_source(e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(any(all(unix, not(target_os = "android")), windows))]
fn platform_verifier_with(
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier, rustls::Error> {
    rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider)
}

#[cfg(not(any(all(unix, not(target_os = "android")), windows)))]
fn platform_verifier_with(
    _roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    _provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier, rustls::Error> {
    Err(rustls::Error::General(
        "extra roots are not supported with this platform's verifier".into(),
    ))
}

/// A `reqwest::ClientBuilder` set up as cliauth sets up its own client: the TLS of
/// [`tls_config`], redirects off, the connect timeout and the `User-Agent` of
/// `options`, proxies from the environment. Add to it — a proxy, a resolver, or
/// another TLS setup with `tls_backend_preconfigured(tls_config_with_roots(…)?)`
/// (reqwest's own root-certificate options do not apply to a preconfigured TLS
/// setup) — then hand the built client to [`HttpClient::with_client`]. Do not start
/// from a bare `reqwest::Client::builder()`: cliauth's reqwest has no process-wide
/// crypto provider, and builds there fail unless the app installed one.
pub fn client_builder(options: &HttpOptions) -> Result<reqwest::ClientBuilder, Error> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .user_agent(options.user_agent.clone()))
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with these options ([`client_builder`]).
    pub fn new(options: &HttpOptions) -> Result<HttpClient, Error> {
        let client = client_builder(options)?.build().map_err(|e| {
            Error::invalid_config("the HTTP client could not be created")
                .with_source(e.without_url())
        })?;
        Ok(HttpClient::with_client(client, options))
    }

    /// Sends through `client`, an app's own `reqwest::Client` (its TLS roots, proxy,
    /// resolver and connection pool), with the total timeout and retries of
    /// `options` applied per request. The `User-Agent` and connect timeout are the
    /// client's.
    ///
    /// The client **must not follow redirects** (build it with
    /// `.redirect(reqwest::redirect::Policy::none())`, as [`client_builder`] does): a
    /// token endpoint that redirects would otherwise receive the request body — codes,
    /// verifiers, refresh tokens — at another address.
    pub fn with_client(client: reqwest::Client, options: &HttpOptions) -> HttpClient {
        HttpClient {
            client,
            retry: options.retry,
            timeout: options.timeout,
        }
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
            SendFailure::Fatal(Error::invalid_config(
                "a request URL is not a valid absolute URL",
            ))
        })?;
        let mut builder = self.client.request(method, url).timeout(self.timeout);
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
/// message contains the URL, query included). The reqwest error, stripped of its URL,
/// stays the error's source.
fn classify(e: reqwest::Error) -> SendFailure {
    if e.is_builder() {
        return SendFailure::Fatal(
            Error::invalid_config("a request could not be built").with_source(e.without_url()),
        );
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
        return SendFailure::Transport(TransportError::not_sent(what).with_source(e.without_url()));
    }
    if e.is_timeout() {
        return SendFailure::Transport(
            TransportError::unknown("timed out").with_source(e.without_url()),
        );
    }
    let what = match cause {
        Some(kind) => format!("the connection failed ({kind})"),
        None => "the connection failed".to_string(),
    };
    SendFailure::Transport(TransportError::unknown(what).with_source(e.without_url()))
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
