//! Authenticated calls to the app's API.

use cliauth_core::flow::{ApiCall, Want};
use cliauth_core::{Error, HttpRequest, HttpResponse};

use super::{Authenticator, join_url};

impl Authenticator {
    /// `path` joined to the API base (absolute URLs are returned as they are).
    pub fn api_url(&self, path: &str) -> Result<String, Error> {
        if path.starts_with("https://") || path.starts_with("http://") {
            return Ok(path.to_string());
        }
        match &self.inner.api_base {
            Some(base) => Ok(join_url(base, path)),
            None => Err(Error::invalid_config("no API base is configured")),
        }
    }

    /// Sends an API request with the current credential as a bearer token, through
    /// core's retry decisions (each retry is announced with
    /// [`Notice::Retrying`](crate::ui::Notice::Retrying)). Non-2xx answers become
    /// errors with [`cliauth_core::http::api_error`] (401, 403 with scope, 404, 429
    /// with `Retry-After`, 5xx). When an OAuth access token is refused with 401, one
    /// forced refresh is made and the request is retried once (core's
    /// [`ApiCall`]).
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let mut flow = ApiCall::new(request, self.access_config(Want::Token));
        let result = self.run(&mut flow).await;
        self.remember(flow.discovered());
        result
    }

    /// `GET {api_base}/{path}` through [`send`](Self::send), parsed as JSON.
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value, Error> {
        let response = self.send(HttpRequest::get(self.api_url(path)?)).await?;
        serde_json::from_slice(&response.body).map_err(|_| Error::Protocol {
            reason: "the API answered with something other than JSON".into(),
            body: cliauth_core::secret::RedactedBytes(response.body),
        })
    }
}
