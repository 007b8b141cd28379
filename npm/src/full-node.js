// cliauth/full for Node.js (20.19+; entropy from its global WebCrypto, `crypto.getRandomValues`): the wasm module is loaded synchronously at import.
import { readFileSync } from 'node:fs';
import { initSync } from './cliauth_full.js';
import { useFull } from './full-api.js';

export * from './full-exports.js';

useFull(initSync({ module: readFileSync(new URL('./cliauth_full_bg.wasm', import.meta.url)) }));

/** Resolves at once: the module is already loaded. */
export default function init() {
  return Promise.resolve();
}
