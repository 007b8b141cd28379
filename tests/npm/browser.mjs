// Chromium (/usr/bin/chromium, never a downloaded browser) through playwright-core,
// a static file server, and the loopback harness process.
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

/**
 * A page in one file, the way an app's bundler builds it: `script` (a module script
 * whose imports are resolved from `resolveDir`) bundled by esbuild into an inline
 * `<script type="module">`. With `cliauth/handoff/inline` the page then fetches
 * nothing but itself. Returns the HTML.
 */
export async function singleFilePage({ title, script, resolveDir, body = '' }) {
  const { build } = await import('esbuild');
  const out = await build({
    stdin: { contents: script, resolveDir, sourcefile: 'page.js' },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  // An inline script ends at the first `</script`: the bundle must not contain one.
  const js = out.outputFiles[0].text.replace(/<\/(script)/gi, '<\\/$1');
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n<body>\n${body}<script type="module">${js}</script>\n</body>\n</html>\n`;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/**
 * An HTTP server on 127.0.0.1: `routes` maps a URL path prefix to a directory (files
 * served as they are) or to a function `(req, res, body) => void`.
 */
export async function serve(routes) {
  const log = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url, 'http://x');
    log.push({ method: req.method, path: url.pathname, headers: req.headers, body });
    const prefix = Object.keys(routes)
      .filter((p) => url.pathname === p || url.pathname.startsWith(p.endsWith('/') ? p : `${p}/`))
      .sort((a, b) => b.length - a.length)[0];
    const route = prefix === undefined ? undefined : routes[prefix];
    if (typeof route === 'function') return route(req, res, body, url);
    if (typeof route === 'string') {
      const rel = decodeURIComponent(url.pathname.slice(prefix.length)).replace(/^\/+/, '') || 'index.html';
      const file = path.resolve(route, rel);
      if (file.startsWith(path.resolve(route)) && statSync(file, { throwIfNoEntry: false })?.isFile()) {
        res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        return res.end(readFileSync(file));
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  return { port, origin: `http://127.0.0.1:${port}`, log, close: () => new Promise((r) => server.close(r)) };
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A fresh headless Chromium profile; `args` are added to the standard flags. */
export async function launch(args = []) {
  const profile = mkdtempSync(path.join(tmpdir(), 'cliauth-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CLIAUTH_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects a page's console errors and failed requests, for assertion messages. */
export function watch(page) {
  const seen = { console: [], requests: [] };
  page.on('console', (m) => seen.console.push(`${m.type()}: ${m.text()}`));
  page.on('request', (r) => seen.requests.push(`${r.method()} ${r.url()}`));
  return seen;
}

/**
 * Starts the loopback harness (the real cliauth loopback server). Resolves once it
 * listens, with `{port, state, events, next(type), stop()}`.
 */
export async function harness(args = []) {
  const bin = process.env.CLIAUTH_HARNESS;
  if (!bin) throw new Error('CLIAUTH_HARNESS is not set (run through `cargo xtask test`)');
  const child = spawn(bin, ['--timeout-secs', '60', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line);
    events.push(event);
    for (const w of [...waiters]) {
      if (w.type === event.event) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const exited = once(child, 'exit');
  const next = (type, timeoutMs = 15000) => {
    const found = events.find((e) => e.event === type && !e.taken);
    if (found) {
      found.taken = true;
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`harness: no ${type} event (saw ${JSON.stringify(events)})`)), timeoutMs);
      waiters.push({ type, resolve: (e) => { clearTimeout(timer); e.taken = true; resolve(e); } });
    });
  };
  const listening = await next('listening');
  return {
    port: listening.port,
    state: listening.state,
    events,
    requests: () => events.filter((e) => e.event === 'request'),
    next,
    exited,
    stop: () => {
      if (child.exitCode === null) child.kill();
      return exited;
    },
  };
}
