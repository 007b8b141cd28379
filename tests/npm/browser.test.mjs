// The installed package in Chromium (via playwright-core and /usr/bin/chromium):
// - a plain <script type="module"> page (an import map for the bare specifiers)
//   running the shared vectors through the public API;
// - a Vite build of an app importing `cliauth` and `cliauth/full`, and a Vite SSR app
//   whose server imports `cliauth` and whose client uses it;
// - the browser login (authorization code + PKCE) against oidc-provider, with the
//   tokens in memory by default (localStorage when asked) and a refresh with rotation;
// - the device login run from Node, approved in Chromium on oidc-provider's pages;
// - approveDevice against a same-origin backend, with and without the session cookie;
// - a module worker: fetch, timers and typed errors work there too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { describeOutcome, here, packAndInstall, root } from './common.mjs';
import { launch, serve, watch } from './browser.mjs';
import { startProvider } from './oidc.mjs';

let installed;
let site;
let browser;
let provider;
let approvals;

const IMPORT_MAP = `<script type="importmap">{"imports": {"cliauth": "/node_modules/cliauth/dist/index.js", "cliauth/full": "/node_modules/cliauth/dist/full.js"}}</script>`;

function page(file, body) {
  writeFileSync(path.join(installed.project, file), `<!doctype html><html><head><meta charset="utf-8">${IMPORT_MAP}</head><body>${body}</body></html>`);
}

before(async () => {
  installed = packAndInstall();
  approvals = [];
  site = await serve({
    '/': installed.project,
    '/vite': path.join(installed.project, 'vite-dist'),
    '/ssr': path.join(installed.project, 'vite-ssr-dist', 'client'),
    '/test': here,
    '/vectors': path.join(root, 'tests', 'vectors'),
    // The redirect URI of the browser login.
    '/callback': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(readFileSync(path.join(installed.project, 'callback.html')));
    },
    // The device-verification page's own backend: approves with a session cookie.
    '/api/device/approve': (req, res, body) => {
      // Cookies on 127.0.0.1 are shared across ports (oidc-provider's too): look for ours.
      const signedIn = /(^|; )app_session=ok(;|$)/.test(req.headers.cookie ?? '');
      approvals.push({ signedIn, body: JSON.parse(body) });
      if (!signedIn) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token", error_description="sign in first"' });
        return res.end('{"detail":"sign in first"}');
      }
      res.writeHead(JSON.parse(body).user_code === 'WDJB-MJHT' ? 204 : 404, { 'content-type': 'application/json' });
      res.end(JSON.parse(body).user_code === 'WDJB-MJHT' ? '' : '{"detail":"unknown code"}');
    },
  });
  provider = await startProvider({ webRedirectUri: `${site.origin}/callback` });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await provider?.close();
  if (installed) rmSync(installed.work, { recursive: true, force: true });
});

test('a plain <script type="module"> page: the shared vectors pass in Chromium', async () => {
  page(
    'script.html',
    `<script type="module">
      import init, * as full from 'cliauth/full';
      import pageInit, { readHandoffRequest } from 'cliauth';
      import { runVectors, VECTOR_FILES } from '/test/vectors.mjs';
      await init();
      await pageInit();
      const files = {};
      for (const f of VECTOR_FILES) files[f] = await (await fetch('/vectors/' + f + '.json')).json();
      const outcome = await runVectors(full, files);
      window.__done = { cases: outcome.cases, failures: outcome.failures, skipped: outcome.skipped, page: readHandoffRequest('https://x/?port=4000&state=abcdefghijklmnop').port };
    </script>`,
  );
  const p = await browser.context.newPage();
  const seen = watch(p);
  await p.goto(`${site.origin}/script.html`);
  const done = await p.waitForFunction(() => window.__done, null, { timeout: 30000 }).then((h) => h.jsonValue()).catch((e) => {
    throw new Error(`${e.message}\n${seen.console.join('\n')}`);
  });
  describeOutcome('Chromium (installed package, <script type="module">)', done);
  assert.deepEqual(done.failures, []);
  assert.ok(done.cases >= 200);
  assert.equal(done.page, 4000);
  await p.close();
});

test('a Vite build bundles both entries and their wasm', async () => {
  const app = path.join(installed.project, 'vite');
  mkdirSync(app, { recursive: true });
  writeFileSync(path.join(app, 'index.html'), '<!doctype html><html><body><script type="module" src="./main.js"></script></body></html>');
  writeFileSync(
    path.join(app, 'main.js'),
    `import init, { readHandoffRequest, handoffRedirectUrl, userCodeInput, CliauthError } from 'cliauth';
import initFull, { createPkce, pkceChallenge, decodeJwt, KeyRegistry } from 'cliauth/full';
await init();
await initFull();
const request = readHandoffRequest();
let refused;
try { readHandoffRequest(location.origin + '/?port=22&state=abcdefghijklmnop'); } catch (e) { refused = e instanceof CliauthError && e.code; }
const pkce = createPkce();
window.__result = {
  url: handoffRedirectUrl(request, { code: 'vite-code' }),
  refused,
  typing: userCodeInput('wdjb-mj').display,
  pkce: pkceChallenge(pkce.verifier) === pkce.challenge,
  sub: decodeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ2aXRlIn0.').claims.sub,
  masked: new KeyRegistry([{ id: 'a', product: 'A', label: 'key', prefix: 'a_', charset: 'base62', minLen: 10, maxLen: 40 }]).mask('a_0123456789abcdefWXYZ'),
};
`,
  );
  execFileSync('node', [path.join(here, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn', '--base', '/vite/', '--outDir', path.join(installed.project, 'vite-dist'), '--emptyOutDir'], {
    cwd: app,
    stdio: 'inherit',
  });
  const p = await browser.context.newPage();
  const seen = watch(p);
  await p.goto(`${site.origin}/vite/index.html?port=4711&state=abcdefghijklmnopqrstuvwxyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`);
  const result = await p.waitForFunction(() => window.__result, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch((e) => {
    throw new Error(`${e.message}\n${seen.console.join('\n')}`);
  });
  assert.deepEqual(result, {
    url: 'http://127.0.0.1:4711/callback?code=vite-code&state=abcdefghijklmnopqrstuvwxyz',
    refused: 'invalid_argument',
    typing: 'WDJB-MJ',
    pkce: true,
    sub: 'vite',
    masked: 'a_…WXYZ',
  });
  // Both wasm modules were emitted as assets and loaded from the bundle.
  assert.equal(seen.requests.filter((r) => /\/vite\/assets\/.*\.wasm$/.test(r)).length, 2, seen.requests.join('\n'));
  await p.close();
});

test('a Vite SSR app: the server renders a module that imports `cliauth`; the client hydrates and uses the page module', async () => {
  const app = path.join(installed.project, 'vite-ssr');
  const out = path.join(installed.project, 'vite-ssr-dist');
  mkdirSync(path.join(app, 'src'), { recursive: true });
  writeFileSync(
    path.join(app, 'index.html'),
    '<!doctype html><html><body><div id="app"><!--app-html--></div><script type="module" src="/src/entry-client.js"></script></body></html>',
  );
  // One module for both sides, like a component: it imports the package at the top;
  // only the client calls it.
  writeFileSync(
    path.join(app, 'src/app.js'),
    `import init, { readHandoffRequest, CliauthError } from 'cliauth';
export function render(url) {
  return '<p id="ssr">rendered on the server for ' + url + '</p>';
}
export async function mount() {
  await init();
  let refused;
  try { readHandoffRequest(location.origin + '/?port=80&state=abcdefghijklmnop'); } catch (e) { refused = e instanceof CliauthError && e.code; }
  const { port, state, mode } = readHandoffRequest();
  window.__result = { ssr: document.getElementById('ssr')?.textContent, port, state, mode, refused };
}
`,
  );
  writeFileSync(path.join(app, 'src/entry-server.js'), "export { render } from './app.js';\n");
  writeFileSync(path.join(app, 'src/entry-client.js'), "import { mount } from './app.js';\nmount();\n");
  const vite = path.join(here, 'node_modules/vite/bin/vite.js');
  execFileSync('node', [vite, 'build', '--logLevel', 'warn', '--base', '/ssr/', '--outDir', path.join(out, 'client'), '--emptyOutDir'], { cwd: app, stdio: 'inherit' });
  execFileSync('node', [vite, 'build', '--logLevel', 'warn', '--ssr', 'src/entry-server.js', '--outDir', path.join(out, 'server'), '--emptyOutDir'], { cwd: app, stdio: 'inherit' });
  // The server side: Node imports the SSR bundle (and with it `cliauth`) and renders.
  const { render } = await import(pathToFileURL(path.join(out, 'server', 'entry-server.js')).href);
  const template = readFileSync(path.join(out, 'client', 'index.html'), 'utf8');
  writeFileSync(path.join(out, 'client', 'index.html'), template.replace('<!--app-html-->', render('/ssr/')));
  const p = await browser.context.newPage();
  const seen = watch(p);
  await p.goto(`${site.origin}/ssr/index.html?port=4712&state=abcdefghijklmnopqrstuvwxyz&mode=post`);
  const result = await p.waitForFunction(() => window.__result, null, { timeout: 20000 }).then((h) => h.jsonValue()).catch((e) => {
    throw new Error(`${e.message}\n${seen.console.join('\n')}`);
  });
  assert.deepEqual(result, {
    ssr: 'rendered on the server for /ssr/',
    port: 4712,
    state: 'abcdefghijklmnopqrstuvwxyz',
    mode: 'post',
    refused: 'invalid_argument',
  });
  assert.equal(seen.requests.filter((r) => /\/ssr\/assets\/.*\.wasm$/.test(r)).length, 1, seen.requests.join('\n'));
  await p.close();
});

test('browser login against oidc-provider: code + PKCE, refresh with rotation; tokens in memory by default, in localStorage when asked', async () => {
  const config = {
    authorizationEndpoint: provider.authorizationEndpoint,
    tokenEndpoint: provider.tokenEndpoint,
    clientId: 'web-app',
    redirectUri: `${site.origin}/callback`,
    scopes: ['openid'],
    issuer: provider.issuer,
    requireIss: true,
  };
  page(
    'login.html',
    `<script type="module">
      import init, { startBrowserLogin } from 'cliauth/full';
      await init();
      window.login = (where) => {
        sessionStorage.setItem('test.store', where);
        return startBrowserLogin(${JSON.stringify(config)});
      };
      window.__ready = true;
    </script>`,
  );
  writeFileSync(
    path.join(installed.project, 'callback.html'),
    `<!doctype html><html><head><meta charset="utf-8">${IMPORT_MAP}</head><body><script type="module">
      import init, { completeBrowserLogin, getAccessToken, credentials, decodeJwt, webStorage, CliauthError } from 'cliauth/full';
      await init();
      const config = ${JSON.stringify(config)};
      // 'local': the page asks for localStorage; 'memory': the default store.
      const where = sessionStorage.getItem('test.store');
      const store = where === 'local' ? webStorage(localStorage) : undefined;
      const stored = () => {
        const text = localStorage.getItem('cliauth.credentials');
        return text && JSON.parse(text).profiles.default.credential.refresh_token;
      };
      // Whether any Web Storage item holds this refresh token.
      const inWebStorage = (token) =>
        [localStorage, sessionStorage].some((s) => Object.keys(s).some((k) => String(s.getItem(k)).includes(token)));
      try {
        const tokens = await completeBrowserLogin(config, { store });
        const before = stored();
        const valid = await getAccessToken(config, { store });
        const refreshed = await getAccessToken(config, { force: true, store });
        const after = stored();
        const status = await credentials.status(store);
        const doc = await (store ?? { read: () => null }).read();
        let replay;
        try { await completeBrowserLogin(config, { store }); } catch (e) { replay = e instanceof CliauthError && e.code; }
        window.__result = {
          kind: tokens.kind, refreshable: tokens.refreshable, sub: decodeJwt(tokens.idToken).claims.sub,
          method: doc ? JSON.parse(doc).profiles.default.method : null,
          sameToken: valid.accessToken === tokens.accessToken && valid.refreshed === false,
          rotated: refreshed.refreshed === true && refreshed.accessToken !== tokens.accessToken,
          storedRotated: where === 'local' ? Boolean(before) && before !== after : null,
          refreshTokenInWebStorage: where === 'local' ? inWebStorage(after) : localStorage.length + sessionStorage.length > 1,
          status: [status.authenticated, status.credential_type, status.method, status.token_status],
          replay,
        };
        localStorage.clear();
      } catch (e) {
        window.__result = { error: e.code ?? String(e), message: e.message };
      }
    </script></body></html>`,
  );
  for (const where of ['local', 'memory']) {
    const p = await browser.context.newPage();
    const seen = watch(p);
    await p.goto(`${site.origin}/login.html`);
    await p.waitForFunction(() => window.__ready);
    await Promise.all([p.waitForURL(`${site.origin}/callback?**`, { timeout: 20000 }), p.evaluate((w) => window.login(w), where)]);
    const result = await p.waitForFunction(() => window.__result, null, { timeout: 20000 }).then((h) => h.jsonValue());
    assert.deepEqual(result, {
      kind: 'oauth',
      refreshable: true,
      sub: 'user-42',
      method: where === 'local' ? 'browser' : null,
      sameToken: true,
      rotated: true,
      storedRotated: where === 'local' ? true : null,
      // localStorage when asked; by default nothing but the test's own marker in Web Storage.
      refreshTokenInWebStorage: where === 'local',
      status: [true, 'oauth', 'browser', 'valid'],
      replay: 'invalid_argument',
    }, `${where}: ${seen.console.join('\n')}`);
    await p.close();
  }
  assert.ok(provider.log.includes('POST /token'));
});

test('device login from Node against oidc-provider, approved in Chromium', async () => {
  const full = await import(path.join(installed.project, 'node_modules/cliauth/dist/full-node.js'));
  const store = full.memoryStore();
  const config = {
    deviceAuthorizationEndpoint: provider.deviceAuthorizationEndpoint,
    tokenEndpoint: provider.tokenEndpoint,
    clientId: 'acme-cli',
    scopes: ['openid'],
    issuer: provider.issuer,
    profile: 'work',
  };
  const login = await full.startDeviceLogin(config, { store });
  assert.match(login.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
  // oidc-provider gives no interval: core defaults to 5 s (RFC 8628 §3.2).
  assert.equal(login.intervalMs, 5000);
  const p = await browser.context.newPage();
  await p.goto(login.verificationUriComplete);
  await Promise.all([p.waitForLoadState('load'), p.click('button[type=submit]')]);
  const tokens = await login.done;
  assert.equal(tokens.kind, 'oauth');
  assert.equal(tokens.refreshable, true);
  const profiles = await full.credentials.profiles(store);
  assert.deepEqual(profiles, { activeProfile: 'work', profiles: { work: { method: 'device', credentialType: 'oauth', issuer: provider.issuer } } });
  const refreshed = await full.getAccessToken({ tokenEndpoint: provider.tokenEndpoint, clientId: 'acme-cli', issuer: provider.issuer }, { store, force: true });
  assert.equal(refreshed.refreshed, true);
  assert.notEqual(refreshed.accessToken, tokens.accessToken);
  const status = await full.credentials.status(store);
  assert.deepEqual([status.authenticated, status.profile, status.method, status.refreshable], [true, 'work', 'device', true]);
  await p.close();
});

test('approveDevice from a page: same-origin cookie, typed errors', async () => {
  page(
    'device.html',
    `<script type="module">
      import init, { approveDevice, userCodeInput, normalizeUserCode } from 'cliauth';
      await init();
      window.approve = async (code, approve) => {
        try { await approveDevice('/api/device/approve', code, approve); return 'ok'; }
        catch (e) { return e.code + ' ' + e.exitCode; }
      };
      window.__ready = [userCodeInput('wdjb mj').display, normalizeUserCode('wdjb-mjht')];
    </script>`,
  );
  const p = await browser.context.newPage();
  await p.goto(`${site.origin}/device.html`);
  assert.deepEqual(await p.waitForFunction(() => window.__ready).then((h) => h.jsonValue()), ['WDJB-MJ', 'WDJB-MJHT']);
  assert.equal(await p.evaluate(() => window.approve('wdjb mjht', true)), 'unauthorized 2');
  await browser.context.addCookies([{ name: 'app_session', value: 'ok', url: site.origin }]);
  assert.equal(await p.evaluate(() => window.approve('wdjb mjht', true)), 'ok');
  assert.equal(await p.evaluate(() => window.approve('BCDF-GHJK', false)), 'not_found 5');
  assert.equal(await p.evaluate(() => window.approve('not a code', true)), 'invalid_argument 1');
  assert.deepEqual(approvals, [
    { signedIn: false, body: { user_code: 'WDJB-MJHT', action: 'approve' } },
    { signedIn: true, body: { user_code: 'WDJB-MJHT', action: 'approve' } },
    { signedIn: true, body: { user_code: 'BCDF-GHJK', action: 'deny' } },
  ]);
  await p.close();
});

test('in a module worker: init, fetch through the flows, typed errors', async () => {
  writeFileSync(
    path.join(installed.project, 'worker.js'),
    `import init, { startDeviceLogin, readHandoffRequest, CliauthError } from '/node_modules/cliauth/dist/full.js';
await init();
let refused;
try { readHandoffRequest('https://x/?port=1&state=abcdefghijklmnop'); } catch (e) { refused = e instanceof CliauthError && e.code; }
const login = await startDeviceLogin(${JSON.stringify({ deviceAuthorizationEndpoint: provider.deviceAuthorizationEndpoint, tokenEndpoint: provider.tokenEndpoint, clientId: 'acme-cli' })});
login.cancel();
let cancelled;
try { await login.done; } catch (e) { cancelled = e instanceof CliauthError && e.code; }
postMessage({ refused, userCode: /^[A-Z]{4}-[A-Z]{4}$/.test(login.userCode), cancelled, localStorage: typeof localStorage });
`,
  );
  page('worker.html', `<script type="module">
    const w = new Worker('/worker.js', { type: 'module' });
    w.onmessage = (e) => { window.__result = e.data; };
    w.onerror = (e) => { window.__result = { error: e.message }; };
  </script>`);
  const p = await browser.context.newPage();
  await p.goto(`${site.origin}/worker.html`);
  const result = await p.waitForFunction(() => window.__result, null, { timeout: 20000 }).then((h) => h.jsonValue());
  // No Web Storage in a worker: the tokens would go to a memory store.
  assert.deepEqual(result, { refused: 'invalid_argument', userCode: true, cancelled: 'cancelled', localStorage: 'undefined' });
  await p.close();
});
