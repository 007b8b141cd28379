// The secret scanner can fail: planted secrets are found (whole, URL-encoded, as a
// 16-character piece), what is shown by design is not a finding, recorder files are
// read as the servers write them, and a scenario whose DEMO_HOME holds a secret
// outside credentials.json fails its scan.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Ledger, scanAll, WINDOW, s256 } from './lib/scan.mjs';
import { Scenario } from './lib/harness.mjs';

const KEY = 'demo_dev_Q3xv9LmT2pRk8ZsWc4Yd6NfHb1Ja7GeU';
const TOKEN = 'demo_at_x7Kp2Rm9Wq4Zt6Yv1Bn8Cs3Df5Gh0Jk2Lm4Np6Qr8St';
const VERIFIER = 'Vw-9_kQ2pL7xR4mT8zN1cB6yH3dF5gJ0sA2eU4iO6uY';
const OPAQUE = 'Zm9v+YmFy/YmF6=cXV4';

function ledger() {
  const l = new Ledger();
  l.add('api_key', KEY, 'test');
  l.add('access_token', TOKEN, 'test');
  l.add('code_verifier', VERIFIER, 'test');
  l.add('bearer', OPAQUE, 'test');
  return l;
}

test('scanner: finds whole, URL-encoded and partial secrets, and names where', () => {
  const items = [
    { label: 'clean stderr', text: '✓ Logged in to Demo\n  Key:      demo_dev_…7GeU\n' },
    { label: 'leaky log', text: `DEBUG sent Authorization: Bearer ${TOKEN}\n` },
    { label: 'encoded', text: `GET /x?k=${encodeURIComponent(OPAQUE)}` },
    { label: 'key', text: `{"key":"${KEY}"}` },
    { label: 'truncated', text: `verifier=${VERIFIER.slice(10, 10 + WINDOW)}…` },
  ];
  const report = scanAll(items, ledger());
  assert.equal(report.values, 4);
  assert.equal(report.items, 5);
  assert.equal(report.bytes, items.reduce((n, i) => n + Buffer.byteLength(i.text), 0));
  const found = report.findings.map((f) => `${f.kind}@${f.label}: ${f.how}`).sort();
  assert.deepEqual(found, [
    'access_token@leaky log: whole value',
    'api_key@key: whole value',
    'bearer@encoded: URL-encoded',
    'code_verifier@truncated: 16-character piece at 10',
  ]);
  for (const f of report.findings) {
    assert.ok(!f.context.includes(TOKEN), 'a finding does not repeat the secret');
  }
});

test('scanner: a verifier that never reached a server is found by its challenge', () => {
  // RFC 7636 Appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  assert.equal(s256(verifier), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  const l = new Ledger();
  l.addChallengeFrom('http://127.0.0.1:1/authorize?code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&state=x');
  l.addChallengeFrom('http://127.0.0.1:1/device');
  assert.equal(l.challenges.size, 1);
  const items = [
    { label: 'clean', text: `challenge E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM ${'x'.repeat(60)}` },
    { label: 'leaky', text: `pkce=${verifier}&more` },
    { label: 'embedded', text: `AAAA${verifier}BBBB` },
  ];
  const found = scanAll(items, l).findings.map((f) => `${f.label}: ${f.how}`);
  assert.deepEqual(found, ['leaky: matches a code_challenge (S256)', 'embedded: matches a code_challenge (S256)']);
});

test('scanner: masked keys, prefixes and user codes are not findings', () => {
  const l = ledger();
  l.userCodes.add('WDJB-MJHT');
  const items = [
    { label: 'status', text: 'Key: demo_dev_…7GeU (demo_dev_, demo_at_)\nenter WDJB-MJHT\n' },
    // 15 characters of the random part: shorter than a piece.
    { label: 'short', text: TOKEN.slice(8, 8 + WINDOW - 1) },
  ];
  assert.deepEqual(scanAll(items, l).findings, []);
  assert.throws(() => l.add('x', 'short', 'test'), /not a secret worth scanning/);
});

test('scanner: reads recorder files; user codes are kept apart', (t) => {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'cliauth-scan-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'record.jsonl');
  fs.writeFileSync(file, [
    JSON.stringify({ kind: 'access_token', secret: true, value: TOKEN, at: 'POST /token' }),
    JSON.stringify({ kind: 'user_code', secret: false, value: 'WDJB-MJHT', at: 'POST /device_authorization' }),
    '',
  ].join('\n'));
  const l = new Ledger();
  l.loadRecord(file);
  l.add('stored access_token', TOKEN, 'credentials.json');
  assert.deepEqual(l.kinds(), { access_token: 1, 'stored access_token': 1 });
  assert.deepEqual(l.primaryKinds(), { access_token: 1 });
  assert.equal(l.size, 1);
  l.add('stored refresh_token', `${TOKEN}-rt`, 'credentials.json');
  l.add('callback_code', `${TOKEN}-code`, 'browser navigation');
  l.add('handoff_code', `${TOKEN}-code`, 'server record');
  assert.deepEqual(l.primaryKinds(), { access_token: 1, refresh_token: 1, handoff_code: 1 });
  assert.deepEqual([...l.userCodes], ['WDJB-MJHT']);
  assert.throws(() => new Ledger().loadRecord(path.join(dir, 'missing.jsonl')), /is missing/);
});

test('scanner: a scenario fails when a secret sits in a file under DEMO_HOME', async (t) => {
  const s = new Scenario('planted', { report: false });
  t.after(() => s.cleanup());
  fs.mkdirSync(s.home, { recursive: true });
  s.ledger.add('api_key', KEY, 'test');
  // credentials.json is the store: secrets belong there and it is not scanned.
  fs.writeFileSync(path.join(s.home, 'credentials.json'), JSON.stringify({ key: KEY }));
  const clean = await s.finish();
  assert.equal(clean.findings.length, 0);
  assert.ok(clean.items === 0, 'credentials.json is not scanned');

  const again = new Scenario('planted-2', { report: false });
  t.after(() => again.cleanup());
  fs.mkdirSync(path.join(again.home, 'cache'), { recursive: true });
  again.ledger.add('api_key', KEY, 'test');
  fs.writeFileSync(path.join(again.home, 'cache', 'debug.log'), `key=${KEY}\n`);
  await assert.rejects(again.finish(), /secrets leaked.*\n {2}api_key \(whole value\) in file home\/cache\/debug\.log/);
});

test('scanner: a scenario fails when an expected kind of secret was never observed', async (t) => {
  const s = new Scenario('ledger-check', { report: false });
  t.after(() => s.cleanup());
  await assert.rejects(s.finish({ expectKinds: ['access_token'] }), /the secret ledger has no access_token/);
});

test('scanner: a secret democli prints is caught (auth token, not marked as printing it by design)', async (t) => {
  const s = new Scenario('real-leak', { report: false });
  t.after(() => s.cleanup());
  const server = await s.devServer();
  const login = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'demo' }),
  });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const minted = await fetch(`${server.url}/api/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: '{}',
  });
  const key = (await minted.json()).api_key;
  assert.equal((await s.run(server, ['auth', 'login', '--api-key', key])).code, 0);
  const token = await s.run(server, ['auth', 'token']);
  assert.equal(token.code, 0);
  assert.ok(token.stdout.includes(key));
  await assert.rejects(s.finish(), /api_key.*\(whole value\) in democli#2 .*auth token \[stdout\]/);
});
