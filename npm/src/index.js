// cliauth — the page helpers (cli-auth page, device-verification page) for browsers
// and bundlers. `await init()` once, then call the functions.
//
// The module is loaded by hand (no wasm-bindgen glue: see page-wasm.js), streamed
// from `cliauth_page_bg.wasm` next to this file unless `init` is told otherwise.
import { imports, use } from './page-wasm.js';

export * from './page.js';

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
      ? WebAssembly.instantiateStreaming(input, imports)
      : WebAssembly.instantiate(await input.arrayBuffer(), imports);
  }
  return WebAssembly.instantiate(input, imports);
}

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  ready ??= instantiate(input ?? new URL('cliauth_page_bg.wasm', import.meta.url)).then((r) => {
    const { exports } = r.instance ?? r;
    exports.__wbindgen_start();
    use(exports);
  });
  return ready;
}
