//! Decoding JWTs for display, without verifying them.

use cliauth_core::Error;
use cliauth_core::jwt::decode_unverified;

use crate::convert::Obj;

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
        let extra = serde_json::Value::Object(d.claims.extra.clone()).to_string();
        Ok(Obj::new()
            .raw("header", &header)
            .raw("claims", &claims)
            .raw("extra", &extra)
            .end())
    })()
}
