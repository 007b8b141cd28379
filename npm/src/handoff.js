// cliauth/handoff — the cli-auth page's helpers alone: read the handoff request,
// deliver the credential to the CLI's loopback server. For browsers and bundlers;
// `await init()` once. Its module (`cliauth_handoff_bg.wasm`) holds only these
// operations and is smaller than `cliauth`'s, which also holds the device page's.
import { call, load } from './page-wasm.js';
import { handoffApi } from './page-api.js';

export { CliauthError } from './error.js';

export const { configure, readHandoffRequest, deliverHandoff, handoffRedirectUrl } = handoffApi(call);

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  return load(input ?? new URL('cliauth_handoff_bg.wasm', import.meta.url));
}
