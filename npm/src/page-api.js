// The page helpers: the cli-auth page and the device-verification page.
//
// `pageApi(call)` binds them to the page boundary of a wasm instance (page-wasm.js;
// the small page build or the full build). Every check and decision is made in wasm
// by cliauth-core; this file only moves bytes: it reads `location`, calls `fetch`,
// navigates.

/** `name: value` lines of a `Headers` object, as the wasm side reads them. */
export function headerLines(headers) {
  let lines = '';
  if (headers && typeof headers.forEach === 'function') {
    headers.forEach((value, name) => {
      lines += `${name}: ${value}\n`;
    });
  }
  return lines;
}

/** The status to report for a fetch `Response` (an opaque redirect is a 3xx). */
export function statusOf(res) {
  return res.type === 'opaqueredirect' ? 302 : res.status;
}

/** Whether a rejection came from an `AbortSignal`. */
export function isAbort(error, signal) {
  return (signal && signal.aborted) || (error && error.name === 'AbortError');
}

/** Turns a body (`string`, `Uint8Array`, `ArrayBuffer`, absent) into bytes. */
function bytesOf(body) {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return body ?? new Uint8Array();
}

// Page operations (wasm/src/page.rs).
const CONFIGURE = 0;
const HANDOFF_READ = 1;
const HANDOFF_DELIVERY = 2;
const HANDOFF_POST_OUTCOME = 3;
const USER_CODE_INPUT = 4;
const NORMALIZE_USER_CODE = 5;
const DEVICE_APPROVAL_REQUEST = 6;
const API_ERROR = 7;
const NETWORK_ERROR = 8;
const CANCELLED_ERROR = 9;
const ARGUMENT_ERROR = 10;

/** The errors and `configure`, over `call` (both pages' modules have them). */
function baseApi(call) {
  return {
    configure(options = {}) {
      call(CONFIGURE, [options ?? {}]);
    },
    argumentError: (name, reason) => call(ARGUMENT_ERROR, [name, reason]),
    cancelledError: () => call(CANCELLED_ERROR, []),
    networkError: (reason) => call(NETWORK_ERROR, [reason]),
  };
}

const optional = (v) => (v === undefined || v === null ? null : String(v));

/**
 * The cli-auth page's helpers over `call`: `configure`, `readHandoffRequest`,
 * `deliverHandoff`, `handoffRedirectUrl` (the `cliauth/handoff` module has only
 * these operations).
 */
export function handoffApi(call) {
  const base = baseApi(call);
  const { argumentError, cancelledError, networkError } = base;

  function readHandoffRequest(href) {
    const url = href ?? globalThis.location?.href;
    if (typeof url !== 'string') {
      throw argumentError('href', 'is required outside a browser page');
    }
    return call(HANDOFF_READ, [url]);
  }

  // The request is re-validated in wasm: a page cannot point a delivery elsewhere by
  // changing the object (callbackUrl is never read; it is rebuilt from port and state).
  function delivery(request, credential, mode) {
    if (!request || typeof request !== 'object') {
      throw argumentError('request', 'must be the object readHandoffRequest returned');
    }
    if (!credential || typeof credential !== 'object') {
      throw argumentError('credential', 'must be { code } or { apiKey }');
    }
    return call(HANDOFF_DELIVERY, [
      String(request.port),
      String(request.state),
      optional(request.mode),
      optional(request.codeChallenge),
      request.acceptsApiKey === true ? 'api_key' : undefined,
      optional(credential.code),
      optional(credential.apiKey),
      optional(mode),
    ]);
  }

  function handoffRedirectUrl(request, credential) {
    return delivery(request, credential, 'redirect').url;
  }

  async function deliverHandoff(request, credential, options = {}) {
    const d = delivery(request, credential, options.mode);
    if (d.mode === 'redirect') {
      // A top-level navigation: not blocked by Local Network Access, unlike fetch.
      globalThis.location.assign(d.url);
      return undefined;
    }
    if (d.mode === 'manual') {
      return { masked: d.masked, pasteText: d.pasteText };
    }
    const q = d.request;
    let res;
    try {
      res = await fetch(q.url, {
        method: q.method,
        headers: q.headers,
        body: q.body,
        mode: 'cors',
        credentials: 'omit',
        redirect: 'error',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
        // Chrome's Local Network Access: a public page's request to 127.0.0.1 says so,
        // and the browser asks the user instead of failing silently.
        targetAddressSpace: 'loopback',
        signal: options.signal,
      });
    } catch (e) {
      if (isAbort(e, options.signal)) throw cancelledError();
      // Refused (no local network access, CORS, nobody listening): the top-level
      // redirect core built for the same request still reaches the CLI.
      if (options.fallback !== false && globalThis.location) {
        globalThis.location.assign(d.fallbackUrl);
        return undefined;
      }
      throw networkError(
        'the browser could not deliver to the CLI on this computer (blocked by local network access or CORS, or the CLI is no longer waiting)',
      );
    }
    const body = new Uint8Array(await res.arrayBuffer());
    return JSON.parse(call(HANDOFF_POST_OUTCOME, [res.status, headerLines(res.headers)], body));
  }

  return { ...base, readHandoffRequest, deliverHandoff, handoffRedirectUrl };
}

/**
 * The device-verification page's helpers over `call`: `configure`, `userCodeInput`,
 * `normalizeUserCode`, `approveDevice`, and the API error readers `apiError` and
 * `checkResponse` (the `cliauth/device` module has only these operations).
 */
export function deviceApi(call) {
  const base = baseApi(call);
  const { argumentError, cancelledError, networkError } = base;
  const errorOf = async (res) =>
    call(API_ERROR, [statusOf(res), headerLines(res.headers), Date.now()], new Uint8Array(await res.arrayBuffer()));

  function userCodeInput(text) {
    return call(USER_CODE_INPUT, [String(text ?? '')]);
  }

  function normalizeUserCode(text) {
    return call(NORMALIZE_USER_CODE, [String(text ?? '')]);
  }

  async function approveDevice(endpoint, userCode, approve, options = {}) {
    if (typeof approve !== 'boolean') {
      throw argumentError('approve', 'must be true (approve) or false (deny)');
    }
    const q = call(DEVICE_APPROVAL_REQUEST, [String(endpoint), String(userCode), approve]);
    let res;
    try {
      res = await fetch(q.url, {
        method: q.method,
        headers: q.headers,
        body: q.body,
        credentials: 'same-origin',
        redirect: 'manual',
        cache: 'no-store',
        signal: options.signal,
      });
    } catch (e) {
      if (isAbort(e, options.signal)) throw cancelledError();
      throw networkError('the approval request failed');
    }
    const error = await errorOf(res);
    if (error) throw error;
  }

  function apiError(response, now) {
    const r = response ?? {};
    const error = call(
      API_ERROR,
      [Number(r.status), headerText(r.headers), Math.trunc(Number(now ?? Date.now()))],
      bytesOf(r.body),
    );
    return error ?? undefined;
  }

  async function checkResponse(res) {
    if (res.ok) return res;
    const error = await errorOf(res);
    if (error) throw error;
    return res;
  }

  return { ...base, userCodeInput, normalizeUserCode, approveDevice, apiError, checkResponse };
}

/** Both pages' helpers over `call` (the `cliauth` module, and the full one's page part). */
export function pageApi(call) {
  return { ...handoffApi(call), ...deviceApi(call) };
}

/** Headers given as a `Headers`, a list of pairs or a plain object. */
export function headerText(headers) {
  if (!headers) return '';
  if (typeof headers.forEach === 'function' && !Array.isArray(headers)) return headerLines(headers);
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([k, v]) => `${k}: ${v}`).join('\n');
}
