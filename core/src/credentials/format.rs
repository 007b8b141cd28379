//! The document's text: what this version does not know, kept verbatim, and the
//! profiles read from and written to JSON.

use serde_json::Value;

use super::{Credential, LoginMethod, Profile};
use crate::error::sanitize_server_text;
use crate::secret::{AccessToken, ApiKey, IdToken, RefreshToken};
use crate::time::Timestamp;
use crate::token::TokenSet;

/// Fields this version does not know, kept verbatim: each one's JSON text is written
/// back exactly as it was read (key order, number spelling and escapes included).
///
/// `Debug` lists the names only: an unknown field may hold a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UnknownFields(pub(super) RawMap);

impl UnknownFields {
    /// No fields.
    pub fn new() -> Self {
        UnknownFields::default()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Their names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// A field's JSON text, exactly as stored.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A field's value, parsed (with core's reader, [`crate::json`]).
    pub fn get(&self, name: &str) -> Option<Value> {
        crate::json::Value::parse(self.raw(name)?.as_bytes()).map(crate::json::Value::into_serde)
    }

    /// Adds or replaces a field (written as compact JSON).
    pub fn insert(&mut self, name: impl Into<String>, value: &Value) {
        let mut text = String::new();
        write_json(&mut text, value, 0, false);
        self.0.insert(name.into(), text);
    }

    /// Removes a field; whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.0.remove(name).is_some()
    }

    pub(super) fn as_out(&self) -> impl Iterator<Item = (String, Out<'_>)> {
        self.0.iter().map(|(k, v)| (k.clone(), Out::Raw(v)))
    }
}

impl core::fmt::Debug for UnknownFields {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("UnknownFields")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A profile this version cannot use — its `method` or `credential.type` is one a
/// newer version added. It is kept exactly as read and never used.
///
/// `Debug` shows only why it is unknown: it holds a credential.
#[derive(Clone, PartialEq, Eq)]
pub struct UnknownProfile {
    pub(super) raw: String,
    pub(super) what: String,
}

impl UnknownProfile {
    /// What this version does not know, e.g. ``credential type `passkey` ``.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The profile's JSON text, exactly as stored.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The notice for a user: the profile is skipped, and kept.
    pub fn notice(&self, name: &str) -> String {
        [
            "Profile `",
            name,
            "` was stored by a newer version (",
            &self.what,
            "); it is kept unchanged and not used.",
        ]
        .concat()
    }
}

impl core::fmt::Debug for UnknownProfile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnknownProfile")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

/// The document as written: known parts as values, unknown parts as their stored text.
/// The known values are strings and whole numbers (or `null`), written here directly:
/// no serde_json value is built (nor its map, nor its number printing), which keeps the
/// web module that stores this document small.
pub(super) enum Out<'a> {
    Str(Option<&'a str>),
    Num(Option<u64>),
    Raw(&'a str),
    Map(Sorted<Out<'a>>),
}

/// Appends `v` as serde_json's pretty printer writes it (two-space indent, `": "`),
/// `indent` levels deep; a raw part as its text, exactly.
pub(super) fn write_out(out: &mut String, v: &Out<'_>, indent: usize) {
    match v {
        Out::Str(Some(s)) => crate::json::push_string(out, s),
        Out::Num(Some(n)) => out.push_str(&crate::encoding::decimal(*n)),
        Out::Str(None) | Out::Num(None) => out.push_str("null"),
        Out::Raw(text) => out.push_str(text),
        Out::Map(m) => write_members(out, indent, true, m.iter(), |out, v, depth| {
            write_out(out, v, depth)
        }),
    }
}

/// Appends `v` as serde_json writes it: pretty (as `to_vec_pretty`, `indent` levels
/// deep) or compact (as `to_string`).
pub(super) fn write_json(out: &mut String, v: &Value, indent: usize, pretty: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => crate::json::push_string(out, s),
        Value::Array(items) => {
            write_items(out, indent, pretty, b"[]", items.iter(), |out, v, depth| {
                write_json(out, v, depth, pretty)
            })
        }
        Value::Object(m) => write_members(out, indent, pretty, m.iter(), |out, v, depth| {
            write_json(out, v, depth, pretty)
        }),
    }
}

/// An object's members, each key escaped as a JSON string.
fn write_members<'v, K: AsRef<str>, V: 'v>(
    out: &mut String,
    indent: usize,
    pretty: bool,
    members: impl Iterator<Item = (K, &'v V)>,
    mut value: impl FnMut(&mut String, &V, usize),
) {
    let colon = if pretty { ": " } else { ":" };
    write_items(out, indent, pretty, b"{}", members, |out, (k, v), depth| {
        crate::json::push_string(out, k.as_ref());
        out.push_str(colon);
        value(out, v, depth);
    });
}

/// Items between `brackets`, one per line when `pretty`; `[]` or `{}` when empty.
fn write_items<T>(
    out: &mut String,
    indent: usize,
    pretty: bool,
    brackets: &[u8; 2],
    items: impl Iterator<Item = T>,
    mut item: impl FnMut(&mut String, T, usize),
) {
    let newline = |out: &mut String, depth: usize| {
        if pretty {
            out.push('\n');
            for _ in 0..depth {
                out.push_str("  ");
            }
        }
    };
    out.push(char::from(brackets[0]));
    let mut any = false;
    for t in items {
        if any {
            out.push(',');
        }
        any = true;
        newline(out, indent + 1);
        item(out, t, indent + 1);
    }
    if any {
        newline(out, indent);
    }
    out.push(char::from(brackets[1]));
}

/// A JSON object with each member's text kept (as [`crate::json::object_members`]
/// reads it; a repeated key keeps its last value, as serde_json's map does).
pub(super) type RawMap = Sorted<String>;

/// A small map: members sorted by key, each key once (a later insert replaces). The
/// document's maps are a handful of members; a sorted `Vec` keeps the web module free
/// of another B-tree's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Sorted<V>(Vec<(String, V)>);

impl<V> Default for Sorted<V> {
    fn default() -> Self {
        Sorted(Vec::new())
    }
}

impl<V> Sorted<V> {
    fn find(&self, k: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(x, _)| x.as_str().cmp(k))
    }

    pub(super) fn insert(&mut self, k: String, v: V) {
        match self.find(&k) {
            Ok(i) => self.0[i].1 = v,
            Err(i) => self.0.insert(i, (k, v)),
        }
    }

    pub(super) fn remove(&mut self, k: &str) -> Option<V> {
        self.find(k).ok().map(|i| self.0.remove(i).1)
    }

    pub(super) fn get(&self, k: &str) -> Option<&V> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V> Extend<(String, V)> for Sorted<V> {
    fn extend<I: IntoIterator<Item = (String, V)>>(&mut self, items: I) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}

impl<V> FromIterator<(String, V)> for Sorted<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(items: I) -> Self {
        let mut map = Sorted::default();
        map.extend(items);
        map
    }
}

impl<V> IntoIterator for Sorted<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Parses `text` as an object, keeping each member's text; `None` for anything else.
pub(super) fn raw_object(text: &str) -> Option<RawMap> {
    let members = crate::json::object_members(text)?;
    Some(
        members
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
    )
}

/// A string field of a raw object: absent and `null` are `None`.
pub(super) fn raw_string(map: &mut RawMap, k: &str) -> Result<Option<String>, String> {
    use crate::json::Value as J;
    match map.remove(k).map(|r| J::parse(r.as_bytes())) {
        None | Some(Some(J::Null)) => Ok(None),
        Some(Some(J::String(s))) => Ok(Some(s)),
        Some(_) => Err(format!("`{k}` is not a string")),
    }
}

/// A time field (Unix seconds) of a raw object: absent and `null` are `None`.
pub(super) fn raw_time(map: &mut RawMap, k: &str) -> Result<Option<Timestamp>, String> {
    use crate::json::Value as J;
    match map.remove(k).map(|r| J::parse(r.as_bytes())) {
        None | Some(Some(J::Null)) => Ok(None),
        Some(Some(n @ J::Number(_))) => n
            .as_u64()
            .map(|s| Some(Timestamp::from_unix_secs(s)))
            .ok_or_else(|| format!("`{k}` is not a time")),
        Some(_) => Err(format!("`{k}` is not a number")),
    }
}

/// A name from the file, safe to show in one line.
fn shown(name: &str) -> String {
    let mut s = sanitize_server_text(name);
    if s.chars().count() > 40 {
        s = s.chars().take(40).collect::<String>() + "…";
    }
    s
}

/// A profile as read: one this version uses, or one it keeps without using.
pub(super) enum Parsed {
    Known(Box<Profile>),
    Unknown(UnknownProfile),
}

/// The `credential` fields each known type has (besides `type`).
const API_KEY_FIELDS: &[&str] = &["key"];
const OAUTH_FIELDS: &[&str] = &[
    "access_token",
    "token_type",
    "expires_at",
    "refresh_token",
    "scope",
    "id_token",
    "obtained_at",
];

pub(super) fn parse_profile(value: String) -> Result<Parsed, String> {
    let mut map = raw_object(&value).ok_or("is not an object")?;
    let method_name = raw_string(&mut map, "method")?.ok_or("`method` is missing")?;
    let mut cred = map
        .remove("credential")
        .as_deref()
        .and_then(raw_object)
        .ok_or("`credential` is missing or not an object")?;
    let kind = raw_string(&mut cred, "type")?.ok_or("`credential.type` is missing")?;
    let Some(method) = LoginMethod::parse(&method_name) else {
        return Ok(Parsed::Unknown(UnknownProfile {
            raw: value,
            what: ["login method `", &shown(&method_name), "`"].concat(),
        }));
    };
    if !matches!(kind.as_str(), "api_key" | "oauth") {
        return Ok(Parsed::Unknown(UnknownProfile {
            raw: value,
            what: ["credential type `", &shown(&kind), "`"].concat(),
        }));
    }
    let issuer = raw_string(&mut map, "issuer")?;
    let api_base = raw_string(&mut map, "api_base")?;
    let subject = raw_string(&mut map, "subject")?;
    let created_at = raw_time(&mut map, "created_at")?.unwrap_or(Timestamp::EPOCH);
    let verified_at = raw_time(&mut map, "verified_at")?;
    let credential = if kind == "api_key" {
        let key = raw_string(&mut cred, "key")?
            .filter(|k| !k.is_empty())
            .ok_or("`credential.key` is missing")?;
        Credential::ApiKey(ApiKey::new(key))
    } else {
        let access = raw_string(&mut cred, "access_token")?
            .filter(|k| !k.is_empty())
            .ok_or("`credential.access_token` is missing")?;
        Credential::OAuth(TokenSet {
            access_token: AccessToken::new(access),
            token_type: raw_string(&mut cred, "token_type")?.unwrap_or_else(|| "Bearer".into()),
            expires_at: raw_time(&mut cred, "expires_at")?,
            refresh_token: raw_string(&mut cred, "refresh_token")?
                .filter(|s| !s.is_empty())
                .map(RefreshToken::new),
            scope: raw_string(&mut cred, "scope")?,
            id_token: raw_string(&mut cred, "id_token")?
                .filter(|s| !s.is_empty())
                .map(IdToken::new),
            obtained_at: raw_time(&mut cred, "obtained_at")?.unwrap_or(created_at),
        })
    };
    Ok(Parsed::Known(Box::new(Profile {
        credential,
        method,
        issuer,
        api_base,
        subject,
        created_at,
        verified_at,
        extra: UnknownFields(map),
        credential_extra: UnknownFields(cred),
    })))
}

pub(super) fn profile_out(p: &Profile) -> Out<'_> {
    let secs = |t: Option<Timestamp>| Out::Num(t.map(Timestamp::unix_secs));
    let (known, credential) = match &p.credential {
        Credential::ApiKey(k) => (
            API_KEY_FIELDS,
            vec![
                ("type", Out::Str(Some("api_key"))),
                ("key", Out::Str(Some(k.expose_secret()))),
            ],
        ),
        Credential::OAuth(t) => (
            OAUTH_FIELDS,
            vec![
                ("type", Out::Str(Some("oauth"))),
                (
                    "access_token",
                    Out::Str(Some(t.access_token.expose_secret())),
                ),
                ("token_type", Out::Str(Some(t.token_type.as_str()))),
                ("expires_at", secs(t.expires_at)),
                (
                    "refresh_token",
                    Out::Str(t.refresh_token.as_ref().map(RefreshToken::expose_secret)),
                ),
                ("scope", Out::Str(t.scope.as_deref())),
                (
                    "id_token",
                    Out::Str(t.id_token.as_ref().map(IdToken::expose_secret)),
                ),
                ("obtained_at", secs(Some(t.obtained_at))),
            ],
        ),
    };
    let mut cred: Sorted<Out<'_>> = p
        .credential_extra
        .as_out()
        .filter(|(k, _)| k != "type" && !known.contains(&k.as_str()))
        .collect();
    cred.extend(credential.into_iter().map(|(k, v)| (k.to_string(), v)));
    let mut map: Sorted<Out<'_>> = p.extra.as_out().collect();
    for (k, v) in [
        ("method", Out::Str(Some(p.method.as_str()))),
        ("issuer", Out::Str(p.issuer.as_deref())),
        ("api_base", Out::Str(p.api_base.as_deref())),
        ("subject", Out::Str(p.subject.as_deref())),
        ("created_at", secs(Some(p.created_at))),
        ("verified_at", secs(p.verified_at)),
    ] {
        map.insert(k.into(), v);
    }
    map.insert("credential".into(), Out::Map(cred));
    Out::Map(map)
}

impl super::StatusReport {
    /// The report as compact JSON, field for field as its `Serialize` writes it
    /// (`serde_json::to_string`: declaration order, absent values `null`) — with core's
    /// string writer, so that the web module need not link serde_json's serializer.
    pub fn to_json(&self) -> String {
        fn field(out: &mut String, name: &str) {
            out.push(if out.is_empty() { '{' } else { ',' });
            crate::json::push_string(out, name);
            out.push(':');
        }
        fn text(out: &mut String, name: &str, v: Option<&str>) {
            field(out, name);
            match v {
                Some(s) => crate::json::push_string(out, s),
                None => out.push_str("null"),
            }
        }
        fn list(out: &mut String, name: &str, items: &[String]) {
            field(out, name);
            out.push('[');
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::json::push_string(out, s);
            }
            out.push(']');
        }
        let flag = |b: bool| if b { "true" } else { "false" };
        let mut out = String::new();
        field(&mut out, "authenticated");
        out.push_str(flag(self.authenticated));
        text(&mut out, "source", self.source.as_deref());
        text(&mut out, "profile", self.profile.as_deref());
        text(&mut out, "credential_type", self.credential_type);
        text(
            &mut out,
            "method",
            self.method.map(super::LoginMethod::as_str),
        );
        text(&mut out, "subject", self.subject.as_deref());
        text(&mut out, "issuer", self.issuer.as_deref());
        text(&mut out, "api_base", self.api_base.as_deref());
        text(&mut out, "masked_key", self.masked_key.as_deref());
        text(&mut out, "expires_at", self.expires_at.as_deref());
        field(&mut out, "expires_in_secs");
        match self.expires_in_secs {
            Some(n) => out.push_str(&crate::encoding::decimal(n)),
            None => out.push_str("null"),
        }
        text(&mut out, "token_status", self.token_status);
        field(&mut out, "refreshable");
        out.push_str(flag(self.refreshable));
        list(&mut out, "scopes", &self.scopes);
        text(&mut out, "verified_at", self.verified_at.as_deref());
        list(&mut out, "other_profiles", &self.other_profiles);
        out.push('}');
        out
    }
}
