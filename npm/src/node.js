// cliauth — the page helpers, for Node.js (18+): the wasm module is loaded
// synchronously at import; `init()` resolves at once.
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { initSync } from './cliauth_page.js';

export * from './page.js';

// Node 18 has WebCrypto but not as a global; wasm draws entropy from crypto.getRandomValues.
globalThis.crypto ??= webcrypto;
initSync({ module: readFileSync(new URL('./cliauth_page_bg.wasm', import.meta.url)) });

/** Resolves at once: the module is already loaded. */
export default function init() {
  return Promise.resolve();
}
