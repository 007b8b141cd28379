// cliauth — the page helpers (cli-auth page, device-verification page) for browsers
// and bundlers. `await init()` once, then call the functions.
//
// The module is loaded by hand (no wasm-bindgen glue: see page-wasm.js), streamed
// from `cliauth_page_bg.wasm` next to this file unless `init` is told otherwise.
import { imports, instantiate, use } from './page-wasm.js';

export * from './page.js';

let ready;

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  ready ??= instantiate(imports, input ?? new URL('cliauth_page_bg.wasm', import.meta.url)).then((r) => {
    const { exports } = r.instance ?? r;
    exports.__wbindgen_start();
    use(exports);
  });
  return ready;
}
