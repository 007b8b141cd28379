// The full API bound to the full wasm module: what `cliauth/full` exports, shared
// by the browser entry (full.js) and the Node entry (full-node.js), which differ
// only in how they load the module. Nothing here touches wasm before `init()`.
import { fullApi } from './full-api.js';
import { call } from './page-wasm.js';

export { CliauthError } from './error.js';
export { memoryStore, webStorage } from './full-api.js';

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
  browserLoginFlow,
  startDeviceLogin,
  deviceFlow,
  getAccessToken,
  accessTokenFlow,
  credentials,
  run,
} = fullApi(call);
