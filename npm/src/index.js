// cliauth — the page helpers (cli-auth page, device-verification page) for browsers
// and bundlers. `await init()` once, then call the functions.
import initWasm from './cliauth_page.js';

export * from './page.js';

let ready;

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  ready ??= initWasm(input === undefined ? undefined : { module_or_path: input }).then(() => undefined);
  return ready;
}
