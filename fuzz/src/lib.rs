//! What the fuzz targets share: a fixed clock and a way to turn fuzz bytes into an
//! HTTP response.

use cliauth_core::{HttpResponse, Timestamp};

/// The fixed "now" of every target that needs a clock.
pub const NOW: Timestamp = Timestamp::from_unix_secs(1_795_341_600);

/// A response from fuzz bytes: byte 0 picks the status, byte 1 the content type and
/// headers, the rest is the body.
pub fn fuzz_response(data: &[u8]) -> HttpResponse {
    const STATUSES: [u16; 10] = [200, 201, 204, 302, 400, 401, 403, 404, 429, 503];
    const TYPES: [&str; 4] = [
        "application/json",
        "text/html",
        "application/problem+json",
        "",
    ];
    let status = STATUSES[usize::from(*data.first().unwrap_or(&0)) % STATUSES.len()];
    let flags = *data.get(1).unwrap_or(&0);
    let mut r = HttpResponse::new(status);
    let ct = TYPES[usize::from(flags) % TYPES.len()];
    if !ct.is_empty() {
        r = r.with_header("content-type", ct);
    }
    let body = data.get(2..).unwrap_or_default().to_vec();
    if flags & 0x10 != 0 {
        if let Ok(text) = std::str::from_utf8(&body) {
            r = r
                .with_header("www-authenticate", text)
                .with_header("retry-after", text)
                .with_header("ratelimit-policy", text);
        }
    }
    r.with_body(body)
}
