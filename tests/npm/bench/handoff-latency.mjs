// Handoff latency benchmark (run by `cargo xtask bench handoff`).
//
// In headless Chromium, the time from navigating to a cli-auth page to the
// credential arriving at the real cliauth loopback server (`cliauth-test-harness`,
// which prints the callback the moment its server accepts it). Three pages, runs
// interleaved: the cliauth package in one file (`cliauth/handoff/inline` bundled into
// the page's inline script, as an app's bundler builds it: nothing else to fetch),
// the package as two preloaded files (`cliauth/handoff` and its wasm module), and a
// minimal hand-written plain-JS page doing the same checks and redirect. The page's
// origin is treated as public (--ip-address-space-overrides), like a real vendor
// page. Prints one JSON line: {"inline": {...}, "package": {...}, "plain": {...}}
// with times in ms.
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { dist, here } from '../common.mjs';
import { harness, launch, serve, singleFilePage } from '../browser.mjs';

const RUNS = Number(process.env.RUNS ?? 25);

// The single-file page: what cliauth.html does, with the inline entry.
const inline = await singleFilePage({
  title: 'handoff latency: the cliauth package in one file',
  resolveDir: here,
  script: `import init, { readHandoffRequest, deliverHandoff } from ${JSON.stringify(path.join(dist, 'handoff-inline.js'))};
await init();
await deliverHandoff(readHandoffRequest(location.href), { code: 'otc-bench' });`,
});
const site = await serve({
  '/pkg': dist,
  '/bench/inline.html': (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(inline);
  },
  '/bench': path.join(here, 'bench'),
});
const browser = await launch([`--ip-address-space-overrides=127.0.0.1:${site.port}=public`]);
// One tab for every run: opening and closing a tab per run made Chromium refuse new
// tabs after a few dozen ("Failed to open a new tab"), and tab creation is not part of
// what is measured. Each run starts from about:blank, so neither page is pre-rendered.
const page = await browser.context.newPage();

async function once(pageName) {
  const cli = await harness();
  try {
    await page.goto('about:blank');
    const t0 = performance.now();
    page.goto(`${site.origin}/bench/${pageName}.html?port=${cli.port}&state=${cli.state}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`).catch(() => {});
    const callback = await cli.next('callback', 20000);
    const elapsed = performance.now() - t0;
    if (callback.code !== 'otc-bench' || callback.state !== cli.state) throw new Error(`unexpected callback ${JSON.stringify(callback)}`);
    // Let the redirect's navigation finish before the next run reuses the tab.
    await page.waitForURL((u) => u.pathname === '/callback', { waitUntil: 'load', timeout: 10000 });
    return elapsed;
  } finally {
    await cli.stop();
  }
}

function summary(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { runs: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s[s.length - 1] };
}

try {
  // One warm-up each (first compile of the wasm, browser caches), not counted.
  const pages = ['inline', 'cliauth', 'plain'];
  for (const p of pages) await once(p);
  const results = Object.fromEntries(pages.map((p) => [p, []]));
  for (let i = 0; i < RUNS; i += 1) {
    for (const p of pages) results[p].push(await once(p));
  }
  console.log(JSON.stringify({ inline: summary(results.inline), package: summary(results.cliauth), plain: summary(results.plain), inlineBytes: inline.length }));
} finally {
  await page.close().catch(() => {});
  await browser.close();
  await site.close();
}
