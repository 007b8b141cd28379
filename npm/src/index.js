// cliauth — both pages' helpers (the cli-auth page, the device-verification page)
// for browsers and bundlers. `await init()` once, then call the functions. A page
// that needs only one set loads less: `cliauth/handoff` or `cliauth/device`.
//
// The module is loaded by hand (no wasm-bindgen glue: see page-wasm.js), streamed
// from `cliauth_page_bg.wasm` next to this file unless `init` is told otherwise.
import { load } from './page-wasm.js';

export * from './page.js';

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  return load(input ?? new URL('cliauth_page_bg.wasm', import.meta.url));
}
