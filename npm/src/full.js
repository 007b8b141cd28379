// cliauth/full — everything: the page helpers, PKCE, state, keys, JWT, token
// responses, browser and device logins, access tokens with refresh, credential
// storage. For browsers and bundlers; `await init()` once.
import initWasm, * as w from './cliauth_full.js';
import { fullApi } from './full-api.js';

export { CliauthError } from './error.js';
export { memoryStore, webStorage } from './full-api.js';

let ready;

/** Loads the wasm module (once; later calls return the same promise). */
export default function init(input) {
  ready ??= initWasm(input === undefined ? undefined : { module_or_path: input }).then(() => undefined);
  return ready;
}

export const {
  configure,
  readHandoffRequest,
  deliverHandoff,
  handoffRedirectUrl,
  userCodeInput,
  normalizeUserCode,
  approveDevice,
  apiError,
  checkResponse,
  createPkce,
  pkceFromEntropy,
  pkceChallenge,
  negotiatePkceMethod,
  createState,
  checkState,
  stateMatches,
  KeyRegistry,
  decodeJwt,
  parseTokenResponse,
  startAuthorization,
  completeAuthorization,
  startBrowserLogin,
  completeBrowserLogin,
  startDeviceLogin,
  deviceFlow,
  getAccessToken,
  credentials,
  run,
} = fullApi(w);
