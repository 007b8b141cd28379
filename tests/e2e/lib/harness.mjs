// The end-to-end harness: the real `democli` and `cliauth-devserver` binaries, panva's
// oidc-provider (tests/interop/server.mjs) and Debian's Chromium through
// playwright-core.
//
// Every scenario gets a `Scenario` (see `scenario()`): its own temp directory with
// DEMO_HOME, its own servers and browser, a capture of everything democli prints (and
// the dev server's request log), and a ledger of every secret used. At its end the
// scenario scans the capture (plus every file under DEMO_HOME except credentials.json)
// for every secret and fails on any occurrence (see scan.mjs).
//
// Variants (E2E_VARIANT): `verbose` runs every democli command with `-vv` (trace
// logging, a superset of `-v`); `json` with `--json -vv`. Assertions accept both.
//
// Environment:
//   CLIAUTH_E2E_TARGET_DIR  where the binaries are (default: $CARGO_TARGET_DIR or <repo>/target)
//   CLIAUTH_CHROMIUM        the browser (default /usr/bin/chromium)
//   E2E_VARIANT             verbose (default) | json
//   E2E_REPORT_DIR          where each scenario writes its scan summary (default: tests/e2e/test-results)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

import { Ledger, scanAll } from './scan.mjs';

export const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const TARGET = process.env.CLIAUTH_E2E_TARGET_DIR
  || process.env.CARGO_TARGET_DIR
  || path.join(ROOT, 'target');
export const DEMOCLI = path.join(TARGET, 'debug', 'democli');
export const DEVSERVER = path.join(TARGET, 'debug', 'cliauth-devserver');
export const CHROMIUM = process.env.CLIAUTH_CHROMIUM || '/usr/bin/chromium';
export const INTEROP = path.join(ROOT, 'tests', 'interop');
export const OPEN_URL = path.join(import.meta.dirname, 'open-url.sh');
export const VARIANT = process.env.E2E_VARIANT || 'verbose';
export const JSON_MODE = VARIANT === 'json';
export const REPORT_DIR = process.env.E2E_REPORT_DIR || path.join(ROOT, 'tests', 'e2e', 'test-results');

if (!['verbose', 'json'].includes(VARIANT)) {
  throw new Error(`E2E_VARIANT must be verbose or json, not ${VARIANT}`);
}

/** The flags every democli command gets in this variant. */
export const VARIANT_FLAGS = JSON_MODE ? ['--json', '-vv'] : ['-vv'];

/** A guard against hangs, never an assertion about speed. */
const HANG_GUARD_MS = 60_000;
/** What democli gives the browser: a one-time link on its loopback server. */
export const LAUNCH_LINK = /^http:\/\/127\.0\.0\.1:\d+\/start\/[A-Za-z0-9_-]{43}$/;

for (const [what, file] of [['democli', DEMOCLI], ['cliauth-devserver', DEVSERVER], ['Chromium', CHROMIUM]]) {
  if (!fs.existsSync(file)) {
    throw new Error(`${what} is missing at ${file} (cargo xtask test --only e2e builds it)`);
  }
}

// ── processes ────────────────────────────────────────────────────────────────

/** Text of a stream, with waiting for a pattern. */
class Stream {
  constructor(readable) {
    this.text = '';
    this.waiters = new Set();
    this.ended = false;
    readable.setEncoding('utf8');
    readable.on('data', (chunk) => {
      this.text += chunk;
      this.#check();
    });
    readable.on('end', () => {
      this.ended = true;
      this.#check();
    });
  }

  #check() {
    for (const w of this.waiters) {
      const m = this.text.match(w.pattern);
      if (m) {
        this.waiters.delete(w);
        w.resolve(m);
      } else if (this.ended) {
        this.waiters.delete(w);
        w.reject(new Error(`the stream ended without ${w.pattern}:\n${this.text}`));
      }
    }
  }

  /** Resolves with the match once `pattern` appears; rejects if the stream ends first. */
  waitFor(pattern) {
    return guard(new Promise((resolve, reject) => {
      this.waiters.add({ pattern, resolve, reject });
      this.#check();
    }), `waiting for ${pattern}`, () => this.text);
  }
}

function guard(promise, what, context = () => '') {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`hang guard: ${what} for ${HANG_GUARD_MS / 1000}s\n${context()}`)),
      HANG_GUARD_MS,
    );
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/** A spawned process with captured stdout and stderr. */
export class Proc {
  constructor(label, command, args, options) {
    this.label = label;
    this.args = args;
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.stdout = new Stream(this.child.stdout);
    this.stderr = new Stream(this.child.stderr);
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Resolves with `{code, signal, stdout, stderr}` when the process has exited. */
  async result() {
    const { code, signal } = await guard(this.exited, `${this.label} to exit`, () => this.stderr.text);
    return { code, signal, stdout: this.stdout.text, stderr: this.stderr.text };
  }

  /** Whether the process is still running. */
  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stop() {
    if (this.running) {
      this.child.kill('SIGTERM');
    }
    this.child.stdin.destroy();
  }
}

// ── scenario ─────────────────────────────────────────────────────────────────

let scenarioCount = 0;

/**
 * A scenario of one test: call `await s.finish()` at its end (it scans for secrets)
 * and register `s.cleanup` with `t.after`.
 */
export class Scenario {
  /** `report: false` keeps the scan summary out of REPORT_DIR (the scanner's own tests). */
  constructor(name, { report = true } = {}) {
    this.name = name;
    this.report = report;
    this.id = `${String(++scenarioCount).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cliauth-e2e-'));
    this.home = path.join(this.dir, 'home');
    this.urlFile = path.join(this.dir, 'browser-urls.txt');
    this.procs = [];
    this.servers = [];
    this.browsers = [];
    /** Everything captured for the scan: `{label, text}`. */
    this.captured = [];
    /** Output that prints a secret by design (`auth token`): `{label, text}`. */
    this.designated = [];
    this.ledger = new Ledger();
    this.urlsSeen = 0;
    this.recordFiles = [];
    this.commands = 0;
  }

  // ── servers ──

  /** Starts `cliauth-devserver` with the recorder and the request log. */
  async devServer(extraArgs = []) {
    const record = path.join(this.dir, `devserver-secrets-${this.recordFiles.length}.jsonl`);
    this.recordFiles.push(record);
    const proc = new Proc('cliauth-devserver', DEVSERVER, [
      '--device-interval', '1s',
      '--log-requests',
      '--record-secrets', record,
      ...extraArgs,
    ], { env: baseEnv() });
    this.procs.push(proc);
    const [line] = await proc.stdout.waitFor(/^\{.*\}\n/);
    const ready = JSON.parse(line);
    const server = {
      kind: 'devserver',
      url: ready.url,
      issuer: ready.issuer,
      port: Number(new URL(ready.url).port),
      proc,
      record,
      async stats() {
        const r = await fetch(`${ready.url}/_dev/stats`);
        return r.json();
      },
    };
    this.servers.push(server);
    return server;
  }

  /**
   * Starts tests/interop/server.mjs (oidc-provider) with HTML interaction forms and
   * its secret recorder.
   */
  async oidcProvider() {
    const record = path.join(this.dir, `oidc-secrets-${this.recordFiles.length}.jsonl`);
    this.recordFiles.push(record);
    const proc = new Proc('oidc-provider', process.execPath, ['server.mjs'], {
      cwd: INTEROP,
      env: { ...baseEnv(), INTERACTIONS: 'forms', RECORD_SECRETS: record },
    });
    this.procs.push(proc);
    const [line] = await proc.stdout.waitFor(/^\{.*\}\n/);
    const ready = JSON.parse(line);
    const server = {
      kind: 'oidc-provider',
      url: ready.issuer,
      issuer: ready.issuer,
      clientId: ready.client_id,
      port: ready.port,
      proc,
      record,
      async stats() {
        const r = await fetch(`${ready.issuer}/test/stats`);
        return r.json();
      },
    };
    this.servers.push(server);
    return server;
  }

  /** A plain local HTTP server counting its requests (a private-network target). */
  async counter() {
    const hits = [];
    const server = createServer((req, res) => {
      hits.push(req.url);
      res.end('ok');
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push({ kind: 'counter', close: () => server.close() });
    return { port: server.address().port, hits };
  }

  // ── browser ──

  /** A fresh headless Chromium (its own profile) with the TOOLCHAIN.md flags. */
  async browser({ args = [] } = {}) {
    const profile = fs.mkdtempSync(path.join(this.dir, 'chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        ...args,
      ],
    });
    this.browsers.push(context);
    context.setDefaultTimeout(HANG_GUARD_MS);
    context.setDefaultNavigationTimeout(HANG_GUARD_MS);
    // Every credential delivered to a loopback callback is a secret of this run.
    context.on('request', (request) => this.#observe(request.url()));
    const page = context.pages()[0] || (await context.newPage());
    return { context, page };
  }

  #observe(url) {
    let u;
    try {
      u = new URL(url);
    } catch {
      return;
    }
    if (u.hostname !== '127.0.0.1' || u.pathname !== '/callback') {
      return;
    }
    for (const name of ['code', 'api_key', 'access_token', 'refresh_token']) {
      const v = u.searchParams.get(name);
      // Shorter values (a hand-made forgery) would only make noise in the scan.
      if (v && v.length >= 8) {
        this.ledger.add(name === 'code' ? 'callback_code' : name, v, 'browser navigation');
      }
    }
  }

  /**
   * Opens democli's next launch link in `page`, as the browser it started would:
   * democli hands `BROWSER` only `http://127.0.0.1:P/start/<token>` (no `state`,
   * no challenge on a command line), which redirects once to the authorization or
   * cli-auth page URL. Resolves with the link, that URL (`target`) and the response.
   */
  async openLaunchLink(page, options) {
    const link = await this.nextBrowserUrl();
    assert.match(link, LAUNCH_LINK, 'democli opens a one-time launch link');
    const response = await page.goto(link, options);
    const chain = [];
    for (let r = response.request(); r; r = r.redirectedFrom()) chain.unshift(r.url());
    assert.equal(chain[0], link);
    assert.ok(chain.length >= 2, `the launch link redirects: ${chain.join(' → ')}`);
    const target = chain[1];
    this.ledger.addChallengeFrom(target);
    return { link, target, response };
  }

  /** Resolves with the next URL democli handed to `BROWSER`. */
  async nextBrowserUrl() {
    const wanted = this.urlsSeen + 1;
    const urls = await guard(new Promise((resolve) => {
      const look = () => {
        const lines = fs.existsSync(this.urlFile)
          ? fs.readFileSync(this.urlFile, 'utf8').split('\n').filter(Boolean)
          : [];
        if (lines.length >= wanted) {
          resolve(lines);
        } else {
          setTimeout(look, 25);
        }
      };
      look();
    }), 'democli to open the browser');
    this.urlsSeen = wanted;
    this.ledger.addChallengeFrom(urls[wanted - 1]);
    return urls[wanted - 1];
  }

  // ── democli ──

  /** The environment of a democli command against `server`. */
  env(server, extra = {}) {
    const env = {
      ...baseEnv(),
      DEMO_HOME: this.home,
      BROWSER: OPEN_URL,
      E2E_URL_FILE: this.urlFile,
      DEMO_LOGIN_TIMEOUT: '60s',
    };
    if (server) {
      env.DEMO_ISSUER = server.issuer;
      env.DEMO_CLI_AUTH_PAGE = 'off';
      if (server.kind === 'oidc-provider') {
        env.DEMO_CLIENT_ID = server.clientId;
        env.DEMO_SCOPES = 'openid email';
      }
    }
    return { ...env, ...extra };
  }

  /**
   * Starts `democli <args>` with this variant's flags. `extraEnv` overrides the
   * environment. stdin is at its end (like a CI job) unless `openStdin`: then it is
   * a pipe that stays open and empty (a terminal where nobody types).
   * `designated`: the command prints a secret by design (`auth token`); its stdout is
   * kept out of the scan.
   */
  democli(server, args, extraEnv = {}, { designated = false, openStdin = false } = {}) {
    const n = ++this.commands;
    const full = [...VARIANT_FLAGS, ...args];
    // Labels name the command without the key given on the command line.
    const shown = full.map((a, i) => (full[i - 1] === '--api-key' ? '<KEY>' : a));
    const label = `democli#${n} ${shown.join(' ')}`;
    const proc = new Proc(label, DEMOCLI, full, { env: this.env(server, extraEnv) });
    if (!openStdin) {
      proc.child.stdin.end();
    }
    proc.designated = designated;
    this.procs.push(proc);
    proc.exited.then(() => this.#collect(proc));
    return proc;
  }

  /** Runs democli to completion; returns `{code, stdout, stderr}`. */
  async run(server, args, extraEnv = {}, options = {}) {
    const proc = this.democli(server, args, extraEnv, options);
    const result = await proc.result();
    await this.#collect(proc);
    return result;
  }

  async #collect(proc) {
    if (proc.collected) {
      return;
    }
    proc.collected = true;
    const target = proc.designated ? this.designated : this.captured;
    target.push({ label: `${proc.label} [stdout]`, text: proc.stdout.text });
    this.captured.push({ label: `${proc.label} [stderr]`, text: proc.stderr.text });
    this.learnCredentials();
  }

  /** The credentials document, or null. */
  credentials() {
    const file = path.join(this.home, 'credentials.json');
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
  }

  /** Adds every credential stored in credentials.json to the ledger. */
  learnCredentials() {
    const doc = this.credentials();
    if (!doc) {
      return;
    }
    const walk = (value, key) => {
      if (typeof value === 'string') {
        if (/token|key|secret|verifier|code/i.test(key) && value.length >= 8) {
          this.ledger.add(`stored ${key}`, value, 'credentials.json');
        }
      } else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          walk(v, k);
        }
      }
    };
    walk(doc, '');
  }

  // ── the end ──

  /**
   * Stops everything, gathers the files and the dev server logs, loads the recorded
   * secrets and scans. Throws (fails the test) on any occurrence of a secret.
   * Returns the scan report.
   */
  async finish({ expectKinds = [] } = {}) {
    await this.stopAll();
    for (const server of this.servers) {
      if (server.kind === 'devserver') {
        this.captured.push({ label: `${server.kind} request log [stderr]`, text: server.proc.stderr.text });
      }
    }
    for (const file of walkFiles(this.home)) {
      if (path.basename(file) === 'credentials.json') {
        continue;
      }
      this.captured.push({ label: `file ${path.relative(this.dir, file)}`, text: fs.readFileSync(file, 'latin1') });
    }
    for (const record of this.recordFiles) {
      this.ledger.loadRecord(record);
    }
    const report = scanAll(this.captured, this.ledger);
    report.scenario = this.id;
    report.variant = VARIANT;
    report.designated = this.designated.map((d) => d.label);
    if (this.report) {
      fs.mkdirSync(REPORT_DIR, { recursive: true });
      fs.writeFileSync(
        path.join(REPORT_DIR, `secret-scan-${VARIANT}-${this.id}.json`),
        `${JSON.stringify(report, null, 2)}\n`,
      );
    }
    const missing = expectKinds.filter((k) => !report.kinds[k]);
    if (missing.length) {
      throw new Error(
        `the secret ledger has no ${missing.join(', ')}: the recorder or the observation broke ` +
          `(kinds: ${JSON.stringify(report.kinds)})`,
      );
    }
    if (report.findings.length) {
      const lines = report.findings.map((f) => `  ${f.kind} (${f.how}) in ${f.label}: …${f.context}…`);
      throw new Error(`secrets leaked into democli's output or files:\n${lines.join('\n')}`);
    }
    return report;
  }

  async stopAll() {
    for (const context of this.browsers.splice(0)) {
      await context.close().catch(() => {});
    }
    for (const proc of this.procs) {
      proc.stop();
    }
    await Promise.all(this.procs.map((p) => p.exited.catch(() => {})));
    for (const proc of this.procs) {
      if (proc.label.startsWith('democli')) {
        await this.#collect(proc);
      }
    }
    for (const server of this.servers) {
      if (server.close) {
        server.close();
      }
    }
  }

  /** For `t.after`: stop what runs and remove the temp directory. */
  async cleanup() {
    await this.stopAll();
    if (!process.env.E2E_KEEP) {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** A scenario bound to a node:test context (cleanup registered). */
export function scenario(t) {
  const s = new Scenario(t.name);
  t.after(() => s.cleanup());
  return s;
}

/** A clean environment: no DEMO_* or BROWSER from the caller, no colours. */
function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DEMO_') && !['BROWSER', 'RUST_LOG', 'NO_COLOR', 'DISPLAY', 'WAYLAND_DISPLAY'].includes(k)) {
      env[k] = v;
    }
  }
  env.NO_COLOR = '1';
  return env;
}

export function* walkFiles(dir) {
  if (!fs.existsSync(dir)) {
    return;
  }
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walkFiles(full);
    } else if (entry.isFile()) {
      yield full;
    }
  }
}

/** The mode bits of a path. */
export function mode(file) {
  return fs.statSync(file).mode & 0o777;
}

// ── democli results ──────────────────────────────────────────────────────────

/**
 * Asserts a successful login in either variant; returns the login outcome JSON (json
 * variant) or null.
 */
export function loginOutcome(result) {
  if (result.code !== 0) {
    throw new Error(`democli failed (exit ${result.code}):\n${result.stderr}\n${result.stdout}`);
  }
  if (JSON_MODE) {
    const out = lastJson(result.stdout);
    if (!out.ok || !out.login) {
      throw new Error(`no login outcome on stdout: ${result.stdout}`);
    }
    // Issue 10: every login says which account it signed in to.
    if (typeof out.login.subject !== 'string' || !out.login.subject) {
      throw new Error(`the login outcome names no account: ${result.stdout}`);
    }
    return out.login;
  }
  if (!/^✓ Logged in to Demo as \S/m.test(result.stderr)) {
    throw new Error(`no success message naming the account:\n${result.stderr}`);
  }
  return null;
}

/** The last JSON line of a text. */
export function lastJson(text) {
  const lines = text.trim().split('\n').filter((l) => l.startsWith('{'));
  if (!lines.length) {
    throw new Error(`no JSON on stdout: ${JSON.stringify(text)}`);
  }
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * The error a failed democli command reported: `{message, hint}` from the `✗` lines
 * (verbose variant) or the JSON envelope (json variant).
 */
export function reportedError(result) {
  if (JSON_MODE) {
    const { error } = lastJson(result.stdout);
    return { message: error.message, hint: error.hint, code: error.code };
  }
  const lines = result.stderr.split('\n');
  const i = lines.findIndex((l) => l.startsWith('✗ '));
  if (i < 0) {
    throw new Error(`no ✗ line on stderr:\n${result.stderr}`);
  }
  return { message: lines[i].slice(2), hint: (lines[i + 1] || '').trim(), code: null };
}
