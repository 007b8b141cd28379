//! Static files: the pages and assets of `examples/web` (compiled in, overridable
//! with `web_root`), and the npm package at `/pkg/`.

use std::path::{Path as FsPath, PathBuf};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::App;
use crate::pages::html_headers;

/// The files of `examples/web`, compiled into the server (through the `web` symlink in
/// this crate, so that the packaged crate carries them).
const EMBEDDED: &[(&str, &str)] = &[
    ("cli-auth.html", include_str!("../web/cli-auth.html")),
    ("device.html", include_str!("../web/device.html")),
    ("cli-auth.js", include_str!("../web/cli-auth.js")),
    ("device.js", include_str!("../web/device.js")),
    ("common.js", include_str!("../web/common.js")),
    ("style.css", include_str!("../web/style.css")),
];

/// The CSP of the script pages: own scripts and the wasm module; `fetch` to the own
/// origin and (for the `post` handoff mode) to the CLI's loopback server.
const SCRIPT_PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     connect-src 'self' http://127.0.0.1:* data: blob:; img-src 'self' data:; \
     style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether a relative path is safe to join under a directory: segments of
/// `A-Z a-z 0-9 . _ - @ +`, none empty, none starting with a dot (no `..`, no hidden
/// files), no percent escapes.
fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 512
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-@+".contains(&b))
        })
}

fn file_response(name: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn missing(what: &str) -> Response {
    let mut response = (StatusCode::NOT_FOUND, format!("{what} not found\n")).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn read_under(dir: &FsPath, relative: &str) -> Option<Vec<u8>> {
    let path: PathBuf = dir.join(relative);
    tokio::fs::read(path).await.ok()
}

/// A file of the web root: from `web_root` if configured and present there, else
/// compiled in.
async fn web_file(app: &App, name: &str) -> Option<Vec<u8>> {
    if !safe_relative(name) {
        return None;
    }
    if let Some(root) = &app.config.web_root
        && let Some(bytes) = read_under(root, name).await
    {
        return Some(bytes);
    }
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| text.as_bytes().to_vec())
}

/// A script page (`cli-auth.html`, `device.html`) with its security headers.
pub(crate) async fn page(app: &App, name: &str) -> Response {
    match web_file(app, name).await {
        Some(bytes) => {
            let mut response = bytes.into_response();
            html_headers(&mut response, SCRIPT_PAGE_CSP);
            response
        }
        None => missing(name),
    }
}

/// `GET /assets/{file}`.
pub(crate) async fn asset(State(app): State<App>, Path(file): Path<String>) -> Response {
    match web_file(&app, &file).await {
        Some(bytes) => file_response(&file, bytes),
        None => missing("asset"),
    }
}

/// `GET /pkg/{file}`: the npm package (`npm/dist` by default).
pub(crate) async fn pkg(State(app): State<App>, Path(file): Path<String>) -> Response {
    if !safe_relative(&file) {
        return missing("package file");
    }
    match read_under(&app.pkg_dir, &file).await {
        Some(bytes) => file_response(&file, bytes),
        None => missing("package file (is the npm package built?)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_safety() {
        assert!(safe_relative("index.js"));
        assert!(safe_relative("snippets/a-b/x.js"));
        for bad in [
            "",
            "../x",
            "a/../b",
            ".env",
            "a//b",
            "/etc/passwd",
            "a\\b",
            "%2e%2e/x",
            "a/",
        ] {
            assert!(!safe_relative(bad), "{bad}");
        }
        assert_eq!(content_type("cliauth_bg.wasm"), "application/wasm");
    }
}
