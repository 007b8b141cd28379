// cliauth/full — everything: the page helpers, PKCE, state, keys, JWT, token
// responses, browser and device logins, access tokens with refresh, credential
// storage. For browsers and bundlers; `await init()` once.
//
// The module is loaded by hand (no wasm-bindgen glue: see full-api.js), streamed
// from `cliauth_full_bg.wasm` next to this file unless `init` is told otherwise.
import { fullImports, useFull } from './full-api.js';
import { instantiate } from './page-wasm.js';

export * from './full-exports.js';

let ready;

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  ready ??= instantiate(fullImports, input ?? new URL('cliauth_full_bg.wasm', import.meta.url)).then((r) => {
    useFull((r.instance ?? r).exports);
  });
  return ready;
}
