// cliauth — the page helpers, for Node.js (20.19+): the wasm module is loaded
// synchronously at import; `init()` resolves at once.
import { readFileSync } from 'node:fs';
import { imports, use } from './page-wasm.js';

export * from './page.js';

const { exports } = new WebAssembly.Instance(
  new WebAssembly.Module(readFileSync(new URL('./cliauth_page_bg.wasm', import.meta.url))),
  imports,
);
exports.__wbindgen_start();
use(exports);

/** Resolves at once: the module is already loaded. */
export default function init() {
  return Promise.resolve();
}
