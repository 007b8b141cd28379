// The cli-auth handoff in a real browser, to the real loopback server.
//
// The page is served on 127.0.0.1:<page port>, which Chromium is told to treat as a
// PUBLIC address (--ip-address-space-overrides), so Local Network Access applies to
// its requests to the CLI's loopback port exactly as for a page on the internet.
// The CLI side is `cliauth-test-harness`: `cliauth::loopback::LoopbackServer` with
// core's handler, reporting every request it answered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { dist, here } from './common.mjs';
import { harness, launch, serve, singleFilePage, watch } from './browser.mjs';

let site;
let browser;

before(async () => {
  // The same test page in one file: its script with `cliauth/handoff/inline` instead
  // of `cliauth/handoff`, bundled inline the way an app's bundler builds a page.
  const source = readFileSync(path.join(here, 'pages', 'cli-auth.html'), 'utf8');
  const script = source.match(/<script type="module">([\s\S]*?)<\/script>/)[1].replace("'/pkg/handoff.js'", JSON.stringify(path.join(dist, 'handoff-inline.js')));
  const inline = await singleFilePage({ title: 'cli-auth test page (one file)', resolveDir: here, body: '<p id="status">loading</p>\n', script });
  site = await serve({
    '/pkg': dist,
    '/pages/cli-auth-inline.html': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(inline);
    },
    '/pages': path.join(here, 'pages'),
  });
  browser = await launch([`--ip-address-space-overrides=127.0.0.1:${site.port}=public`]);
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function openPage(query, file = 'cli-auth.html') {
  const page = await browser.context.newPage();
  const seen = watch(page);
  await page.goto(`${site.origin}/pages/${file}?${query}`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  return { page, seen };
}

const toLoopback = (seen, port) => seen.requests.filter((r) => r.includes(`127.0.0.1:${port}`));

// What a cliauth CLI puts in the page URL: the PKCE challenge its one-time code is
// bound to (the default handoff), or `accept=api_key` (its raw-key option).
const CH = '&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256';
const KEYS = '&accept=api_key';

test('redirect: a public page hands a one-time code to the loopback server', async () => {
  const cli = await harness();
  try {
    const { page, seen } = await openPage(`port=${cli.port}&state=${cli.state}${CH}`);
    // The public address space is in effect: this page is not a local one.
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    await Promise.all([page.waitForURL(`http://127.0.0.1:${cli.port}/callback?**`), page.evaluate(() => window.attempt({ code: 'otc-redirect-1' }))]);
    const callback = await cli.next('callback');
    assert.deepEqual({ code: callback.code, api_key: callback.api_key, state: callback.state }, { code: 'otc-redirect-1', api_key: null, state: cli.state });
    assert.match(await page.textContent('h1'), /Signed in to Harness/);
    assert.deepEqual(cli.requests().map((r) => [r.status, r.note]), [[200, 'callback accepted']]);
    assert.equal(toLoopback(seen, cli.port).length, 1);
    await page.close();
  } finally {
    await cli.stop();
  }
});

test('redirect with an API key, and a forged state never ends the real login', async () => {
  const cli = await harness();
  try {
    // Well-formed but not the CLI's state: the page cannot tell; the CLI refuses it.
    const forged = 'forgedforgedforgedforgedforged12';
    const { page } = await openPage(`port=${cli.port}&state=${forged}${KEYS}`);
    await Promise.all([page.waitForURL(`http://127.0.0.1:${cli.port}/callback?**`), page.evaluate(() => window.attempt({ apiKey: 'acme_dev_stolen' }))]);
    assert.match(await page.textContent('h1'), /Login link mismatch/);
    assert.deepEqual(cli.requests().map((r) => [r.status, r.note]), [[400, 'state mismatch']]);
    assert.equal(cli.events.some((e) => e.event === 'callback'), false);
    // The real page still completes the same login.
    const real = await openPage(`port=${cli.port}&state=${cli.state}${KEYS}`);
    await Promise.all([real.page.waitForURL(`http://127.0.0.1:${cli.port}/callback?**`), real.page.evaluate(() => window.attempt({ apiKey: 'acme_dev_real' }))]);
    const callback = await cli.next('callback');
    assert.deepEqual([callback.api_key, callback.code, callback.state], ['acme_dev_real', null, cli.state]);
    await page.close();
    await real.page.close();
  } finally {
    await cli.stop();
  }
});

test('refused before anything is sent: tampered state, bad ports, other hosts and schemes', async () => {
  const cli = await harness();
  try {
    const good = `port=${cli.port}&state=${cli.state}${CH}`;
    const cases = [
      [`port=${cli.port}&state=%3Cscript%3Ealert(1)%3C%2Fscript%3E`, 'Invalid state: may contain only A-Z a-z 0-9 - . _ ~'],
      [`port=${cli.port}&state=${cli.state}%2F..%2Fevil`, 'Invalid state: may contain only A-Z a-z 0-9 - . _ ~'],
      [`port=${cli.port}&state=short`, 'Invalid state: must be 16 to 256 characters, got 5'],
      [`port=${cli.port}&state=${cli.state}&state=${cli.state}`, 'Invalid state: appears more than once'],
      [`port=${cli.port}`, 'Invalid state: is missing from the page URL; start the login from your terminal again'],
      [`port=80&state=${cli.state}`, 'Invalid port: must be between 1024 and 65535'],
      [`port=1023&state=${cli.state}`, 'Invalid port: must be between 1024 and 65535'],
      [`port=65536&state=${cli.state}`, 'Invalid port: must be between 1024 and 65535'],
      [`port=abc&state=${cli.state}`, 'Invalid port: must be a number'],
      [`port=${cli.port}.5&state=${cli.state}`, 'Invalid port: must be a number'],
      [`port=0x1000&state=${cli.state}`, 'Invalid port: must be a number'],
      [`port=-${cli.port}&state=${cli.state}`, 'Invalid port: must be a number'],
      [`port=${cli.port}%40evil.example&state=${cli.state}`, 'Invalid port: must be a number'],
      [`port=${cli.port}.evil.example&state=${cli.state}`, 'Invalid port: must be a number'],
      [`port=${cli.port}%2F%2Fevil.example&state=${cli.state}`, 'Invalid port: must be a number'],
      [`port=&state=${cli.state}`, 'Invalid port: must be a number'],
      [`${good}&mode=javascript`, 'Invalid mode: must be redirect, post or manual'],
      // Issue 10: a one-time code only when the CLI sent a challenge to bind it to.
      [`port=${cli.port}&state=${cli.state}`, 'Invalid credential: this CLI sent no PKCE challenge to bind a one-time code to; it accepts only an API key'],
    ];
    for (const [query, message] of cases) {
      const { page, seen } = await openPage(query);
      const before = page.url();
      for (const mode of [undefined, 'post']) {
        const r = await page.evaluate((o) => window.attempt({ code: 'otc-never-sent' }, o), mode ? { mode } : undefined);
        assert.deepEqual(
          { ok: r.ok, typed: r.isCliauthError, name: r.name, code: r.code, kind: r.kind, exitCode: r.exitCode, message: r.message },
          { ok: false, typed: true, name: 'CliauthError', code: 'invalid_argument', kind: 'usage', exitCode: 1, message },
          query,
        );
      }
      assert.equal(page.url(), before, `navigated for ${query}`);
      assert.deepEqual(toLoopback(seen, cli.port), [], `a request left for ${query}`);
      await page.close();
    }

    // A page that edits the request object cannot point the delivery elsewhere.
    const { page, seen } = await openPage(good);
    const edited = await page.evaluate(async (port) => {
      const { readHandoffRequest, deliverHandoff, handoffRedirectUrl } = window.cliauth;
      const r = readHandoffRequest();
      const out = [];
      for (const change of [
        { port: 80 },
        { port: '4000@evil.example' },
        { port: `${port}/../../evil` },
        { state: 'javascript:alert(1)//aaaa' },
        { mode: 'ftp' },
      ]) {
        try {
          await deliverHandoff({ ...r, ...change }, { code: 'x' });
          out.push({ change, sent: true });
        } catch (e) {
          out.push({ change, code: e.code });
        }
      }
      // Never read: the target is rebuilt from port and state.
      out.push({ url: handoffRedirectUrl({ ...r, callbackUrl: 'https://evil.example/steal' }, { code: 'x' }) });
      return out;
    }, cli.port);
    assert.deepEqual(edited.slice(0, 5).map((e) => e.code), Array(5).fill('invalid_argument'));
    // A raw API key goes out only when the CLI asked for one (accept=api_key).
    const raw = await page.evaluate(() => window.attempt({ apiKey: 'acme_dev_notasked' }));
    assert.deepEqual({ ok: raw.ok, code: raw.code }, { ok: false, code: 'invalid_argument' });
    assert.match(raw.message, /accepts a one-time code bound to its PKCE challenge, not an API key/);
    assert.equal(edited[5].url, `http://127.0.0.1:${cli.port}/callback?code=x&state=${cli.state}`);
    // Parameters naming another host or scheme are ignored, never used.
    const hostile = await openPage(`${good}&host=evil.example&callback=https%3A%2F%2Fevil.example%2F&redirect_uri=https%3A%2F%2Fevil.example%2F`);
    const request = await hostile.page.evaluate(() => window.cliauth.readHandoffRequest());
    assert.equal(request.callbackUrl, `http://127.0.0.1:${cli.port}/callback`);
    assert.deepEqual(toLoopback(seen, cli.port), []);
    assert.deepEqual(cli.requests(), [], 'the loopback server saw a request');
    await page.close();
    await hostile.page.close();
  } finally {
    await cli.stop();
  }
});

test('post: blocked from a public page without local network access; works once granted and allowed', async () => {
  const cli = await harness(['--allow-origin', site.origin]);
  try {
    const query = `port=${cli.port}&state=${cli.state}${CH}&mode=post`;
    // 1. No permission: Local Network Access blocks the fetch from the public page
    //    (`fallback: false`: the page wants the error, not the redirect).
    const blocked = await openPage(query);
    const r1 = await blocked.page.evaluate(() => window.attempt({ code: 'otc-post-blocked' }, { fallback: false }));
    assert.deepEqual([r1.ok, r1.isCliauthError, r1.code, r1.exitCode], [false, true, 'network_error', 3], JSON.stringify(r1));
    const afterBlocked = cli.requests().map((r) => [r.status, r.note]);
    console.log(`LNA without permission: page got ${r1.code}; loopback server saw ${JSON.stringify(afterBlocked)}; page requests ${JSON.stringify(toLoopback(blocked.seen, cli.port))}`);
    assert.deepEqual(afterBlocked, [], 'the blocked POST reached the server');
    await blocked.page.close();

    // 2. Permission granted, origin allowed by the CLI: preflight, then the POST.
    await browser.context.grantPermissions(['local-network-access'], { origin: site.origin });
    const allowed = await openPage(query);
    const r2 = await allowed.page.evaluate(() => window.attempt({ code: 'otc-post-1' }));
    assert.deepEqual(r2, { ok: true, answer: { ok: true, code: 'ok' } });
    const callback = await cli.next('callback');
    assert.deepEqual([callback.code, callback.state], ['otc-post-1', cli.state]);
    const notes = cli.requests().map((r) => r.note);
    console.log(`LNA granted, origin allowed: loopback server saw ${JSON.stringify(notes)}`);
    assert.ok(notes.includes('callback accepted'));
    await allowed.page.close();
  } finally {
    await browser.context.clearPermissions();
    await cli.stop();
  }
});

test('post: refused by the browser, the page falls back to the redirect (fetch annotated for the loopback address space)', async () => {
  const cli = await harness(['--allow-origin', site.origin]);
  try {
    const { page, seen } = await openPage(`port=${cli.port}&state=${cli.state}${CH}&mode=post`);
    // What the package hands to fetch, kept across the navigation (sessionStorage of
    // the page's origin): the loopback POST says its target address space.
    await page.evaluate(() => {
      const real = window.fetch;
      window.fetch = (url, init) => {
        sessionStorage.setItem('test.fetch', JSON.stringify({ url: String(url), method: init?.method, targetAddressSpace: init?.targetAddressSpace, mode: init?.mode, credentials: init?.credentials }));
        return real(url, init);
      };
    });
    // No local-network-access permission: the POST is refused, then the top-level
    // redirect core built for the same request delivers the code.
    await Promise.all([
      page.waitForURL(`http://127.0.0.1:${cli.port}/callback?**`),
      page.evaluate(() => window.attempt({ code: 'otc-post-fallback' })),
    ]);
    const callback = await cli.next('callback');
    assert.deepEqual([callback.code, callback.state], ['otc-post-fallback', cli.state]);
    const notes = cli.requests().map((r) => r.note);
    console.log(`POST refused, fell back: loopback server saw ${JSON.stringify(notes)}; page requests ${JSON.stringify(toLoopback(seen, cli.port))}`);
    // The refused POST (and its preflight) never reached the server; the redirect did.
    assert.deepEqual(notes, ['callback accepted']);
    await page.goto(`${site.origin}/pages/cli-auth.html`);
    const sent = JSON.parse(await page.evaluate(() => sessionStorage.getItem('test.fetch')));
    assert.deepEqual(sent, { url: `http://127.0.0.1:${cli.port}/callback`, method: 'POST', targetAddressSpace: 'loopback', mode: 'cors', credentials: 'omit' });
    await page.close();
  } finally {
    await cli.stop();
  }
});

test('post: refused by the CLI when it does not allow the page origin', async () => {
  const cli = await harness(['--allow-origin', 'https://app.acme.example']);
  try {
    await browser.context.grantPermissions(['local-network-access'], { origin: site.origin });
    const { page } = await openPage(`port=${cli.port}&state=${cli.state}${CH}&mode=post`);
    const r = await page.evaluate(() => window.attempt({ code: 'otc-post-foreign' }, { fallback: false }));
    assert.deepEqual([r.ok, r.code], [false, 'network_error'], JSON.stringify(r));
    const seen = cli.requests().map((e) => [e.status, e.note]);
    console.log(`LNA granted, origin not allowed: page got ${r.code}; loopback server saw ${JSON.stringify(seen)}`);
    assert.deepEqual(seen, [[403, 'preflight from a foreign origin']]);
    assert.equal(cli.events.some((e) => e.event === 'callback'), false);
    // The login is untouched: the redirect still completes it.
    await Promise.all([page.waitForURL(`http://127.0.0.1:${cli.port}/callback?**`), page.evaluate(() => window.attempt({ code: 'otc-after-refusal' }, { mode: 'redirect' }))]);
    assert.equal((await cli.next('callback')).code, 'otc-after-refusal');
    await page.close();
  } finally {
    await browser.context.clearPermissions();
    await cli.stop();
  }
});

test('manual: the masked credential and the text to paste, nothing sent', async () => {
  const cli = await harness();
  try {
    const { page, seen } = await openPage(`port=${cli.port}&state=${cli.state}${KEYS}&mode=manual`);
    const r = await page.evaluate(() => window.attempt({ apiKey: 'sk-ant-0123456789abcdefghij' }));
    assert.deepEqual(r, { ok: true, answer: { masked: 'sk-ant-…ghij', pasteText: 'sk-ant-0123456789abcdefghij' } });
    assert.deepEqual(toLoopback(seen, cli.port), []);
    assert.deepEqual(cli.requests(), []);
    await page.close();
  } finally {
    await cli.stop();
  }
});

test('control: the same POST from a loopback (non-public) page needs no permission', async () => {
  // Without the address-space override the page is local like the CLI, so Local
  // Network Access does not apply: this is what makes the blocked case above an LNA block.
  const local = await launch();
  const cli = await harness(['--allow-origin', site.origin]);
  try {
    const page = await local.context.newPage();
    await page.goto(`${site.origin}/pages/cli-auth.html?port=${cli.port}&state=${cli.state}${CH}&mode=post`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    const r = await page.evaluate(() => window.attempt({ code: 'otc-local' }));
    assert.deepEqual(r, { ok: true, answer: { ok: true, code: 'ok' } });
    assert.equal((await cli.next('callback')).code, 'otc-local');
  } finally {
    await cli.stop();
    await local.close();
  }
});

test('one file (cliauth/handoff/inline): the page fetches nothing else, refuses tampering and delivers by redirect and POST', async () => {
  const cli = await harness(['--allow-origin', site.origin]);
  try {
    const tampered = await openPage(`port=${cli.port}&state=short${CH}`, 'cli-auth-inline.html');
    const r0 = await tampered.page.evaluate(() => window.attempt({ code: 'otc-x' }));
    assert.deepEqual([r0.ok, r0.isCliauthError, r0.code], [false, true, 'invalid_argument'], JSON.stringify(r0));
    // The page itself was the only request: no script, no wasm module.
    assert.deepEqual(tampered.seen.requests, [`GET ${site.origin}/pages/cli-auth-inline.html?port=${cli.port}&state=short${CH}`]);
    await tampered.page.close();

    const { page, seen } = await openPage(`port=${cli.port}&state=${cli.state}${CH}`, 'cli-auth-inline.html');
    await Promise.all([page.waitForURL(`http://127.0.0.1:${cli.port}/callback?**`), page.evaluate(() => window.attempt({ code: 'otc-inline-1' }))]);
    const callback = await cli.next('callback');
    assert.deepEqual([callback.code, callback.state], ['otc-inline-1', cli.state]);
    assert.deepEqual(seen.requests.filter((r) => !r.includes(`127.0.0.1:${cli.port}`)).length, 1);
    await page.close();

  } finally {
    await cli.stop();
  }
  // A second login, delivered by the CORS POST (the first one is complete).
  const second = await harness(['--allow-origin', site.origin]);
  try {
    await browser.context.grantPermissions(['local-network-access'], { origin: site.origin });
    const post = await openPage(`port=${second.port}&state=${second.state}${CH}&mode=post`, 'cli-auth-inline.html');
    const r2 = await post.page.evaluate(() => window.attempt({ code: 'otc-inline-post' }));
    assert.deepEqual(r2, { ok: true, answer: { ok: true, code: 'ok' } });
    assert.equal((await second.next('callback')).code, 'otc-inline-post');
    await post.page.close();
  } finally {
    await browser.context.clearPermissions();
    await second.stop();
  }
});
