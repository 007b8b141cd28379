// cliauth — the page helpers, for Node.js (20.19+; entropy from its global WebCrypto, `crypto.getRandomValues`): the wasm module is loaded
// synchronously at import; `init()` resolves at once.
import { readFileSync } from 'node:fs';
import { initSync } from './cliauth_page.js';

export * from './page.js';

initSync({ module: readFileSync(new URL('./cliauth_page_bg.wasm', import.meta.url)) });

/** Resolves at once: the module is already loaded. */
export default function init() {
  return Promise.resolve();
}
