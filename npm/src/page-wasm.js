// The page boundary's JS half (the Rust half: wasm/src/page.rs). The page helpers
// are one wasm export, `pageCall(op)`: the arguments go in as a JSON array (then a
// 0 byte and a body's raw bytes, if any), and a tagged reply comes out — `v` a JSON
// value, `r` raw text, `e` an error to throw, `E` an error to return. Instead of
// wasm-bindgen's generated glue, which was most of the page module's bytes.
import { CliauthError } from './error.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let wasm;

/** What the page module imports (wasm-bindgen's start hook, unused by it). */
export const imports = { './cliauth_page_bg.js': { __wbindgen_init_externref_table() {} } };

/** Fetches (streaming when it can), compiles and instantiates a module with `imports`. */
export async function instantiate(imports, input) {
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

let ready;

/**
 * A page entry's `init`: instantiates the page module from `input` (the entry's own
 * module by default) once and binds the boundary to it; later calls return the same
 * promise.
 */
export function load(input) {
  ready ??= instantiate(imports, input).then((r) => {
    const { exports } = r.instance ?? r;
    exports.__wbindgen_start();
    use(exports);
  });
  return ready;
}

/** Decodes base64: the browser's own decoder where it has one (`Uint8Array.fromBase64`). */
function base64Bytes(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * A single-file entry's `init`: the module is inside the script (`base64`), so
 * nothing is fetched. Once, like `load`.
 */
export function loadEmbedded(base64) {
  return ready ?? load(compileEmbedded(base64));
}

// Compiled synchronously (an async function runs at once up to its first `await`): a
// page module is a few dozen KB, far below what browsers compile on the main thread;
// asynchronously where a browser refuses that (`RangeError`).
async function compileEmbedded(base64) {
  const bytes = base64Bytes(base64);
  try {
    return new WebAssembly.Module(bytes);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return WebAssembly.compile(bytes);
  }
}

/** Binds the boundary to an instance's exports (the page module or the full one). */
export function use(exports) {
  wasm = exports;
}

/** Runs page operation `op` (numbers: wasm/src/page.rs). */
export function call(op, args, body) {
  if (!wasm) throw new Error('cliauth: call `await init()` before anything else');
  const json = encoder.encode(JSON.stringify(args));
  const length = json.length + (body ? body.length + 1 : 0);
  // The input buffer is zeroed: the 0 byte between the arguments and the body is
  // there. (Reserving it may grow the memory: its buffer is read after.)
  const at = wasm.pageInput(length) >>> 0;
  const input = new Uint8Array(wasm.memory.buffer, at, length);
  input.set(json);
  if (body) input.set(body, json.length + 1);
  const out = wasm.pageCall(op) >>> 0;
  const memory = wasm.memory.buffer;
  const reply = new Uint8Array(memory, out + 4, new DataView(memory).getUint32(out, true));
  const text = decoder.decode(reply.subarray(1));
  if (reply[0] === 114) return text; // r
  const value = JSON.parse(text);
  if (reply[0] === 118) return value; // v
  const error = new CliauthError(...value);
  if (reply[0] === 101) throw error; // e
  return error; // E
}
