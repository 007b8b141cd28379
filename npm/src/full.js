// cliauth/full — everything: the page helpers, PKCE, state, keys, JWT, token
// responses, browser and device logins, access tokens with refresh, credential
// storage. For browsers and bundlers; `await init()` once.
import initWasm from './cliauth_full.js';
import { useFull } from './full-api.js';

export * from './full-exports.js';

let ready;

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  ready ??= initWasm(input === undefined ? undefined : { module_or_path: input }).then(useFull);
  return ready;
}
