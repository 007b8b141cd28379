// cliauth/full — everything: the page helpers, PKCE, state, keys, JWT, token
// responses, browser and device logins, access tokens with refresh, credential
// storage. For browsers and bundlers; `await init()` once.
//
// The module is loaded by hand (no wasm-bindgen glue: see full-api.js), streamed
// from `cliauth_full_bg.wasm` next to this file unless `init` is told otherwise.
import { fullImports, useFull } from './full-api.js';

export * from './full-exports.js';

let ready;

async function instantiate(input) {
  if (typeof input === 'string' || input instanceof URL || (typeof Request === 'function' && input instanceof Request)) {
    input = fetch(input);
  }
  input = await input;
  if (typeof Response === 'function' && input instanceof Response) {
    if (!input.ok) throw new Error(`cliauth: the wasm module could not be fetched (HTTP ${input.status})`);
    // Streaming compiles while the bytes arrive; it needs the right content type.
    return input.headers.get('Content-Type')?.startsWith('application/wasm')
      ? WebAssembly.instantiateStreaming(input, fullImports)
      : WebAssembly.instantiate(await input.arrayBuffer(), fullImports);
  }
  return WebAssembly.instantiate(input, fullImports);
}

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  ready ??= instantiate(input ?? new URL('cliauth_full_bg.wasm', import.meta.url)).then((r) => {
    useFull((r.instance ?? r).exports);
  });
  return ready;
}
