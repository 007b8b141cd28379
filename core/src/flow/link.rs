//! The launch link: what a login gives the browser to open, so that no secret is on
//! a command line.
//!
//! A browser is started with its URL as an argument, and on most systems every user
//! can read every process's arguments (`/proc/<pid>/cmdline`, `ps`). An
//! authorization or cli-auth page URL there shows the loopback port, the `state` and
//! the PKCE `code_challenge`: enough for another user to deliver a callback of its
//! own — a code for its own account bound to the public challenge, which the CLI
//! would exchange with its verifier and store.
//!
//! So the browser opens `http://127.0.0.1:PORT/start/TOKEN` on the CLI's own
//! loopback server instead. `TOKEN` is 32 bytes of its own entropy, not derived from
//! anything else; the first `GET` of that path is answered `303 See Other` to the
//! real URL (which then lives only in the browser); the link is used up. A second
//! `GET` means that someone else read the link and raced the browser (or the user
//! opened the printed link twice): it is refused with `410 Gone`, and the login ends
//! with [`Error::LoginIntercepted`](crate::Error::LoginIntercepted) — it is not known
//! who fetched first. Other methods and other tokens change nothing.
//!
//! The link narrows the exposure to a race against the browser's first request and
//! makes losing it loud; where the shell can tell who owns the connecting socket
//! ([`Peer`](crate::flow::Peer)), another user's requests are refused outright.

use crate::authorize::LoopbackHost;
use crate::encoding::decimal;
use crate::loopback::{LoopbackRequest, LoopbackResponse};
use crate::state::StateToken;

/// Bytes of entropy a launch link takes (its own draw).
pub const LAUNCH_ENTROPY_LEN: usize = 32;

/// The path prefix of launch links.
pub const START_PATH: &str = "/start/";

/// A one-time launch link (see the module docs).
#[derive(Debug)]
pub struct LaunchLink {
    token: StateToken,
    host: LoopbackHost,
    port: u16,
    /// Where the first fetch is sent (carries `state` and the challenge).
    target: String,
    opened: bool,
}

/// What a request to the link meant.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// The first fetch: the browser is on its way to the target.
    Opened,
    /// A second fetch: the link was read by someone else, or opened twice.
    Reused,
}

/// The answer to a request for a launch link.
#[derive(Debug)]
pub struct LinkReply {
    /// What to write back.
    pub response: LoopbackResponse,
    /// What happened, if anything.
    pub event: Option<LinkEvent>,
    /// A short, secret-free description for debug logs.
    pub note: &'static str,
}

impl LaunchLink {
    /// A link on loopback `port` that sends the browser to `target` once.
    pub fn new(port: u16, entropy: &[u8; LAUNCH_ENTROPY_LEN], target: String) -> Self {
        LaunchLink {
            token: StateToken::from_entropy(entropy),
            host: LoopbackHost::Ipv4,
            port,
            target,
            opened: false,
        }
    }

    /// The link on the address the loopback server listens on: `[::1]` where
    /// 127.0.0.1 could not be bound (RFC 8252 §7.3). A
    /// [`LoopbackHost::Localhost`] server listens on both addresses, so its link
    /// names 127.0.0.1 (an IP literal, as the rest of the login).
    pub fn on(mut self, bound: LoopbackHost) -> Self {
        self.host = match bound {
            LoopbackHost::Ipv6 => LoopbackHost::Ipv6,
            LoopbackHost::Ipv4 | LoopbackHost::Localhost => LoopbackHost::Ipv4,
        };
        self
    }

    /// `http://127.0.0.1:PORT/start/TOKEN` (or `http://[::1]:…`): what the browser
    /// is started with.
    pub fn url(&self) -> String {
        [
            "http://",
            self.host.as_str(),
            ":",
            &decimal(u64::from(self.port)),
            START_PATH,
            self.token.expose_secret(),
        ]
        .concat()
    }

    /// The URL the link leads to.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether the browser has fetched the link.
    pub fn opened(&self) -> bool {
        self.opened
    }

    /// Whether `request` is for a launch link (its path starts with [`START_PATH`]).
    pub fn claims(request: &LoopbackRequest) -> bool {
        request.path().starts_with(START_PATH)
    }

    /// The answer to a request whose path starts with [`START_PATH`] (the caller has
    /// checked its `Host`).
    pub fn handle(&mut self, request: &LoopbackRequest) -> LinkReply {
        let token = request.path().strip_prefix(START_PATH).unwrap_or_default();
        if !self.token.verify(token) {
            return reply(text(404, "Not found."), None, "unknown launch link");
        }
        if request.method != "GET" {
            let mut r = text(405, "Use GET.");
            r.headers.push(("Allow".into(), "GET".into()));
            return reply(r, None, "launch link: method not allowed");
        }
        if self.opened {
            let r = text(
                410,
                "This sign-in link was already used. It is opened once, by the browser your \
                 terminal started; a second request means another program may have read it. \
                 The login in your terminal stopped for safety: start it again.",
            );
            return reply(r, Some(LinkEvent::Reused), "launch link reused");
        }
        self.opened = true;
        let mut r = text(303, "");
        r.headers.push(("Location".into(), self.target.clone()));
        reply(r, Some(LinkEvent::Opened), "launch link opened")
    }
}

fn reply(response: LoopbackResponse, event: Option<LinkEvent>, note: &'static str) -> LinkReply {
    LinkReply {
        response,
        event,
        note,
    }
}

/// A plain-text answer with the loopback pages' protective headers.
fn text(status: u16, body: &str) -> LoopbackResponse {
    LoopbackResponse {
        status,
        headers: vec![
            ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ("Cache-Control".into(), "no-store".into()),
            ("X-Content-Type-Options".into(), "nosniff".into()),
            ("Referrer-Policy".into(), "no-referrer".into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::{ParseProgress, parse_request};

    fn request(method: &str, target: &str) -> LoopbackRequest {
        let raw = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n\r\n");
        match parse_request(raw.as_bytes(), &Default::default()) {
            Ok(ParseProgress::Complete(r, _)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn opens_once_then_refuses_loudly() {
        let target = "https://as.example/authorize?state=s&code_challenge=c".to_string();
        let mut link = LaunchLink::new(4000, &[9; 32], target.clone());
        let url = link.url();
        let path = url.strip_prefix("http://127.0.0.1:4000").unwrap();
        // The link names nothing of the target.
        assert!(
            !url.contains("state") && !url.contains("challenge"),
            "{url}"
        );
        assert_eq!(path.len(), START_PATH.len() + 43);
        assert!(LaunchLink::claims(&request("GET", path)));

        for (method, target) in [
            ("GET", format!("{START_PATH}wrong")),
            ("GET", format!("{}x", path)),
            ("GET", START_PATH.to_string()),
            ("HEAD", path.to_string()),
            ("POST", path.to_string()),
        ] {
            let r = link.handle(&request(method, &target));
            assert!(
                r.event.is_none() && r.response.status >= 400,
                "{method} {target}"
            );
            assert!(!link.opened());
        }
        let first = link.handle(&request("GET", path));
        assert_eq!(first.event, Some(LinkEvent::Opened));
        assert_eq!(
            (first.response.status, first.response.header("location")),
            (303, Some(target.as_str()))
        );
        assert_eq!(first.response.header("cache-control"), Some("no-store"));
        for _ in 0..2 {
            let again = link.handle(&request("GET", path));
            assert_eq!(again.event, Some(LinkEvent::Reused));
            assert_eq!(again.response.status, 410);
            assert!(again.response.header("location").is_none());
        }
    }
}
