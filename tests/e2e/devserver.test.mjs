// democli against the real cliauth-devserver, in a real Chromium: the browser login
// (code + PKCE through the loopback server), the cli-auth handoff from a public
// origin, the device flow, and the failure paths. Each test ends with the secret
// scan (harness.mjs, scan.mjs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  JSON_MODE, LAUNCH_LINK, scenario, loginOutcome, lastJson, reportedError, mode,
} from './lib/harness.mjs';

/** Asserts the stored profile and returns it. */
function storedProfile(s, { type, method }) {
  const doc = s.credentials();
  assert.ok(doc, 'credentials.json exists');
  const profile = doc.profiles[doc.active_profile];
  assert.equal(profile.credential.type, type);
  assert.equal(profile.method, method);
  return profile;
}

/** Asserts the file and directory modes of the credentials store. */
function assertPrivate(s) {
  assert.equal(mode(path.join(s.home, 'credentials.json')), 0o600, 'credentials.json is 0600');
  assert.equal(mode(s.home), 0o700, 'DEMO_HOME is 0700');
}

/** `democli whoami` succeeds as the demo user. */
async function assertWhoami(s, server, credential) {
  const r = await s.run(server, ['whoami']);
  assert.equal(r.code, 0, r.stderr);
  if (JSON_MODE) {
    const me = lastJson(r.stdout);
    assert.equal(me.sub, 'user_demo');
    assert.equal(me.credential, credential);
  } else {
    assert.match(r.stderr, /^✓ Signed in as user_demo \(Demo User <demo@cliauth\.test>\)$/m);
  }
}

/** Asserts that no credential is stored. */
function assertNothingStored(s) {
  assert.equal(fs.existsSync(path.join(s.home, 'credentials.json')), false, 'nothing is stored');
}

/** Asserts a failure: exit code, message and hint (✗ lines or the JSON envelope). */
function assertFailure(r, { code, message, hint, errorCode }) {
  assert.equal(r.code, code, `exit code\n${r.stderr}\n${r.stdout}`);
  const e = reportedError(r);
  assert.equal(e.message, message);
  assert.equal(e.hint, hint);
  if (JSON_MODE && errorCode) {
    assert.equal(e.code, errorCode);
  }
  if (!JSON_MODE) {
    assert.match(r.stderr, new RegExp(`^✗ ${escape(message)}\n  ${escape(hint)}$`, 'm'));
  }
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Parses an authorization URL democli opened. */
function authorizeParams(url, server) {
  const u = new URL(url);
  assert.equal(u.origin + u.pathname, `${server.url}/authorize`);
  const p = Object.fromEntries(u.searchParams);
  assert.equal(p.response_type, 'code');
  assert.equal(p.code_challenge_method, 'S256');
  assert.match(p.redirect_uri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  return p;
}

const DENIED_HINT = 'The authorization was declined in the browser. Run `democli auth login` to try again.';

test('code + PKCE login through the loopback server', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const { page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--browser']);
  const { link, target: url } = await s.openLaunchLink(page);
  const params = authorizeParams(url, server);
  // democli prints the link it opens (which names no state or challenge).
  await login.stderr.waitFor(/Opening your browser to sign in to Demo/);
  assert.ok(login.stderr.text.includes(link), 'the link is printed');
  assert.ok(!login.stderr.text.includes(params.code_challenge), 'the challenge is not printed');
  assert.equal(await page.title(), 'Authorize democli · cliauth dev server');
  const callback = page.waitForRequest((r) => r.url().startsWith(params.redirect_uri));
  await page.getByRole('button', { name: 'Authorize' }).click();
  const cb = new URL((await callback).url());
  assert.equal(cb.searchParams.get('state'), params.state);
  assert.equal(cb.searchParams.get('iss'), server.issuer);
  assert.match(cb.searchParams.get('code'), /^demo_ac_/);
  await page.waitForURL((u) => u.href.startsWith(params.redirect_uri));
  assert.equal(await page.locator('h1').textContent(), '✓ Signed in to Demo');

  const r = await login.result();
  const outcome = loginOutcome(r);
  if (JSON_MODE) {
    assert.equal(outcome.method, 'browser');
    assert.equal(outcome.credential_type, 'oauth');
  } else {
    assert.match(r.stderr, /^ {2}Method: {3}browser \(OAuth \+ PKCE\)$/m);
  }
  const profile = storedProfile(s, { type: 'oauth', method: 'browser' });
  assert.match(profile.credential.access_token, /^demo_at_/);
  assert.match(profile.credential.refresh_token, /^demo_rt_/);
  assertPrivate(s);

  await assertWhoami(s, server, 'access_token');
  const status = await s.run(server, ['auth', 'status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = lastJson(status.stdout);
  assert.equal(report.authenticated, true);
  assert.equal(report.profile, 'default');
  assert.equal(report.method, 'browser');
  assert.equal(report.credential_type, 'oauth');
  assert.equal(report.issuer, server.issuer);
  assert.equal(report.refreshable, true);
  // `auth token` prints the token by design: its stdout is kept out of the scan, and
  // it must be exactly the stored token.
  const token = await s.run(server, ['auth', 'token'], {}, { designated: true });
  assert.equal(token.code, 0, token.stderr);
  const printed = JSON_MODE ? lastJson(token.stdout).access_token : token.stdout.trim();
  assert.equal(printed, profile.credential.access_token);

  await s.finish({
    expectKinds: ['authorization_code', 'code_verifier', 'access_token', 'refresh_token', 'callback_code'],
  });
});

test('embedded dev server (no DEMO_ISSUER): code + PKCE login; its state file holds no secret', async (t) => {
  const s = scenario(t);
  const { page } = await s.browser();
  // No server of the test's own: every democli command starts the embedded one on a
  // new port, sharing devserver-state.json in DEMO_HOME.
  const login = s.democli(null, ['auth', 'login', '--browser'], { DEMO_CLI_AUTH_PAGE: 'off' });
  const url = new URL((await s.openLaunchLink(page)).target);
  assert.equal(url.pathname, '/authorize');
  const redirect = url.searchParams.get('redirect_uri');
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL((u) => u.href.startsWith(redirect));
  assert.equal(await page.locator('h1').textContent(), '✓ Signed in to Demo');
  loginOutcome(await login.result());
  const profile = storedProfile(s, { type: 'oauth', method: 'browser' });
  assert.match(profile.credential.access_token, /^demo_at_/);
  assertPrivate(s);
  assert.ok(fs.existsSync(path.join(s.home, 'devserver-state.json')), 'the embedded state is in DEMO_HOME');
  await assertWhoami(s, null, 'access_token');
  const report = await s.finish({ expectKinds: ['callback_code', 'stored access_token', 'stored refresh_token'] });
  assert.ok(
    report.captured.some((c) => c.label.endsWith('devserver-state.json') && c.bytes > 0),
    'the state file was scanned',
  );
});

test('cli-auth handoff from a public origin: top-level redirect, key stored', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  // The page is public; a private-network target shows whether Chrome treats it so.
  const probe = await s.counter();
  const { page } = await s.browser({
    args: [`--ip-address-space-overrides=127.0.0.1:${server.port}=public`],
  });
  const login = s.democli(server, ['auth', 'login', '--browser'], {
    DEMO_CLI_AUTH_PAGE: `${server.url}/cli-auth`,
  });
  const url = new URL((await s.openLaunchLink(page)).target);
  assert.equal(url.origin + url.pathname, `${server.url}/cli-auth`);
  const port = Number(url.searchParams.get('port'));
  assert.ok(url.searchParams.get('state') && url.searchParams.get('code_challenge'));
  assert.equal(url.searchParams.get('accept'), null, 'democli asks for no raw key by default');

  await page.locator('#sign-in button.user').first().click();
  await page.locator('#continue-button').waitFor({ state: 'visible' });
  // Local Network Access: from this public page, a fetch to a loopback port is blocked.
  const fetched = await page.evaluate(
    (p) => fetch(`http://127.0.0.1:${p}/probe`, { mode: 'no-cors' }).then(() => 'reached', (e) => `blocked: ${e.message}`),
    probe.port,
  );
  assert.match(fetched, /^blocked/, 'the page is treated as public');
  assert.deepEqual(probe.hits, []);

  const callback = page.waitForRequest((r) => r.url().startsWith(`http://127.0.0.1:${port}/callback`));
  await page.locator('#continue-button').click();
  const cb = new URL((await callback).url());
  assert.equal(cb.searchParams.get('state'), url.searchParams.get('state'));
  assert.match(cb.searchParams.get('code'), /^demo_hc_/, 'a one-time code, not the key, is in the URL');
  await page.waitForURL((u) => u.href.startsWith(`http://127.0.0.1:${port}/callback`));
  assert.equal(await page.locator('h1').textContent(), '✓ Signed in to Demo');

  const r = await login.result();
  const outcome = loginOutcome(r);
  if (JSON_MODE) {
    assert.equal(outcome.method, 'handoff');
    assert.equal(outcome.credential_type, 'api_key');
    assert.match(outcome.masked_key, /^demo_dev_…[A-Za-z0-9]{4}$/);
  } else {
    assert.match(r.stderr, /^ {2}Method: {3}browser \(cli-auth page\)$/m);
    assert.match(r.stderr, /^ {2}Key: {6}demo_dev_…[A-Za-z0-9]{4}$/m);
  }
  const profile = storedProfile(s, { type: 'api_key', method: 'handoff' });
  assert.match(profile.credential.key, /^demo_dev_[A-Za-z0-9]{32}$/);
  assertPrivate(s);
  await assertWhoami(s, server, 'api_key');

  await s.finish({ expectKinds: ['handoff_code', 'code_verifier', 'api_key', 'callback_code'] });
});

test('cli-auth handoff while the terminal waits for a paste: democli exits once the browser delivers', {
  skip: JSON_MODE && 'the verbose variant covers it',
}, async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const { page } = await s.browser();
  // stdin is an open, empty pipe: like a terminal where nobody types.
  const login = s.democli(server, ['auth', 'login', '--browser'], {
    DEMO_CLI_AUTH_PAGE: `${server.url}/cli-auth`,
  }, { openStdin: true });
  await login.stderr.waitFor(/Or paste your Demo key here/);
  await s.openLaunchLink(page);
  await page.locator('#sign-in button.user').first().click();
  await page.locator('#continue-button').click();
  await login.stderr.waitFor(/^✓ Logged in to Demo/m);
  storedProfile(s, { type: 'api_key', method: 'handoff' });
  // A bound on a hang, not a speed assertion: a finished login has nothing to wait for.
  const exited = await Promise.race([
    login.exited.then(() => true),
    new Promise((resolve) => { setTimeout(resolve, 10_000, false); }),
  ]);
  assert.ok(exited, 'democli still runs 10 s after the login finished (waiting for a paste)');
  await s.finish();
});

/** Reads the user code and verification URI democli prints. */
async function deviceCode(proc) {
  const [, uri, code] = await proc.stderr.waitFor(
    /To sign in, open (\S+) on any device and enter the code:\n\n {4}(\S+)\n/,
  );
  return { uri, code };
}

/** Signs in on the device page and types `typed` into the code field. */
async function typeUserCode(page, uri, typed) {
  await page.goto(uri);
  await page.locator('#sign-in button.user').first().click();
  const input = page.locator('#user-code');
  await input.waitFor({ state: 'visible' });
  await input.pressSequentially(typed);
}

/** `WDJB-MJHT` → `wdjb mjht`: lower case, a space instead of the dash. */
function sloppy(code) {
  return code.toLowerCase().replace('-', ' ');
}

test('device flow through the verification page (code typed in lower case with spaces)', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const { page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--device']);
  const { uri, code } = await deviceCode(login);
  assert.equal(uri, `${server.url}/device`);
  assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
  assert.equal(s.urlsSeen, 0);

  await typeUserCode(page, uri, sloppy(code));
  assert.equal(await page.locator('#user-code').inputValue(), code, 'normalised as typed');
  await page.locator('#approve-button').click();
  await page.locator('#result-title').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#result-title').textContent(), 'Device connected');

  const r = await login.result();
  const outcome = loginOutcome(r);
  if (JSON_MODE) {
    assert.equal(outcome.method, 'device');
  } else {
    assert.match(r.stderr, /^ {2}Method: {3}device code$/m);
  }
  storedProfile(s, { type: 'oauth', method: 'device' });
  assertPrivate(s);
  await assertWhoami(s, server, 'access_token');

  const report = await s.finish({ expectKinds: ['device_code', 'access_token', 'refresh_token'] });
  // The user code is shown by design: it is excluded from the scan, and finding it in
  // the capture shows that democli's stderr was captured.
  assert.equal(report.userCodesExcluded, 1);
  assert.ok(s.captured.some((c) => c.text.includes(code)));
});

test('failure: the user denies on the consent page', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const { page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--browser']);
  const params = authorizeParams((await s.openLaunchLink(page)).target, server);
  await page.getByRole('button', { name: 'Deny' }).click();
  await page.waitForURL((u) => u.href.startsWith(params.redirect_uri));
  assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');
  assert.equal(await page.locator('h1').textContent(), 'Sign-in was not completed');

  const r = await login.result();
  assertFailure(r, {
    code: 2,
    message: 'Authorization denied: The user denied the request',
    hint: DENIED_HINT,
    errorCode: 'access_denied',
  });
  assertNothingStored(s);
  await s.finish();
});

test('failure: the user denies on the device page', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const { page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--device']);
  const { uri, code } = await deviceCode(login);
  await typeUserCode(page, uri, sloppy(code));
  await page.locator('#deny-button').click();
  await page.locator('#result-title').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#result-title').textContent(), 'Request denied');

  const r = await login.result();
  assertFailure(r, {
    code: 2,
    message: 'Authorization denied: the user denied the request',
    hint: DENIED_HINT,
    errorCode: 'access_denied',
  });
  assertNothingStored(s);
  await s.finish({ expectKinds: ['device_code'] });
});

const TIMEOUT_HINT = (waited) =>
  `No callback received within ${waited}. Try again, or use \`democli auth login --device\` or ` +
  '`democli auth login --api-key <KEY>` instead.';

test('failure: a callback with a forged state is ignored, then the login times out', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const { page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--browser'], { DEMO_LOGIN_TIMEOUT: '8s' });
  const params = authorizeParams((await s.openLaunchLink(page)).target, server);
  const forged = new URL(params.redirect_uri);
  forged.searchParams.set('code', 'demo_ac_forgedforgedforgedforgedforgedforgedforg');
  forged.searchParams.set('state', 'forged-state-forged-state-forged-state-forged');
  const response = await page.goto(forged.href);
  assert.equal(response.status(), 400);
  assert.equal(await page.locator('h1').textContent(), 'Login link mismatch');
  assert.match(await page.locator('p').textContent(), /Your terminal is still waiting/);
  assert.equal(login.running, true, 'democli keeps waiting after the forged callback');

  const r = await login.result();
  assertFailure(r, {
    code: 2,
    message: 'OAuth flow timed out',
    hint: TIMEOUT_HINT('8s'),
    errorCode: 'login_timed_out',
  });
  assertNothingStored(s);
  const stats = await server.stats();
  assert.equal(stats.requests['POST /token'], undefined, 'the forged code was never exchanged');
  await s.finish();
});

test('failure: the launch link opened twice ends the login as a possible interception', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const { context, page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--browser']);
  const { link } = await s.openLaunchLink(page);
  assert.equal(await page.title(), 'Authorize democli · cliauth dev server');
  // Someone else requests the same link (read from the process list, or the printed
  // line opened again): refused, and the login stops before any code is exchanged.
  const second = await context.newPage();
  const response = await second.goto(link);
  assert.equal(response.status(), 410);
  assert.match(await second.locator('body').textContent(), /already used/);

  const r = await login.result();
  assertFailure(r, {
    code: 2,
    message: 'Sign-in link opened twice',
    hint:
      'The one-time link your browser was started with was requested a second time: another ' +
      'program on this computer may have read it and raced your browser. Nothing was stored. ' +
      'Run `democli auth login` again (and open the printed link only if the browser did not open).',
    errorCode: 'login_intercepted',
  });
  assertNothingStored(s);
  const stats = await server.stats();
  assert.equal(stats.requests['POST /token'], undefined, 'no code was exchanged');
  await s.finish();
});

test('failure: the browser login times out with no browser action', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  const login = s.democli(server, ['auth', 'login', '--browser'], { DEMO_LOGIN_TIMEOUT: '2s' });
  assert.match(await s.nextBrowserUrl(), LAUNCH_LINK);
  const r = await login.result();
  assertFailure(r, {
    code: 2,
    message: 'OAuth flow timed out',
    hint: TIMEOUT_HINT('2s'),
    errorCode: 'login_timed_out',
  });
  assertNothingStored(s);
  await s.finish();
});

/** A dev key minted through the dev server's API as the demo user. */
async function mintKey(server) {
  const login = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'demo' }),
  });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const r = await fetch(`${server.url}/api/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ name: 'e2e' }),
  });
  assert.equal(r.status, 201);
  return (await r.json()).api_key;
}

/** Requests the server saw, without the test's own `/_dev/` calls. */
function served(stats) {
  return Object.fromEntries(Object.entries(stats.requests).filter(([k]) => !k.includes(' /_dev/')));
}

test('failure: malformed keys are diagnosed precisely, offline, and change nothing', async (t) => {
  const s = scenario(t);
  const server = await s.devServer();
  // A valid key first, so that "nothing stored" means "the stored file is unchanged".
  const valid = await mintKey(server);
  const first = await s.run(server, ['auth', 'login', '--api-key', valid]);
  loginOutcome(first);
  const file = path.join(s.home, 'credentials.json');
  const before = fs.readFileSync(file);
  const mtime = fs.statSync(file).mtimeMs;
  const requests = served(await server.stats());

  const copyHint = 'Copy the whole key again from the Demo dashboard, then run `democli auth login --api-key <KEY>`.';
  // Another well-formed key (never issued), mangled in the usual ways.
  const other = valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A');
  const cases = [
    {
      key: `Bearer ${other}`,
      secret: other,
      message: "That doesn't look like a Demo developer key: it starts with `Bearer ` — paste only the key itself",
      hint: copyHint,
    },
    {
      key: other.slice(0, 20),
      secret: other.slice(0, 20),
      message:
        "That doesn't look like a Demo developer key: it is 20 characters long but a complete key has at " +
        'least 41 — was it cut off when copying?',
      hint: copyHint,
    },
    {
      key: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
      secret: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
      message:
        "That doesn't look like a Demo developer key: it looks like a GitHub personal access token (`ghp_…`)",
      hint: 'Use a Demo key from the Demo dashboard, then run `democli auth login --api-key <KEY>`.',
    },
  ];
  for (const c of cases) {
    s.ledger.add('typed key', c.secret, 'test input');
    const r = await s.run(server, ['auth', 'login', '--api-key', c.key]);
    assertFailure(r, { code: 1, message: c.message, hint: c.hint, errorCode: 'invalid_key' });
  }
  assert.deepEqual(served(await server.stats()), requests, 'no network call');
  assert.deepEqual(fs.readFileSync(file), before, 'the stored credential is unchanged');
  assert.equal(fs.statSync(file).mtimeMs, mtime, 'the credentials file was not rewritten');
  await s.finish({ expectKinds: ['api_key', 'typed key'] });
});
