// Helpers shared by the npm tests.
import { readFileSync, readdirSync } from 'node:fs';
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
