// cliauth/full for Node.js (20.19+; entropy from its global WebCrypto, `crypto.getRandomValues`): the wasm module is loaded synchronously at import.
import { readFileSync } from 'node:fs';
import { fullImports, useFull } from './full-api.js';

export * from './full-exports.js';

const module = new WebAssembly.Module(readFileSync(new URL('./cliauth_full_bg.wasm', import.meta.url)));
useFull(new WebAssembly.Instance(module, fullImports).exports);

/** Resolves at once: the module is already loaded. */
export default function init() {
  return Promise.resolve();
}
