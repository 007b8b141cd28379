// Helpers shared by the npm tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const dist = path.join(root, 'npm', 'dist');

/** Every tests/vectors/*.json file, by name. */
export function vectorFiles() {
  const dir = path.join(root, 'tests', 'vectors');
  const out = {};
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.json')) out[f.slice(0, -5)] = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
  }
  return out;
}

/** Logs a vector outcome the way the suites report it. */
export function describeOutcome(label, outcome) {
  const skipped = Object.entries(outcome.skipped)
    .flatMap(([file, reasons]) => Object.entries(reasons).map(([reason, n]) => `    ${file}: ${n} skipped — ${reason}`))
    .join('\n');
  console.log(`${label}: ${outcome.cases} vector cases passed through the public API\n${skipped}`);
}

/** `npm pack` the package and install the tarball into a fresh project. */
export function packAndInstall() {
  const work = mkdtempSync(path.join(tmpdir(), 'cliauth-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: path.join(root, 'npm'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out);
  const tarball = path.join(work, info.filename);
  const project = path.join(work, 'project');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { work, tarball, project, files: info.files.map((f) => f.path).sort() };
}

