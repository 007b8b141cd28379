// The packaging test in Node: `npm pack` the package, install the tarball into a
// fresh project, import it as ESM (`cliauth` and `cliauth/full`), run the shared
// vectors through it, and type-check a strict TypeScript consumer against its
// declarations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { here, packAndInstall } from './common.mjs';

const installed = packAndInstall();
test.after(() => rmSync(installed.work, { recursive: true, force: true }));

test('the tarball holds only the whitelisted files', () => {
  const { files } = installed;
  assert.ok(files.includes('package.json'));
  for (const f of files) {
    assert.ok(f === 'package.json' || f === 'README.md' || f === 'LICENSE-MIT' || f === 'LICENSE-APACHE' || f.startsWith('dist/'), `unexpected file ${f}`);
  }
  for (const f of ['LICENSE-MIT', 'LICENSE-APACHE', 'dist/index.js', 'dist/node.js', 'dist/full.js', 'dist/full-node.js', 'dist/index.d.ts', 'dist/full.d.ts', 'dist/cliauth_page_bg.wasm', 'dist/cliauth_full_bg.wasm', 'dist/handoff.js', 'dist/handoff.d.ts', 'dist/cliauth_handoff_bg.wasm', 'dist/handoff-inline.js', 'dist/handoff-inline.d.ts', 'dist/device.js', 'dist/device.d.ts', 'dist/cliauth_device_bg.wasm']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  const pkg = JSON.parse(readFileSync(path.join(installed.project, 'node_modules/cliauth/package.json'), 'utf8'));
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.engines.node, '>=20.19');
  // Only the Node entries do something at import (they load the wasm module).
  assert.deepEqual(pkg.sideEffects, ['./dist/node.js', './dist/full-node.js']);
  for (const entry of ['index.js', 'handoff.js', 'handoff-inline.js', 'device.js', 'full.js', 'node.js', 'full-node.js']) {
    const text = readFileSync(path.join(installed.project, 'node_modules/cliauth/dist', entry), 'utf8');
    assert.doesNotMatch(text, /globalThis\.crypto\s*(\?\?|\|\|)?=/, `${entry} must not patch globalThis.crypto`);
  }
  for (const entry of Object.values(pkg.exports).filter((e) => typeof e === 'object')) {
    assert.equal(Object.keys(entry)[0], 'types', 'exports must list `types` first');
  }
});

test('ESM import from a fresh project: the shared vectors pass through the installed package', () => {
  const script = path.join(installed.project, 'vectors.mjs');
  writeFileSync(
    script,
    `import init, * as page from 'cliauth';
import fullInit, * as full from 'cliauth/full';
import handoffInit, * as handoff from 'cliauth/handoff';
import inlineInit, * as inline from 'cliauth/handoff/inline';
import deviceInit, * as device from 'cliauth/device';
import { runVectors } from ${JSON.stringify(pathToFileURL(path.join(here, 'vectors.mjs')).href)};
import { vectorFiles } from ${JSON.stringify(pathToFileURL(path.join(here, 'common.mjs')).href)};
await init();
await fullInit();
await handoffInit();
await deviceInit();
await inlineInit();
if (typeof inline.readHandoffRequest !== 'function' || inline.handoffRedirectUrl !== handoff.handoffRedirectUrl) throw new Error('cliauth/handoff/inline (Node: the Node entry)');
if (typeof handoff.readHandoffRequest !== 'function' || typeof device.userCodeInput !== 'function') throw new Error('per-page entries (Node)');
if (device.normalizeUserCode('wdjb mjht') !== 'WDJB-MJHT') throw new Error('cliauth/device in Node');
if (typeof page.readHandoffRequest !== 'function' || typeof page.createPkce !== 'undefined') throw new Error('page entry exports');
const outcome = await runVectors(full, vectorFiles());
console.log(JSON.stringify({ cases: outcome.cases, failures: outcome.failures }));
`,
  );
  const result = JSON.parse(execFileSync('node', [script], { cwd: installed.project, encoding: 'utf8' }));
  console.log(`installed package (Node): ${result.cases} vector cases`);
  assert.deepEqual(result.failures, []);
  assert.ok(result.cases >= 200);
});

test('the declarations type-check a strict consumer and reject misuse (real unions, no any)', () => {
  const dts = ['index.d.ts', 'full.d.ts', 'handoff.d.ts', 'handoff-inline.d.ts', 'device.d.ts'].map((f) => readFileSync(path.join(installed.project, 'node_modules/cliauth/dist', f), 'utf8'));
  for (const text of dts) {
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const hit = code.match(/.*\bany\b.*/);
    assert.equal(hit, null, `declarations must not use \`any\`: ${hit?.[0]}`);
  }
  writeFileSync(
    path.join(installed.project, 'consumer.ts'),
    `import init, { CliauthError, readHandoffRequest, deliverHandoff, userCodeInput, type ErrorCode } from 'cliauth';
import fullInit, { startDeviceLogin, KeyRegistry, getAccessToken, memoryStore, type Tokens } from 'cliauth/full';
import handoffInit, * as handoff from 'cliauth/handoff';
import inlineInit, * as inline from 'cliauth/handoff/inline';
import deviceInit, * as device from 'cliauth/device';

export async function perPage(): Promise<string> {
  await handoffInit();
  await inlineInit();
  await deviceInit();
  const same: handoff.HandoffRequest = inline.readHandoffRequest('https://app.example/cli-auth');
  // @ts-expect-error — the single-file entry has no device helpers either
  inline.userCodeInput('x');
  const request: handoff.HandoffRequest = handoff.readHandoffRequest();
  const url: string = handoff.handoffRedirectUrl(request, { code: 'c' });
  // @ts-expect-error — the cli-auth page's module has no device helpers
  handoff.userCodeInput('x');
  // @ts-expect-error — the device page's module has no handoff helpers
  device.readHandoffRequest();
  const e: handoff.CliauthError | undefined = device.apiError({ status: 429, headers: {}, body: '' });
  return url + same.state + device.userCodeInput('wdjb').display + (e?.code ?? '');
}

export async function page(): Promise<string> {
  await init();
  const request = readHandoffRequest();
  const mode: 'redirect' | 'post' | 'manual' = request.mode;
  const manual = await deliverHandoff(request, { apiKey: 'k' }, { mode: 'manual' });
  const text: string = manual.masked + manual.pasteText + mode;
  try {
    await deliverHandoff(request, { code: 'c' });
  } catch (e) {
    if (e instanceof CliauthError) {
      const code: ErrorCode = e.code;
      const exit: 1 | 2 | 3 | 4 | 5 | 130 = e.exitCode;
      // @ts-expect-error — not an error code
      if (e.code === 'no_such_code') return 'x';
      return code + exit + (e.hint ?? '');
    }
  }
  // @ts-expect-error — a credential is { code } or { apiKey }, not both
  deliverHandoff(request, { code: 'c', apiKey: 'k' });
  // @ts-expect-error — unknown delivery mode
  deliverHandoff(request, { code: 'c' }, { mode: 'fax' });
  return text + userCodeInput('wdjb').display;
}

export async function full(): Promise<void> {
  await fullInit();
  const registry = new KeyRegistry([{ id: 'a', product: 'A', label: 'key', prefix: 'a_', charset: 'base62', minLen: 10, maxLen: 40 }]);
  const d = registry.diagnose('x');
  if (!d.ok) {
    // @ts-expect-error — not a key problem
    if (d.problem === 'bad') return;
  }
  const login = await startDeviceLogin({ deviceAuthorizationEndpoint: 'https://a/d', tokenEndpoint: 'https://a/t', clientId: 'c' }, { store: memoryStore() });
  const tokens: Tokens = await login.done;
  if (tokens.kind === 'oauth') {
    const refreshable: boolean = tokens.refreshable;
    void refreshable;
  }
  await getAccessToken({ tokenEndpoint: 'https://a/t', clientId: 'c' });
}
`,
  );
  const tsc = path.join(here, 'node_modules/typescript/bin/tsc');
  for (const resolution of [['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['--module', 'esnext', '--moduleResolution', 'bundler']]) {
    execFileSync('node', [tsc, '--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022,dom', ...resolution, 'consumer.ts'], {
      cwd: installed.project,
      stdio: 'inherit',
    });
  }
});
