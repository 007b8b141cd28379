// cliauth — the page helpers, for Node.js (18+): the wasm module is loaded
// synchronously at import; `init()` resolves at once.
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { initSync } from './cliauth_page.js';
import * as w from './cliauth_page.js';
import { pageApi } from './page-api.js';

// Node 18 has WebCrypto but not as a global; wasm draws entropy from crypto.getRandomValues.
globalThis.crypto ??= webcrypto;
initSync({ module: readFileSync(new URL('./cliauth_page_bg.wasm', import.meta.url)) });

export { CliauthError } from './error.js';

/** Resolves at once: the module is already loaded. */
export default function init() {
  return Promise.resolve();
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
} = pageApi(w);
