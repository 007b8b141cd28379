// cliauth/handoff/inline — cliauth/handoff in one file: the same helpers, with the
// wasm module inside the script (base64, put there by the package build), so a page
// that inlines this entry into its HTML fetches nothing before it can deliver. The
// fastest cli-auth page (measured in BENCHMARKS.md: the separate module's fetch is
// most of the time a page spends on the package); it costs gzip bytes (base64).
import { call, load, loadEmbedded } from './page-wasm.js';
import { handoffApi } from './page-api.js';
import module from './cliauth_handoff_bg.wasm';

export { CliauthError } from './error.js';

export const { configure, readHandoffRequest, deliverHandoff, handoffRedirectUrl } = handoffApi(call);

/**
 * Compiles the module inside this script (once; later calls return the same
 * promise). `input`, when given, is loaded instead, as `cliauth/handoff`'s `init` does.
 */
export default function init(input) {
  return input === undefined ? loadEmbedded(module) : load(input);
}
