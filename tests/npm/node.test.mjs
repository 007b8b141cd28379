// The built package (npm/dist) in Node.js, through its public API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

import { describeOutcome, vectorFiles } from './common.mjs';
import { runVectors, VECTOR_FILES } from './vectors.mjs';

const page = await import('../../npm/dist/node.js');
const full = await import('../../npm/dist/full-node.js');

const STATE = 'abcdefghijklmnopqrstuvwxyz012345';

test('the shared vectors pass through the public API of cliauth/full', async () => {
  const files = vectorFiles();
  assert.deepEqual(Object.keys(files).sort(), [...VECTOR_FILES].sort(), 'a vector file has no JS runner');
  const outcome = await runVectors(full, files);
  describeOutcome('node (npm/dist)', outcome);
  assert.deepEqual(outcome.failures, []);
  assert.ok(outcome.cases >= 200, `only ${outcome.cases} cases ran`);
});

test('the page entry runs the page vectors (handoff, user codes, API errors)', async () => {
  // The page module is its own wasm build (no serde_json, its own option reader):
  // the vectors of what it offers run through it too, not only through cliauth/full.
  const page_files = ['http_errors', 'user_codes', 'handoff'];
  const outcome = await runVectors(page, vectorFiles(), { only: page_files });
  describeOutcome('node (npm/dist, page entry)', outcome);
  assert.deepEqual(outcome.failures, []);
  assert.deepEqual(Object.keys(outcome.perFile).sort(), [...page_files].sort());
  assert.ok(outcome.cases >= 50, `only ${outcome.cases} cases ran`);
});

// The per-page modules: the browser entries, instantiated from their wasm bytes (Node
// has no fetch of file: URLs). Each is its own wasm build with only its page's
// operations; the vectors of what it offers run through it.
async function pageModule(entry, wasm) {
  const mod = await import(`../../npm/dist/${entry}`);
  await mod.default(readFileSync(new URL(`../../npm/dist/${wasm}`, import.meta.url)));
  return mod;
}

// cliauth/handoff/inline: the same helpers, the module inside the script. Its `init()`
// fetches nothing (Node's fetch cannot read the file URL a fetch would use), decodes
// the embedded module with the fallback decoder (Node 20 has no Uint8Array.fromBase64)
// and returns one promise however often it is called.
async function inlineModule() {
  const mod = await import('../../npm/dist/handoff-inline.js');
  const script = readFileSync(new URL('../../npm/dist/handoff-inline.js', import.meta.url), 'utf8');
  const wasm = readFileSync(new URL('../../npm/dist/cliauth_handoff_bg.wasm', import.meta.url));
  assert.ok(script.includes(wasm.toString('base64')), 'the script embeds the cli-auth page module as it is shipped');
  const ready = mod.default();
  assert.equal(mod.default(), ready);
  await ready;
  return mod;
}

for (const [name, load] of [
  ['cliauth/handoff', () => pageModule('handoff.js', 'cliauth_handoff_bg.wasm')],
  ['cliauth/handoff/inline', inlineModule],
]) {
test(`${name}: only the cli-auth page helpers, and its module runs the handoff vectors`, async () => {
  const handoff = await load();
  assert.deepEqual(Object.keys(handoff).sort(), [
    'CliauthError',
    'configure',
    'default',
    'deliverHandoff',
    'handoffRedirectUrl',
    'readHandoffRequest',
  ]);
  const outcome = await runVectors(handoff, vectorFiles(), { only: ['handoff'] });
  describeOutcome(`node (npm/dist, ${name})`, outcome);
  assert.deepEqual(outcome.failures, []);
  assert.deepEqual(Object.keys(outcome.perFile), ['handoff']);
  assert.ok(outcome.cases >= 20, `only ${outcome.cases} cases ran`);
  // Errors are typed by the same core as the CLI's.
  assert.throws(
    () => handoff.readHandoffRequest('https://app.example/cli-auth?port=80&state=x'),
    (e) => e instanceof handoff.CliauthError && e.code === 'invalid_argument' && e.exitCode === 1,
  );
  assert.throws(() => handoff.configure({ cli: 7 }), (e) => e instanceof handoff.CliauthError);
  // The options every module checks, even those it does not keep (user codes here).
  assert.throws(() => handoff.configure({ userCode: { length: 0 } }), (e) => e.code === 'invalid_argument');
});
}

test('cliauth/device: only the device page helpers, and its module runs the user-code and API-error vectors', async () => {
  const device = await pageModule('device.js', 'cliauth_device_bg.wasm');
  assert.deepEqual(Object.keys(device).sort(), [
    'CliauthError',
    'apiError',
    'approveDevice',
    'checkResponse',
    'configure',
    'default',
    'normalizeUserCode',
    'userCodeInput',
  ]);
  const files = ['http_errors', 'user_codes'];
  const outcome = await runVectors(device, vectorFiles(), { only: files });
  describeOutcome('node (npm/dist, cliauth/device)', outcome);
  assert.deepEqual(outcome.failures, []);
  assert.deepEqual(Object.keys(outcome.perFile).sort(), files);
  assert.ok(outcome.cases >= 30, `only ${outcome.cases} cases ran`);
  // The key formats are checked here too, though this module masks no key.
  assert.throws(() => device.configure({ keyFormats: 'x' }), (e) => e.code === 'invalid_argument');
  assert.throws(() => device.configure({ keyFormats: [{ id: 'a' }] }), (e) => e.code === 'invalid_argument');
  device.configure({ userCode: { charset: 'ABC', length: 4, group: 2 } });
  assert.deepEqual(device.userCodeInput('abca'), { display: 'AB-CA', complete: true });
  const limited = device.apiError({ status: 429, headers: { 'retry-after': '7' }, body: '{}' }, 0);
  assert.equal(limited.code, 'rate_limited');
  assert.equal(limited.exitCode, 4);
  assert.equal(limited.retryAfterMs, 7000);
});

test('the page entry: options are checked, user codes are ASCII-only upper-cased', () => {
  for (const bad of [
    { cli: 5 },
    { userCode: { length: 1.5 } },
    { userCode: { length: 65 } },
    { keyFormats: {} },
    { keyFormats: [{ id: 'a', product: 'A', label: 'key', charset: 'base62', prefix: 'a_', minLen: 1e21, maxLen: 9 }] },
    { cli: 'changed', keyFormats: [{ id: 'a', product: 'A' }] },
  ]) {
    assert.throws(() => page.configure(bad), (e) => e instanceof page.CliauthError && e.code === 'invalid_argument', JSON.stringify(bad));
  }
  // Nothing of a refused call was applied.
  assert.throws(() => page.readHandoffRequest('https://app.example/cli-auth'), (e) => e.hint === 'See `cli --help`.');
  // `ß` (and `ſ`, `ı`) upper-case to ASCII letters in Unicode, but are not code characters.
  assert.deepEqual(page.userCodeInput('wdjb-mjhß'), {
    display: 'WDJB-MJHß',
    complete: false,
    problem: '`ß` (character 8) never appears in a code',
  });
  assert.throws(() => page.normalizeUserCode('ſdjb-mjht'), (e) => e.code === 'invalid_argument');
  assert.equal(page.normalizeUserCode('wdjb-mjht'), 'WDJB-MJHT');
  // A custom code format from configure.
  page.configure({ userCode: { charset: 'ABC', length: 4, group: 2 } });
  assert.equal(page.normalizeUserCode('abca'), 'AB-CA');
  page.configure({ userCode: {} });
  assert.equal(page.normalizeUserCode('wdjbmjht'), 'WDJB-MJHT');
});

test('the page entry has the fixed contract and typed errors', async () => {
  await page.default();
  for (const name of ['readHandoffRequest', 'deliverHandoff', 'handoffRedirectUrl', 'normalizeUserCode', 'userCodeInput', 'approveDevice', 'configure', 'CliauthError']) {
    assert.equal(typeof page[name], 'function', name);
  }
  const request = page.readHandoffRequest(`https://app.example/cli-auth?port=49152&state=${STATE}&mode=post&accept=api_key`);
  assert.deepEqual(request, { port: 49152, state: STATE, mode: 'post', acceptsApiKey: true, callbackUrl: 'http://127.0.0.1:49152/callback' });
  let error;
  try {
    page.readHandoffRequest(`https://app.example/cli-auth?port=65536&state=${STATE}`);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof page.CliauthError && error instanceof full.CliauthError && error instanceof Error);
  assert.deepEqual(
    { name: error.name, code: error.code, kind: error.kind, exitCode: error.exitCode, hint: error.hint, message: error.message },
    { name: 'CliauthError', code: 'invalid_argument', kind: 'usage', exitCode: 1, hint: 'See `cli --help`.', message: 'Invalid port: must be between 1024 and 65535' },
  );
  page.configure({ cli: 'acme', product: 'Acme' });
  try {
    page.readHandoffRequest('https://app.example/cli-auth?port=4000');
  } catch (e) {
    assert.equal(e.hint, 'See `acme --help`.');
  }
  page.configure({ cli: 'cli', product: 'service' });
  // The manual fallback masks with the configured formats.
  page.configure({ keyFormats: [{ id: 'acme', product: 'Acme', label: 'key', prefix: 'acme_', charset: 'base62', minLen: 20, maxLen: 64 }] });
  assert.deepEqual(
    await page.deliverHandoff(request, { apiKey: 'acme_0123456789abcdefWXYZ' }, { mode: 'manual' }),
    { masked: 'acme_…WXYZ', pasteText: 'acme_0123456789abcdefWXYZ' },
  );
  page.configure({ keyFormats: [] });
});

test('a modified request object cannot send anywhere but the loopback callback', async () => {
  const good = page.readHandoffRequest(`https://app.example/cli-auth?port=49152&state=${STATE}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`);
  const attempts = [
    { ...good, port: 80 },
    { ...good, port: 65536 },
    { ...good, port: '4000@evil.example' },
    { ...good, port: 4000.5 },
    { ...good, port: 'NaN' },
    { ...good, state: 'x/../evil' },
    { ...good, state: `${STATE}&port=1` },
    { ...good, mode: 'javascript' },
    {},
  ];
  for (const r of attempts) {
    await assert.rejects(page.deliverHandoff(r, { code: 'c' }, { mode: 'post' }), (e) => e.code === 'invalid_argument', JSON.stringify(r));
    assert.throws(() => page.handoffRedirectUrl(r, { code: 'c' }), (e) => e.code === 'invalid_argument');
  }
  // callbackUrl is informational: deliveries rebuild the target from port and state.
  const url = page.handoffRedirectUrl({ ...good, callbackUrl: 'https://evil.example/steal' }, { code: 'c' });
  assert.equal(url, `http://127.0.0.1:49152/callback?code=c&state=${STATE}`);
  for (const credential of [{}, { code: '' }, { code: 'a', apiKey: 'b' }, null]) {
    assert.throws(() => page.handoffRedirectUrl(good, credential), (e) => e.code === 'invalid_argument');
  }
});

/** A small HTTP server answering with `handler(req, body)` → [status, headers, body]. */
async function server(handler) {
  const seen = [];
  const s = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    const [status, headers, out] = handler(req, body, seen.length);
    res.writeHead(status, headers);
    res.end(out);
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { url: `http://127.0.0.1:${s.address().port}`, seen, close: () => s.close() };
}

test('approveDevice posts the normalised code and maps the answer', async () => {
  const s = await server((req, body) => {
    const { user_code } = JSON.parse(body);
    return user_code === 'WDJB-MJHT' ? [204, {}, ''] : [404, { 'content-type': 'application/json' }, '{"detail":"unknown code"}'];
  });
  try {
    await page.approveDevice(`${s.url}/api/device/approve`, 'wdjb mjht', true);
    assert.deepEqual(JSON.parse(s.seen[0].body), { user_code: 'WDJB-MJHT', action: 'approve' });
    assert.equal(s.seen[0].headers['content-type'], 'application/json');
    await assert.rejects(page.approveDevice(`${s.url}/api/device/approve`, 'BCDF-GHJK', false), (e) => e.code === 'not_found' && e.exitCode === 5);
    await assert.rejects(page.approveDevice(`${s.url}/x`, 'nope', true), (e) => e.code === 'invalid_argument');
    await assert.rejects(page.approveDevice(`${s.url}/x`, 'WDJB-MJHT', 'yes'), (e) => e.code === 'invalid_argument');
    assert.equal(s.seen.length, 2, 'invalid input must not be sent');
  } finally {
    s.close();
  }
});

test('approveDevice maps 401, 403 and 429 (with an HTTP-date Retry-After) like the CLI', async () => {
  const retryAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 120_000).toUTCString();
  const answers = [
    [401, { 'www-authenticate': 'Bearer error="invalid_token", error_description="session ended"' }, ''],
    [403, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="devices:approve"' }, ''],
    [429, { 'retry-after': retryAt, 'ratelimit-policy': '"device:approve";q=10;w=60' }, '{"detail": "slow down"}'],
    [503, {}, ''],
  ];
  const s = await server((req, body, n) => answers[n - 1]);
  try {
    const errorOf = async () => {
      try {
        await page.approveDevice(`${s.url}/approve`, 'WDJB-MJHT', true);
      } catch (e) {
        return e;
      }
      throw new Error('expected a rejection');
    };
    let e = await errorOf();
    assert.deepEqual([e.code, e.exitCode, e.message], ['unauthorized', 2, 'Authentication failed: session ended']);
    e = await errorOf();
    assert.equal(e.code, 'insufficient_permissions');
    assert.match(e.hint, /`devices:approve` scope/);
    e = await errorOf();
    assert.deepEqual([e.code, e.exitCode, e.message], ['rate_limited', 4, 'Rate limited: device:approve (10/min)']);
    assert.ok(e.retryAfterMs > 100_000 && e.retryAfterMs <= 121_000, String(e.retryAfterMs));
    e = await errorOf();
    assert.deepEqual([e.code, e.exitCode], ['server_error', 3]);
    // apiError and checkResponse stay in the page entry.
    assert.equal(page.apiError({ status: 404, headers: { 'content-type': 'application/json' }, body: '{"detail":"no such code"}' }).message, 'Not found: no such code');
    assert.equal(page.apiError({ status: 204 }), undefined);
  } finally {
    s.close();
  }
});

test('getAccessToken refreshes through fetch, persists the rotation, and keeps single flight', async () => {
  let refreshes = 0;
  const s = await server((req, body) => {
    refreshes += 1;
    const form = new URLSearchParams(body);
    assert.equal(form.get('grant_type'), 'refresh_token');
    return [200, { 'content-type': 'application/json' }, JSON.stringify({ access_token: `at-${refreshes + 1}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${refreshes + 1}` })];
  });
  try {
    const now = Math.floor(Date.now() / 1000);
    const doc = {
      version: 1,
      active_profile: 'default',
      profiles: {
        default: {
          method: 'browser',
          created_at: now,
          // An hour-long token with 30 s left: due for refresh (core shortens the
          // refresh margin only for short-lived tokens).
          credential: { type: 'oauth', access_token: 'at-1', token_type: 'Bearer', expires_at: now + 30, refresh_token: 'rt-1', obtained_at: now - 3570 },
        },
      },
    };
    const store = full.memoryStore(JSON.stringify(doc));
    const config = { tokenEndpoint: `${s.url}/token`, clientId: 'acme-cli' };
    const [a, b] = await Promise.all([full.getAccessToken(config, { store }), full.getAccessToken(config, { store })]);
    assert.equal(refreshes, 1, 'two concurrent calls, one refresh');
    assert.equal(a.accessToken, 'at-2');
    assert.equal(b, a);
    assert.equal(a.refreshed, true);
    assert.equal(JSON.parse(store.read()).profiles.default.credential.refresh_token, 'rt-2');
    const again = await full.getAccessToken(config, { store });
    assert.deepEqual([again.accessToken, again.refreshed, refreshes], ['at-2', false, 1]);
    const forced = await full.getAccessToken(config, { store, force: true });
    assert.deepEqual([forced.accessToken, refreshes], ['at-3', 2]);
    const status = await full.credentials.status(store);
    assert.deepEqual([status.authenticated, status.token_status, status.refreshable], [true, 'valid', true]);
    await full.credentials.logout(store);
    await assert.rejects(full.getAccessToken(config, { store }), (e) => e.code === 'not_authenticated' && e.exitCode === 2);
  } finally {
    s.close();
  }
});

test('a refused connection is "not sent": the token request is retried, then reported', async () => {
  const s = await server(() => [200, {}, '']);
  const port = new URL(s.url).port;
  s.close();
  const now = Math.floor(Date.now() / 1000);
  const doc = { version: 1, active_profile: 'p', profiles: { p: { method: 'device', created_at: now, credential: { type: 'oauth', access_token: 'a', expires_at: now - 10, refresh_token: 'r' } } } };
  const started = Date.now();
  await assert.rejects(
    full.getAccessToken({ tokenEndpoint: `http://127.0.0.1:${port}/token`, clientId: 'c' }, { store: full.memoryStore(JSON.stringify(doc)) }),
    (e) => e.code === 'network_error' && e.message === 'Network error: request failed (ECONNREFUSED)',
  );
  // core's retry policy: 4 attempts with backoff (0.5 s, 1 s, 2 s; half jittered).
  assert.ok(Date.now() - started >= 1500, 'the refused request was not retried');
});

test('an aborted device login ends with cancelled', async () => {
  const s = await server((req) =>
    req.url === '/device'
      ? [200, { 'content-type': 'application/json' }, JSON.stringify({ device_code: 'dc', user_code: 'WDJB-MJHT', verification_uri: 'https://as.example/device', expires_in: 600, interval: 1 })]
      : [400, { 'content-type': 'application/json' }, '{"error":"authorization_pending"}'],
  );
  try {
    const controller = new AbortController();
    const login = await full.startDeviceLogin(
      { deviceAuthorizationEndpoint: `${s.url}/device`, tokenEndpoint: `${s.url}/token`, clientId: 'c', store: false },
      { signal: controller.signal },
    );
    assert.equal(login.userCode, 'WDJB-MJHT');
    assert.equal(login.intervalMs, 1000);
    setTimeout(() => controller.abort(), 1500);
    await assert.rejects(login.done, (e) => e.code === 'cancelled' && e.exitCode === 130);
    assert.ok(s.seen.filter((r) => r.url === '/token').length >= 1);
  } finally {
    s.close();
  }
});
