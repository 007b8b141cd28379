// The tests shared by `node.rs` (Node.js) and `browser.rs` (headless Chromium): the
// vectors every target runs, then the boundaries themselves — errors, the handoff,
// the device page, the full build's operations, and core's machines driven through
// the step protocol with a virtual clock — called as the npm loader calls them.

use cliauth_wasm::full_call::{self, op as fop};
use cliauth_wasm::*;
use serde_json::{Value, json};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

// ── vectors ────────────────────────────────────────────────────────────────

// One test per file comes from the runner (`runner::file::*`); this one checks the
// total, so a runner that silently ran nothing would fail.
#[wasm_bindgen_test]
fn every_vector_file_is_run() {
    let cases: usize = runner::FILES.iter().map(|(f, _)| runner::run(f).cases).sum();
    console_log!("vector cases: {cases} in {} files", runner::FILES.len());
    assert!(cases >= 249, "only {cases} vector cases ran");
}

// ── helpers ────────────────────────────────────────────────────────────────

const STATE: &str = "abcdefghijklmnopqrstuvwxyz012345";
const T: u64 = 1_800_000_000_000;
const T0: f64 = T as f64;
const JSON: &str = "content-type: application/json";

/// Page operation `op` with `args` (and a body) through the page boundary, as the
/// npm loader calls it: the tag and the payload.
fn page_with(op: u32, args: &Value, body: &[u8]) -> (char, String) {
    let mut input = args.to_string().into_bytes();
    if !body.is_empty() {
        input.push(0);
        input.extend_from_slice(body);
    }
    let reply = page::call(op, &input);
    (
        char::from(reply[0]),
        String::from_utf8(reply[1..].to_vec()).unwrap(),
    )
}

/// A page operation that succeeds with a JSON value.
fn page_ok(op: u32, args: Value) -> Value {
    let (tag, text) = page_with(op, &args, &[]);
    assert_eq!(tag, 'v', "{op} {args}: {text}");
    parse(text)
}

/// A page operation that fails (tag `e`): the error as `CliauthError`'s
/// constructor arguments.
fn page_err(op: u32, args: Value) -> PageError {
    let (tag, text) = page_with(op, &args, &[]);
    assert_eq!(tag, 'e', "{op} {args}: {text}");
    PageError(parse(text))
}

/// An error the page boundary returns: `[message, code, kind, exitCode, hint,
/// retryAfterMs, problem]`.
#[derive(Debug)]
struct PageError(Value);

impl PageError {
    fn message(&self) -> &str {
        self.0[0].as_str().unwrap()
    }
    fn code(&self) -> &str {
        self.0[1].as_str().unwrap()
    }
    fn kind(&self) -> &str {
        self.0[2].as_str().unwrap()
    }
    fn exit_code(&self) -> u64 {
        self.0[3].as_u64().unwrap()
    }
    fn hint(&self) -> Option<&str> {
        self.0[4].as_str()
    }
    fn retry_after_ms(&self) -> Option<u64> {
        self.0[5].as_u64()
    }
    fn problem(&self) -> Option<&str> {
        self.0[6].as_str()
    }
}

/// Full operation `op` with `args` (and a body) through the full boundary: the value,
/// or the error it throws.
fn full_with(op: u32, args: Value, body: &[u8]) -> Result<Value, PageError> {
    let mut input = args.to_string().into_bytes();
    if !body.is_empty() {
        input.push(0);
        input.extend_from_slice(body);
    }
    let reply = full_call::call(op, &input);
    let value = parse(String::from_utf8(reply[1..].to_vec()).unwrap());
    match reply[0] {
        b'v' => Ok(value),
        b'e' => Err(PageError(value)),
        tag => panic!("{op} {args}: tag {tag}"),
    }
}

fn full(op: u32, args: Value) -> Result<Value, PageError> {
    full_with(op, args, &[])
}

/// One of core's machines, by its number in the full boundary.
struct Machine(u64);

impl Machine {
    fn made(r: Result<Value, PageError>) -> Result<Machine, PageError> {
        r.map(|id| Machine(id.as_u64().unwrap()))
    }
    fn device_login(config: &Value, seed: Option<u64>) -> Result<Machine, PageError> {
        Machine::made(full(fop::DEVICE_LOGIN, json!([config, seed])))
    }
    fn access_token(config: &str, seed: Option<u64>) -> Result<Machine, PageError> {
        let config: Value = serde_json::from_str(config).unwrap();
        Machine::made(full(fop::ACCESS_TOKEN, json!([config, seed])))
    }
    fn browser_login(config: &Value, pending: &str, query: &str, now: f64, seed: Option<u64>) -> Result<Machine, PageError> {
        Machine::made(full(fop::BROWSER_LOGIN, json!([config, pending, query, now as u64, seed])))
    }
    fn device_flow(body: &[u8], token_endpoint: &str, client_id: &str, now: f64, seed: Option<u64>) -> Result<Machine, PageError> {
        Machine::made(full_with(
            fop::DEVICE_FLOW,
            json!([200, JSON, token_endpoint, client_id, now as u64, seed]),
            body,
        ))
    }
    fn poll(&mut self, now: Option<f64>) -> Result<Value, PageError> {
        full(fop::POLL, json!([self.0, now.unwrap() as u64]))
    }
    fn handle_response(&mut self, now: Option<f64>, status: u16, headers: &str, body: Vec<u8>) {
        full_with(fop::RESPONSE, json!([self.0, now.unwrap() as u64, status, headers]), &body).unwrap();
    }
    fn handle_transport_error(&mut self, now: Option<f64>, not_sent: bool, reason: &str) {
        full(fop::TRANSPORT_ERROR, json!([self.0, now.unwrap() as u64, not_sent, reason])).unwrap();
    }
    fn handle_stored(&mut self, now: Option<f64>, text: Option<String>) {
        full(fop::STORED, json!([self.0, now.unwrap() as u64, text])).unwrap();
    }
    fn handle_persisted(&mut self) {
        full(fop::PERSISTED, json!([self.0, T])).unwrap();
    }
    fn cancel(&mut self) {
        full(fop::CANCEL, json!([self.0, T])).unwrap();
    }
    fn stats(&self) -> Value {
        full(fop::STATS, json!([self.0])).unwrap()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        full(fop::RELEASE, json!([self.0])).unwrap();
    }
}

/// A full operation's JSON-string reply.
fn text(v: Value) -> String {
    v.as_str().unwrap().to_string()
}

/// `apiError` for a response: `None` for 2xx.
fn api_error(status: u16, headers: &str, body: &[u8]) -> Option<PageError> {
    let (tag, text) = page_with(page::op::API_ERROR, &json!([status, headers, T]), body);
    match tag {
        'E' => Some(PageError(parse(text))),
        'v' if text == "null" => None,
        _ => panic!("apiError {status}: {tag} {text}"),
    }
}

/// One of the error constructors (tag `E`).
fn made_error(op: u32, args: Value) -> PageError {
    let (tag, text) = page_with(op, &args, &[]);
    assert_eq!(tag, 'E', "{op}: {text}");
    PageError(parse(text))
}

fn configure(options: Value) {
    assert_eq!(page_ok(page::op::CONFIGURE, json!([options])), Value::Null);
}

fn code(e: PageError) -> String {
    e.code().to_string()
}

fn parse(s: String) -> Value {
    serde_json::from_str(&s).unwrap()
}

fn step(m: &mut Machine, now: f64) -> Value {
    m.poll(Some(now)).unwrap()
}

fn body(b: &Value) -> Vec<u8> {
    b.to_string().into_bytes()
}

// ── errors ─────────────────────────────────────────────────────────────────

#[wasm_bindgen_test]
fn errors_are_typed() {
    use page::op;
    let e = page_err(
        op::HANDOFF_READ,
        json!([format!("https://app.example/cli-auth?port=80&state={STATE}")]),
    );
    assert_eq!(e.message(), "Invalid port: must be between 1024 and 65535");
    assert_eq!((e.code(), e.kind(), e.exit_code()), ("invalid_argument", "usage", 1));
    assert_eq!(e.hint(), Some("See `cli --help`."));

    // Hints speak the configured app's language.
    configure(json!({"cli": "acme", "product": "Acme"}));
    let e = made_error(op::NETWORK_ERROR, json!(["connection refused"]));
    assert_eq!(e.message(), "Network error: connection refused");
    assert_eq!(e.exit_code(), 3);
    let e = api_error(401, "", b"").unwrap();
    assert!(e.hint().unwrap().contains("Run `acme auth login`"));
    configure(json!({"cli": "cli", "product": "service"}));
    // The arguments must be a JSON array.
    for bad in [&b"{not json"[..], b"{}", b"\"x\""] {
        let reply = page::call(op::CONFIGURE, bad);
        assert_eq!(reply[0], b'e');
        assert_eq!(
            PageError(parse(String::from_utf8(reply[1..].to_vec()).unwrap())).code(),
            "invalid_argument"
        );
    }
    // Options are checked field by field, all before anything changes.
    for bad in [
        json!({"cli": 5}),
        json!({"userCode": {"length": 1.5}}),
        json!({"userCode": {"length": 65}}),
        json!({"userCode": {"group": -1}}),
        json!({"keyFormats": {}}),
        serde_json::from_str(r#"{"keyFormats": [{"id": "a", "product": "A", "label": "key", "charset": "base62", "prefix": "a_", "minLen": 1e21, "maxLen": 9}]}"#).unwrap(),
        json!({"cli": "changed", "keyFormats": [{"id": "a", "product": "A"}]}),
    ] {
        let e = page_err(op::CONFIGURE, json!([bad]));
        assert_eq!(e.code(), "invalid_argument", "{bad}");
    }
    let e = made_error(op::ARGUMENT_ERROR, json!(["x", "y"]));
    assert_eq!(e.hint(), Some("See `cli --help`."));
    // Absent, null and non-object options change nothing.
    for fine in [json!({}), json!({"cli": null, "userCode": null}), json!(5), json!("x"), json!([]), Value::Null] {
        configure(fine);
    }
    let e = api_error(401, "", b"").unwrap();
    assert!(e.hint().unwrap().contains("Run `cli auth login`"));
    // A string argument that is not a string reads as empty (and fails validation).
    let e = page_err(op::HANDOFF_READ, json!([5]));
    assert_eq!(e.code(), "invalid_argument");

    // Rate limits carry the wait; a cancellation has no hint.
    let e = api_error(429, "Retry-After: 12", b"").unwrap();
    assert_eq!((e.code(), e.retry_after_ms()), ("rate_limited", Some(12_000)));
    assert_eq!(e.exit_code(), 4);
    // An HTTP-date Retry-After counts from the `now` given.
    let e = api_error(429, "Retry-After: Fri, 15 Jan 2027 08:00:30 GMT", b"").unwrap();
    assert_eq!(e.retry_after_ms(), Some(30_000));
    // The body's explanation, even when it is not UTF-8 around it.
    let e = api_error(404, JSON, b"{\"detail\": \"no such app\"}").unwrap();
    assert_eq!(e.message(), "Not found: no such app");
    assert!(api_error(400, "", b"\xff\xfe").is_some());
    assert!(api_error(204, "", b"").is_none());
    assert_eq!(made_error(op::CANCELLED_ERROR, json!([])).hint(), None);
    // An unknown operation is refused.
    assert_eq!(page_err(99, json!([])).code(), "invalid_argument");
}

/// The full boundary: its errors are typed like the page's, and it answers the page
/// operations too (one loader binds both).
#[wasm_bindgen_test]
fn full_boundary_errors_and_page_operations() {
    let e = full(fop::PKCE_CHALLENGE, json!(["short"])).unwrap_err();
    assert_eq!((e.code(), e.kind(), e.exit_code()), ("invalid_argument", "usage", 1));
    assert_eq!(e.hint(), Some("See `cli --help`."));
    assert_eq!(full(fop::STATE_CHECK, json!([5])).unwrap_err().code(), "invalid_argument");
    // Not an array, an unknown operation, a machine that is not there.
    assert_eq!(full_call::call(fop::PKCE_CREATE, b"{}")[0], b'e');
    assert_eq!(full(99, json!([])).unwrap_err().code(), "invalid_argument");
    assert_eq!(full(fop::POLL, json!([12345, T])).unwrap_err().code(), "misuse");
    // Page operations through the full boundary.
    assert_eq!(full(page::op::NORMALIZE_USER_CODE, json!(["wdjb mjht"])).unwrap(), "WDJB-MJHT");
    let reply = full_call::call(page::op::NETWORK_ERROR, br#"["refused"]"#);
    assert_eq!(reply[0], b'E');
}

// ── the cli-auth page ──────────────────────────────────────────────────────

#[wasm_bindgen_test]
fn handoff_reads_and_delivers_only_to_loopback() {
    use page::op;
    let r = page_ok(
        op::HANDOFF_READ,
        json!([format!(
            "https://app.example/cli-auth?port=49152&state={STATE}&host=evil.example&callback=https%3A%2F%2Fevil.example"
        )]),
    );
    assert_eq!(
        r,
        json!({"port": 49152, "state": STATE, "mode": "redirect", "acceptsApiKey": false, "callbackUrl": "http://127.0.0.1:49152/callback"})
    );
    // A CLI that sent a challenge and asked for keys too (its raw-key option).
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let args = |port: &str, state: &str, mode: Option<&str>, code: Option<&str>, key: Option<&str>| {
        json!([port, state, null, challenge, "api_key", code, key, mode])
    };
    let deliver = |mode: Option<&str>, code: Option<&str>, key: Option<&str>| {
        page_with(op::HANDOFF_DELIVERY, &args("49152", STATE, mode, code, key), &[])
    };
    // By default (no `accept=api_key`) only the code bound to the challenge goes out.
    let code_only = |code: Option<&str>, key: Option<&str>, challenge: Option<&str>| {
        json!(["49152", STATE, null, challenge, null, code, key, null])
    };
    page_ok(op::HANDOFF_DELIVERY, code_only(Some("otc_1"), None, Some(challenge)));
    let e = page_err(op::HANDOFF_DELIVERY, code_only(None, Some("acme_dev_key"), Some(challenge)));
    assert_eq!(e.code(), "invalid_argument");
    let e = page_err(op::HANDOFF_DELIVERY, code_only(Some("otc_1"), None, None));
    assert_eq!(e.code(), "invalid_argument", "a code needs a challenge to be bound to");
    let d = page_ok(op::HANDOFF_DELIVERY, args("49152", STATE, None, Some("otc_1&x=y"), None));
    assert_eq!(
        d,
        json!({"mode": "redirect", "url": format!("http://127.0.0.1:49152/callback?code=otc_1%26x%3Dy&state={STATE}")})
    );
    let d = page_ok(
        op::HANDOFF_DELIVERY,
        args("49152", STATE, Some("post"), None, Some("acme_dev_key")),
    );
    assert_eq!(d["request"]["method"], "POST");
    assert_eq!(d["request"]["url"], "http://127.0.0.1:49152/callback");
    assert_eq!(
        serde_json::from_str::<Value>(d["request"]["body"].as_str().unwrap()).unwrap(),
        json!({"api_key": "acme_dev_key", "state": STATE})
    );
    assert_eq!(
        d["fallbackUrl"],
        format!("http://127.0.0.1:49152/callback?api_key=acme_dev_key&state={STATE}")
    );

    configure(json!({"keyFormats": [{"id": "acme-dev", "product": "Acme", "label": "developer key", "prefix": "acme_dev_", "charset": "base62", "minLen": 24, "maxLen": 64}]}));
    let d = page_ok(
        op::HANDOFF_DELIVERY,
        args("49152", STATE, Some("manual"), None, Some("acme_dev_0123456789abcdefWXYZ")),
    );
    assert_eq!(
        d,
        json!({"mode": "manual", "masked": "acme_dev_…WXYZ", "pasteText": "acme_dev_0123456789abcdefWXYZ"})
    );
    configure(json!({"keyFormats": []}));

    // A request object the page modified is checked again.
    for port in [
        "80",
        "1023",
        "65536",
        "4000.5",
        "1e4",
        "NaN",
        "-1",
        " 4000",
        "4000@evil.example",
        "evil.example",
        "",
    ] {
        let e = page_err(op::HANDOFF_DELIVERY, args(port, STATE, None, Some("c"), None));
        assert_eq!(e.code(), "invalid_argument", "port {port:?}");
    }
    for state in [
        "short",
        "abcdefghijklmnop/evil",
        "abcdefghijklmnop&port=1",
        "",
    ] {
        let e = page_err(op::HANDOFF_DELIVERY, args("4000", state, None, Some("c"), None));
        assert_eq!(e.code(), "invalid_argument", "state {state:?}");
    }
    assert_eq!(deliver(Some("javascript"), Some("c"), None).0, 'e');
    assert_eq!(deliver(None, None, None).0, 'e');
    assert_eq!(deliver(None, Some("c"), Some("k")).0, 'e');
    assert_eq!(deliver(None, Some(""), None).0, 'e');
}

#[wasm_bindgen_test]
fn handoff_post_outcomes() {
    let outcome = |status: u16, answer: Value| {
        page_with(
            page::op::HANDOFF_POST_OUTCOME,
            &json!([status, JSON]),
            &body(&answer),
        )
    };
    let (tag, text) = outcome(200, json!({"ok": true, "code": "ok"}));
    assert_eq!((tag, parse(text)), ('r', json!({"ok": true, "code": "ok"})));
    let (tag, text) = outcome(400, json!({"ok": false, "code": "state_mismatch"}));
    assert_eq!((tag, PageError(parse(text)).code().to_string()), ('e', "state_mismatch".into()));
    let (tag, text) = outcome(409, json!({"ok": false, "code": "already_completed"}));
    assert_eq!((tag, PageError(parse(text)).code().to_string()), ('e', "rejected".into()));
}

// ── the device-verification page ───────────────────────────────────────────

#[wasm_bindgen_test]
fn user_codes_as_typed() {
    use page::op;
    assert_eq!(
        page_ok(op::USER_CODE_INPUT, json!(["wdjb m"])),
        json!({"display": "WDJB-M", "complete": false, "problem": "the code has 8 characters; 5 entered"})
    );
    assert_eq!(
        page_ok(op::USER_CODE_INPUT, json!(["wdjb-mjht"])),
        json!({"display": "WDJB-MJHT", "complete": true})
    );
    assert_eq!(page_ok(op::NORMALIZE_USER_CODE, json!([" wdjb mjht "])), "WDJB-MJHT");
    assert_eq!(
        page_err(op::NORMALIZE_USER_CODE, json!(["wdjb-mjh1"])).code(),
        "invalid_argument"
    );
    // Only ASCII letters are upper-cased: `ß` is not an `S`.
    assert_eq!(
        page_ok(op::USER_CODE_INPUT, json!(["wdjb-mjhß"])),
        json!({"display": "WDJB-MJHß", "complete": false, "problem": "`ß` (character 8) never appears in a code"})
    );
    let r = page_ok(
        op::DEVICE_APPROVAL_REQUEST,
        json!(["/api/device/approve", "wdjbmjht", false]),
    );
    assert_eq!(r["url"], "/api/device/approve");
    assert_eq!(
        serde_json::from_str::<Value>(r["body"].as_str().unwrap()).unwrap(),
        json!({"user_code": "WDJB-MJHT", "action": "deny"})
    );
}

// ── PKCE, state, keys, JWT ─────────────────────────────────────────────────

#[wasm_bindgen_test]
fn pkce_state_keys_jwt() {
    // RFC 7636 Appendix B.
    let rfc = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    assert_eq!(
        full_with(fop::PKCE_FROM_ENTROPY, json!([]), &rfc).unwrap(),
        json!({"verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "method": "S256"})
    );
    // Random bytes come from JS (crypto.getRandomValues) with the call; without them
    // (no WebCrypto) the answer is `invalid_config`.
    let fresh = full_with(fop::PKCE_CREATE, json!([]), &[1; 32]).unwrap();
    let verifier = fresh["verifier"].as_str().unwrap();
    assert_eq!(verifier.len(), 43);
    assert_ne!(fresh, full_with(fop::PKCE_CREATE, json!([]), &[2; 32]).unwrap());
    for op in [fop::PKCE_CREATE, fop::STATE_CREATE] {
        assert_eq!(code(full(op, json!([])).unwrap_err()), "invalid_config");
        assert_eq!(code(full_with(op, json!([]), &[1; 31]).unwrap_err()), "invalid_config");
    }
    assert_eq!(
        full(fop::PKCE_CHALLENGE, json!([verifier, null])).unwrap(),
        fresh["challenge"]
    );
    assert_eq!(
        full(fop::PKCE_CHALLENGE, json!([verifier, "plain"])).unwrap(),
        verifier
    );
    assert_eq!(
        code(full(fop::PKCE_CHALLENGE, json!([verifier, "S512"])).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(full(fop::PKCE_NEGOTIATE, json!([null, false])).unwrap(), "S256");
    assert_eq!(
        code(full(fop::PKCE_NEGOTIATE, json!([["plain"], false])).unwrap_err()),
        "invalid_config"
    );

    let state = text(full_with(fop::STATE_CREATE, json!([]), &[3; 32]).unwrap());
    assert_eq!(state.len(), 43);
    assert_eq!(full(fop::STATE_CHECK, json!([state])).unwrap(), Value::Null);
    assert_eq!(full(fop::STATE_MATCHES, json!([state, state])).unwrap(), true);
    assert_eq!(full(fop::STATE_MATCHES, json!([state, STATE])).unwrap(), false);
    assert!(full(fop::STATE_CHECK, json!(["<script>alert(1)</script>"])).is_err());

    let formats = json!([{"id": "acme", "product": "Acme", "label": "API key", "prefix": "acme_", "charset": "base62", "minLen": 20, "maxLen": 64}]);
    assert_eq!(full(fop::KEYS_CHECK, json!([formats])).unwrap(), Value::Null);
    assert_eq!(
        code(full(fop::KEYS_CHECK, json!([[{"id": "a"}]])).unwrap_err()),
        "invalid_argument"
    );
    let keys = |op: u32, input: &str| full(op, json!([formats, [], input]));
    assert_eq!(
        keys(fop::KEYS_VALIDATE, " acme_0123456789abcdefghij\n").unwrap(),
        json!({"ok": true, "formatId": "acme", "masked": "acme_…ghij"})
    );
    let e = keys(fop::KEYS_VALIDATE, "Bearer acme_0123456789abcdefghij").unwrap_err();
    assert_eq!(e.problem(), Some("bearer_prefix"));
    assert_eq!(code(e), "invalid_key");
    let d = keys(fop::KEYS_DIAGNOSE, "ghp_0123456789abcdefghijklmnopqrstuvwxyz").unwrap();
    assert_eq!(
        (d["ok"].clone(), d["problem"].clone()),
        (json!(false), json!("foreign_key"))
    );
    assert_eq!(keys(fop::KEYS_MASK, "acme_0123456789abcdefghij").unwrap(), "acme_…ghij");
    // A foreign prefix added by the app is named.
    let d = full(
        fop::KEYS_DIAGNOSE,
        json!([formats, [["Other", "token", "oth_"]], "oth_0123456789abcdefghij"]),
    )
    .unwrap();
    assert_eq!(d["problem"], "foreign_key", "{d}");

    // {"alg":"none"}.{"sub":"u","email":"e@x","exp":1700000000}.
    let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1IiwiZW1haWwiOiJlQHgiLCJleHAiOjE3MDAwMDAwMDB9.";
    assert_eq!(
        full(fop::JWT_DECODE, json!([jwt])).unwrap(),
        json!({"header": {"alg": "none"}, "claims": {"sub": "u", "aud": [], "exp": 1_700_000_000u64}, "extra": {"email": "e@x"}})
    );
    assert_eq!(code(full(fop::JWT_DECODE, json!(["a.b"])).unwrap_err()), "invalid_jwt");
    // The other claims as the token wrote them, by name, a repeated one's last value.
    let b64 = cliauth_core::encoding::b64url_encode;
    let payload = br#"{"z": 1.5e3, "sub": "u", "a": [1, {"b": null}], "scp": ["r", "w"], "a": true, "m": "\u00e9\n"}"#;
    let jwt = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(payload));
    let d = full(fop::JWT_DECODE, json!([jwt])).unwrap();
    assert_eq!(d["extra"], json!({"a": true, "m": "é\n", "z": 1500.0}));
    assert_eq!(d["claims"]["scope"], "r w");
}

// ── machines ───────────────────────────────────────────────────────────────

fn token_body(access: &str, refresh: &str) -> Vec<u8> {
    body(
        &json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh}),
    )
}

const TOKEN_CONFIG: &str =
    r#"{"tokenEndpoint": "https://as.example/token", "clientId": "acme-cli"}"#;

/// A device login stored in a fresh document, then read back as a valid token.
fn device_login_document() -> String {
    let config = json!({
        "deviceAuthorizationEndpoint": "https://as.example/device",
        "tokenEndpoint": "https://as.example/token",
        "clientId": "acme-cli",
        "scopes": ["read", "write"],
        "issuer": "https://as.example",
    });
    let mut m = Machine::device_login(&config, Some(7)).unwrap();
    let s = step(&mut m, T0);
    assert_eq!(s["type"], "send");
    assert_eq!(s["request"]["url"], "https://as.example/device");
    assert_eq!(s["request"]["body"], "client_id=acme-cli&scope=read+write");
    m.handle_response(
        Some(T0),
        200,
        JSON,
        body(&json!({"device_code": "dc", "user_code": "WDJB-MJHT", "verification_uri": "https://as.example/device", "expires_in": 600})),
    );
    assert_eq!(
        step(&mut m, T0),
        json!({"type": "prompt", "userCode": "WDJB-MJHT", "verificationUri": "https://as.example/device", "expiresAt": T + 600_000, "intervalMs": 5000})
    );
    assert_eq!(step(&mut m, T0), json!({"type": "wait", "until": T + 5000}));
    let s = step(&mut m, T0 + 5000.0);
    assert!(
        s["request"]["body"]
            .as_str()
            .unwrap()
            .contains("device_code=dc")
    );
    m.handle_response(
        Some(T0 + 5000.0),
        400,
        JSON,
        body(&json!({"error": "slow_down"})),
    );
    assert_eq!(
        step(&mut m, T0 + 5000.0),
        json!({"type": "wait", "until": T + 15_000})
    );
    assert_eq!(step(&mut m, T0 + 15_000.0)["type"], "send");
    m.handle_response(Some(T0 + 15_000.0), 200, JSON, token_body("at-1", "rt-1"));
    assert_eq!(
        m.stats(),
        json!({"polls": 2, "pending": 0, "slowDowns": 1, "failures": 0})
    );
    assert_eq!(step(&mut m, T0 + 15_000.0), json!({"type": "read_storage"}));
    m.handle_stored(Some(T0 + 15_000.0), None);
    let s = step(&mut m, T0 + 15_000.0);
    assert_eq!(s["type"], "persist");
    let document = s["document"].as_str().unwrap().to_string();
    let doc: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(doc["active_profile"], "default");
    assert_eq!(doc["profiles"]["default"]["method"], "device");
    assert_eq!(doc["profiles"]["default"]["issuer"], "https://as.example");
    assert_eq!(
        doc["profiles"]["default"]["credential"]["refresh_token"],
        "rt-1"
    );
    m.handle_persisted();
    let done = step(&mut m, T0 + 15_000.0);
    // The token answer names no scope: the one requested was granted (RFC 6749 §5.1).
    assert_eq!(
        done,
        json!({"type": "done", "value": {"kind": "oauth", "accessToken": "at-1", "tokenType": "Bearer", "expiresAt": T + 15_000 + 3_600_000, "refreshable": true, "obtainedAt": T + 15_000, "scope": "read write"}})
    );
    assert_eq!(step(&mut m, T0 + 15_000.0), json!({"type": "finished"}));
    // The counters outlive the polling.
    assert_eq!(
        m.stats(),
        json!({"polls": 2, "pending": 0, "slowDowns": 1, "failures": 0})
    );
    document
}

#[wasm_bindgen_test]
fn device_login_then_refresh_with_rotation() {
    let document = device_login_document();
    let later = T0 + 15_000.0;

    // Still valid: no request, the stored token is returned.
    let mut m = Machine::access_token(TOKEN_CONFIG, Some(1)).unwrap();
    assert_eq!(step(&mut m, later), json!({"type": "read_storage"}));
    m.handle_stored(Some(later), Some(document.clone()));
    let done = step(&mut m, later);
    assert_eq!(
        (
            done["value"]["accessToken"].clone(),
            done["value"]["refreshed"].clone()
        ),
        (json!("at-1"), json!(false))
    );

    // Within the refresh margin: refresh, persist the rotated token, then hand it out.
    let due = later + 3_600_000.0 - 60_000.0;
    let mut m = Machine::access_token(TOKEN_CONFIG, Some(1)).unwrap();
    assert_eq!(step(&mut m, due)["type"], "read_storage");
    m.handle_stored(Some(due), Some(document.clone()));
    let s = step(&mut m, due);
    assert_eq!(s["request"]["url"], "https://as.example/token");
    assert_eq!(
        s["request"]["body"],
        "grant_type=refresh_token&refresh_token=rt-1&client_id=acme-cli"
    );
    m.handle_response(Some(due), 200, JSON, token_body("at-2", "rt-2"));
    let s = step(&mut m, due);
    assert_eq!(s["type"], "persist");
    let rotated: Value = serde_json::from_str(s["document"].as_str().unwrap()).unwrap();
    assert_eq!(
        rotated["profiles"]["default"]["credential"]["refresh_token"],
        "rt-2"
    );
    assert_eq!(rotated["profiles"]["default"]["method"], "device");
    // Nothing is handed out before the write is acknowledged.
    m.handle_persisted();
    let done = step(&mut m, due);
    assert_eq!(
        (
            done["value"]["accessToken"].clone(),
            done["value"]["refreshed"].clone()
        ),
        (json!("at-2"), json!(true))
    );

    // invalid_grant: storage is re-read; the same refused token means the session ended.
    let mut m = Machine::access_token(TOKEN_CONFIG, Some(1)).unwrap();
    step(&mut m, due);
    m.handle_stored(Some(due), Some(document.clone()));
    step(&mut m, due);
    m.handle_response(
        Some(due),
        400,
        JSON,
        body(&json!({"error": "invalid_grant"})),
    );
    assert_eq!(step(&mut m, due), json!({"type": "read_storage"}));
    m.handle_stored(Some(due), Some(document.clone()));
    assert_eq!(code(m.poll(Some(due)).unwrap_err()), "session_expired");

    // Another server's profile is never used.
    let mut m = Machine::access_token(
        r#"{"tokenEndpoint": "https://other.example/token", "clientId": "c", "issuer": "https://other.example"}"#,
        None,
    )
    .unwrap();
    step(&mut m, later);
    m.handle_stored(Some(later), Some(document));
    assert_eq!(
        code(m.poll(Some(later)).unwrap_err()),
        "profile_server_mismatch"
    );

    // Nothing stored.
    let mut m = Machine::access_token(TOKEN_CONFIG, None).unwrap();
    step(&mut m, later);
    m.handle_stored(Some(later), None);
    assert_eq!(code(m.poll(Some(later)).unwrap_err()), "not_authenticated");
}

#[wasm_bindgen_test]
fn api_key_profiles_and_status() {
    configure(json!({"cli": "acme", "product": "Acme", "keyFormats": [{"id": "acme", "product": "Acme", "label": "API key", "prefix": "acme_", "charset": "base62", "minLen": 20, "maxLen": 64}]}));
    let add = |doc: Option<&str>, key: &str| full(fop::CREDENTIALS_ADD_API_KEY, json!([doc, "ci", key, T]));
    let e = add(None, "Bearer acme_0123456789abcdefghij").unwrap_err();
    assert_eq!(e.problem(), Some("bearer_prefix"));
    let doc = text(add(None, "acme_0123456789abcdefghij").unwrap());
    let mut m = Machine::access_token(TOKEN_CONFIG, None).unwrap();
    step(&mut m, T0);
    m.handle_stored(Some(T0), Some(doc.clone()));
    assert_eq!(
        step(&mut m, T0),
        json!({"type": "done", "value": {"kind": "api_key", "accessToken": "acme_0123456789abcdefghij"}})
    );
    let status = full(fop::CREDENTIALS_STATUS, json!([doc, null, T])).unwrap();
    assert_eq!(status["masked_key"], "acme_…ghij");
    assert_eq!(status["source"], "profile:ci");
    assert!(
        text(full(fop::CREDENTIALS_STATUS_TEXT, json!([doc, null, T])).unwrap())
            .starts_with("✓ Logged in to Acme")
    );
    let profiles = |doc: &str| full(fop::CREDENTIALS_PROFILES, json!([doc]));
    assert_eq!(
        profiles(&doc).unwrap(),
        json!({"activeProfile": "ci", "profiles": {"ci": {"method": "api_key", "credentialType": "api_key"}}})
    );
    let empty = text(full(fop::CREDENTIALS_REMOVE, json!([doc, null, T])).unwrap());
    assert_eq!(profiles(&empty).unwrap(), json!({"profiles": {}}));
    let switch = |doc: &str, profile: &str| full(fop::CREDENTIALS_SWITCH, json!([doc, profile]));
    assert_eq!(code(switch(&doc, "nope").unwrap_err()), "profile_not_found");
    assert_eq!(code(profiles("{\"version\": 99}").unwrap_err()), "unsupported_version");
    assert_eq!(code(profiles("").unwrap_err()), "corrupt_credentials");
    // Nothing stored is an empty document.
    assert_eq!(
        full(fop::CREDENTIALS_PROFILES, json!([null])).unwrap(),
        json!({"profiles": {}})
    );
    // A document a newer release wrote: its profiles of an unknown type are listed as
    // skipped, kept byte for byte by every change, and removed only when named.
    let newer = include_str!("../../../tests/fixtures/credentials-1.1.json").to_string();
    let listed = profiles(&newer).unwrap();
    assert_eq!(
        listed["skipped"]["next"],
        "Profile `next` was stored by a newer version (credential type `passkey`); it is kept unchanged and not used."
    );
    assert_eq!(listed["profiles"].as_object().unwrap().len(), 2, "{listed}");
    let switched = text(switch(&newer, "work").unwrap());
    let next = "\"next\": {";
    let raw_next = &newer[newer.find(next).unwrap()..];
    let raw_next = &raw_next[..raw_next.find("\n    }").unwrap()];
    assert!(switched.contains(raw_next), "the unknown profile changed");
    let removed = text(full(fop::CREDENTIALS_REMOVE, json!([switched, "next", T])).unwrap());
    assert!(!removed.contains("passkey") && removed.contains("\"hw\""));
    configure(json!({"cli": "cli", "product": "service", "keyFormats": []}));
}

#[wasm_bindgen_test]
fn browser_login_code_and_pkce() {
    let config = json!({
        "authorizationEndpoint": "https://as.example/authorize",
        "tokenEndpoint": "https://as.example/token",
        "clientId": "web",
        "scopes": ["openid"],
        "params": [["prompt", "consent"], ["state", "ignored"]],
        "issuer": "https://as.example",
    });
    let start_with = |entropy: &[u8]| {
        full_with(
            fop::AUTHORIZATION_START,
            json!([config, "https://app.example/callback", T, true]),
            entropy,
        )
    };
    let start = start_with(&[vec![7; 64], vec![11; 32]].concat()).unwrap();
    let state = start["state"].as_str().unwrap();
    let url = start["url"].as_str().unwrap();
    assert!(url.starts_with("https://as.example/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&scope=openid&state="));
    // `openid`: a nonce from bytes 64..96 of the entropy, not from the verifier's.
    assert!(url.ends_with(&format!(
        "&code_challenge_method=S256&nonce={}&prompt=consent",
        "CwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCws"
    )));
    assert_eq!(code(start_with(&[7; 64]).unwrap_err()), "invalid_argument");
    // Without entropy given, JS draws 96 bytes from crypto.getRandomValues; none
    // (no WebCrypto) is `invalid_config`.
    let drawn = |random: &[u8]| {
        full_with(
            fop::AUTHORIZATION_START,
            json!([config, "https://app.example/callback", T, false]),
            random,
        )
    };
    assert_ne!(drawn(&[5; 96]).unwrap()["state"], start["state"]);
    assert_eq!(code(drawn(&[]).unwrap_err()), "invalid_config");
    let pending = start["pending"].as_str().unwrap();

    // A forged callback, another issuer, an expired login: refused before any request.
    let forged = Machine::browser_login(&config, pending, "code=abc&state=forged", T0, None);
    assert_eq!(code(forged.err().unwrap()), "state_mismatch");
    let mixed = Machine::browser_login(
        &config,
        pending,
        &format!("code=abc&state={state}&iss=https%3A%2F%2Fevil.example"),
        T0,
        None,
    );
    assert_eq!(code(mixed.err().unwrap()), "issuer_mismatch");
    let late = Machine::browser_login(
        &config,
        pending,
        &format!("code=abc&state={state}"),
        T0 + 301_000.0,
        None,
    );
    assert_eq!(code(late.err().unwrap()), "authorization_expired");
    let denied = Machine::browser_login(
        &config,
        pending,
        &format!("error=access_denied&state={state}"),
        T0,
        None,
    );
    assert_eq!(code(denied.err().unwrap()), "access_denied");
    assert_eq!(
        code(
            Machine::browser_login(&config, "{}", "code=abc", T0, None)
                .err()
                .unwrap()
        ),
        "invalid_argument"
    );

    let query = format!("code=abc&state={state}&iss=https%3A%2F%2Fas.example");
    let grant = full(fop::AUTHORIZATION_COMPLETE, json!([config, pending, query, T])).unwrap();
    let mut m =
        Machine::browser_login(&config, pending, &query, T0 + 1000.0, Some(3)).unwrap();
    let s = step(&mut m, T0 + 1000.0);
    assert_eq!(
        s["request"]["body"],
        format!(
            "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback&client_id=web&code_verifier={}",
            grant["verifier"].as_str().unwrap()
        )
    );
    // The token request is not replayed after an unknown outcome…
    m.handle_transport_error(Some(T0 + 1000.0), false, "connection reset");
    assert_eq!(
        code(m.poll(Some(T0 + 1000.0)).unwrap_err()),
        "network_error"
    );
    // …but it is when it provably was not sent.
    let mut m =
        Machine::browser_login(&config, pending, &query, T0 + 1000.0, Some(3)).unwrap();
    step(&mut m, T0 + 1000.0);
    m.handle_transport_error(Some(T0 + 1000.0), true, "connection refused");
    let s = step(&mut m, T0 + 1000.0);
    assert_eq!(s["type"], "wait");
    let retry_at = s["until"].as_f64().unwrap();
    assert_eq!(step(&mut m, retry_at)["type"], "send");
    m.handle_response(Some(retry_at), 200, JSON, token_body("at-web", "rt-web"));
    assert_eq!(step(&mut m, retry_at)["type"], "read_storage");
    m.handle_stored(Some(retry_at), None);
    let s = step(&mut m, retry_at);
    let doc: Value = serde_json::from_str(s["document"].as_str().unwrap()).unwrap();
    assert_eq!(doc["profiles"]["default"]["method"], "browser");
    m.handle_persisted();
    assert_eq!(step(&mut m, retry_at)["value"]["accessToken"], "at-web");

    // OpenID Connect Core §3.1.3.7: the ID token must carry the nonce that was sent.
    let nonce = grant["nonce"].as_str().unwrap().to_string();
    let id_token = |claims: Value| {
        let b64 = cliauth_core::encoding::b64url_encode;
        format!("{}.{}.c2ln", b64(br#"{"alg":"RS256"}"#), b64(claims.to_string().as_bytes()))
    };
    for (claims, accepted) in [
        (json!({"sub": "u", "nonce": nonce}), true),
        (json!({"sub": "u", "nonce": "another-logins-nonce-0123456789abcdefghijkl"}), false),
        (json!({"sub": "u"}), false),
    ] {
        let mut m = Machine::browser_login(&config, pending, &query, T0, None).unwrap();
        step(&mut m, T0);
        m.handle_response(
            Some(T0),
            200,
            JSON,
            body(&json!({"access_token": "at-oidc", "token_type": "Bearer", "id_token": id_token(claims.clone())})),
        );
        match m.poll(Some(T0)) {
            Ok(s) if accepted => assert_eq!(s["type"], "read_storage", "{claims}"),
            Err(e) if !accepted => assert_eq!(code(e), "nonce_mismatch", "{claims}"),
            other => panic!("{claims}: {:?}", other.map_err(code)),
        }
    }

    // An OAuth error from the token endpoint.
    let mut m = Machine::browser_login(&config, pending, &query, T0, None).unwrap();
    step(&mut m, T0);
    m.handle_response(
        Some(T0),
        400,
        JSON,
        body(&json!({"error": "invalid_grant", "error_description": "code used"})),
    );
    let e = m.poll(Some(T0)).unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            "authorization_failed",
            "Authorization failed: invalid_grant: code used"
        )
    );
}

#[wasm_bindgen_test]
fn machines_report_misuse_and_cancellation() {
    let mut m = Machine::device_flow(
        &body(&json!({"device_code": "dc", "user_code": "WDJB-MJHT", "verification_uri": "https://as.example/device", "expires_in": 600, "interval": 1})),
        "https://as.example/token",
        "cli",
        T0,
        Some(0),
    )
    .unwrap();
    assert_eq!(step(&mut m, T0)["type"], "prompt");
    // A response nobody asked for ends the flow instead of corrupting it.
    m.handle_response(Some(T0), 200, JSON, token_body("a", "r"));
    assert_eq!(code(m.poll(Some(T0)).unwrap_err()), "misuse");

    let mut m = Machine::device_flow(
        &body(&json!({"device_code": "dc", "user_code": "WDJB-MJHT", "verification_uri": "https://as.example/device", "expires_in": 600})),
        "https://as.example/token",
        "cli",
        T0,
        Some(0),
    )
    .unwrap();
    step(&mut m, T0);
    m.cancel();
    assert_eq!(code(m.poll(Some(T0)).unwrap_err()), "cancelled");
    assert_eq!(step(&mut m, T0), json!({"type": "finished"}));

    // An insecure verification URI is refused.
    let bad = Machine::device_flow(
        &body(
            &json!({"device_code": "dc", "user_code": "X", "verification_uri": "http://evil.example/device", "expires_in": 600}),
        ),
        "https://as.example/token",
        "cli",
        T0,
        None,
    );
    assert_eq!(code(bad.err().unwrap()), "protocol_error");
}

#[wasm_bindgen_test]
fn token_responses_parse() {
    let token_parse = |status: u16, headers: &str, body: Vec<u8>| {
        full_with(fop::TOKEN_PARSE, json!([status, headers, T]), &body)
    };
    assert_eq!(
        token_parse(200, JSON, token_body("a", "r")).unwrap(),
        json!({"tokens": {"accessToken": "a", "tokenType": "Bearer", "expiresInMs": 3_600_000u64, "refreshToken": "r"}})
    );
    assert_eq!(
        token_parse(400, JSON, body(&json!({"error": "authorization_pending"}))).unwrap(),
        json!({"oauthError": {"error": "authorization_pending"}})
    );
    let e = token_parse(200, "content-type: text/html", b"<html>".to_vec()).unwrap_err();
    assert_eq!(code(e), "protocol_error");
}
