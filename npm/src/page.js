// The page API bound to the page boundary: what `cliauth` exports, shared by the
// browser entry (index.js) and the Node entry (node.js), which differ only in how
// they load the module. Nothing here touches wasm before `init()`.
import { call } from './page-wasm.js';
import { pageApi } from './page-api.js';

export { CliauthError } from './error.js';

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
} = pageApi(call);
