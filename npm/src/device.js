// cliauth/device — the device-verification page's helpers alone: user codes as they
// are typed, the approval request, API errors. For browsers and bundlers; `await
// init()` once. Its module (`cliauth_device_bg.wasm`) holds only these operations
// and is smaller than `cliauth`'s, which also holds the cli-auth page's.
import { call, load } from './page-wasm.js';
import { deviceApi } from './page-api.js';

export { CliauthError } from './error.js';

export const { configure, userCodeInput, normalizeUserCode, approveDevice, apiError, checkResponse } =
  deviceApi(call);

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  return load(input ?? new URL('cliauth_device_bg.wasm', import.meta.url));
}
