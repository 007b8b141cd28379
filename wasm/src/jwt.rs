//! Decoding JWTs for display, without verifying them.

use cliauth_core::Error;
use cliauth_core::encoding::b64url_decode;
use cliauth_core::json::object_members;
use cliauth_core::jwt::decode_unverified;

use crate::convert::{Obj, push_str};

/// JSON `{header: {alg?, typ?, kid?}, claims: {sub?, iss?, aud, exp?, iat?, nbf?,
/// scope?}, extra}` — `extra` holds the other claims. **Unverified**: for display only.
/// Fails with `invalid_jwt`.
pub(crate) fn jwt_decode(token: &str) -> Result<String, Error> {
    (|| {
        let d = decode_unverified(token)?;
        let c = &d.claims;
        let header = Obj::new()
            .opt("alg", d.header.alg.as_deref())
            .opt("typ", d.header.typ.as_deref())
            .opt("kid", d.header.kid.as_deref())
            .end();
        let claims = Obj::new()
            .opt("sub", c.sub.as_deref())
            .opt("iss", c.iss.as_deref())
            .strs("aud", c.aud.iter().map(String::as_str))
            .opt_num("exp", c.exp)
            .opt_num("iat", c.iat)
            .opt_num("nbf", c.nbf)
            .opt("scope", c.scope.as_deref())
            .end();
        let extra = extra_json(token, &d.claims.extra);
        Ok(Obj::new()
            .raw("header", &header)
            .raw("claims", &claims)
            .raw("extra", &extra)
            .end())
    })()
}

/// The claims core put in `extra` (it decides which), as JSON: each as the token wrote
/// it, by name in order, a repeated name once (its last value) — the object
/// serde_json's map printed before, without linking its serializer (numbers keep the
/// token's spelling, which `JSON.parse` reads to the same values).
fn extra_json(token: &str, extra: &serde_json::Map<String, serde_json::Value>) -> String {
    let payload = token.trim().split('.').nth(1).and_then(b64url_decode);
    let text = payload.and_then(|p| String::from_utf8(p).ok());
    let members = text.as_deref().and_then(object_members).unwrap_or_default();
    let mut kept: Vec<(&str, &str)> = Vec::new();
    for (i, (k, raw)) in members.iter().enumerate() {
        let last = !members[i + 1..].iter().any(|(later, _)| later == k);
        if last && extra.contains_key(k) {
            let at = kept.iter().position(|m| m.0 > k.as_str());
            kept.insert(at.unwrap_or(kept.len()), (k, raw));
        }
    }
    let mut out = String::from("{");
    for (i, (k, raw)) in kept.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, k);
        out.push(':');
        out.push_str(raw);
    }
    out.push('}');
    out
}
