// The page helpers: the cli-auth page and the device-verification page.
//
// `pageApi(w)` binds them to a wasm-bindgen module `w` (the small page build or the
// full build). Every check and decision is made in wasm by cliauth-core; this file
// only moves bytes: it reads `location`, calls `fetch`, navigates.

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

export function pageApi(w) {
  const optional = (v) => (v === undefined || v === null ? undefined : String(v));

  function configure(options = {}) {
    w.configure(JSON.stringify(options ?? {}));
  }

  function readHandoffRequest(href) {
    const url = href ?? globalThis.location?.href;
    if (typeof url !== 'string') {
      throw w.argumentError('href', 'is required outside a browser page');
    }
    return JSON.parse(w.handoffRead(url));
  }

  // The request is re-validated in wasm: a page cannot point a delivery elsewhere by
  // changing the object (callbackUrl is never read; it is rebuilt from port and state).
  function delivery(request, credential, mode) {
    if (!request || typeof request !== 'object') {
      throw w.argumentError('request', 'must be the object readHandoffRequest returned');
    }
    if (!credential || typeof credential !== 'object') {
      throw w.argumentError('credential', 'must be { code } or { apiKey }');
    }
    return JSON.parse(
      w.handoffDelivery(
        String(request.port),
        String(request.state),
        optional(request.mode),
        optional(request.codeChallenge),
        optional(credential.code),
        optional(credential.apiKey),
        optional(mode),
      ),
    );
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
      if (isAbort(e, options.signal)) throw w.cancelledError();
      // Refused (no local network access, CORS, nobody listening): the top-level
      // redirect core built for the same request still reaches the CLI.
      if (options.fallback !== false && globalThis.location) {
        globalThis.location.assign(d.fallbackUrl);
        return undefined;
      }
      throw w.networkError(
        'the browser could not deliver to the CLI on this computer (blocked by local network access or CORS, or the CLI is no longer waiting)',
      );
    }
    const body = new Uint8Array(await res.arrayBuffer());
    return JSON.parse(w.handoffPostOutcome(res.status, headerLines(res.headers), body));
  }

  function userCodeInput(text) {
    return JSON.parse(w.userCodeInput(String(text ?? '')));
  }

  function normalizeUserCode(text) {
    return w.normalizeUserCode(String(text ?? ''));
  }

  async function approveDevice(endpoint, userCode, approve, options = {}) {
    if (typeof approve !== 'boolean') {
      throw w.argumentError('approve', 'must be true (approve) or false (deny)');
    }
    const q = JSON.parse(w.deviceApprovalRequest(String(endpoint), String(userCode), approve));
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
      if (isAbort(e, options.signal)) throw w.cancelledError();
      throw w.networkError('the approval request failed');
    }
    const error = w.apiError(
      statusOf(res),
      headerLines(res.headers),
      new Uint8Array(await res.arrayBuffer()),
      Date.now(),
    );
    if (error) throw error;
  }

  function apiError(response, now) {
    const r = response ?? {};
    const body = typeof r.body === 'string' ? new TextEncoder().encode(r.body) : (r.body ?? new Uint8Array());
    return w.apiError(Number(r.status), headerText(r.headers), body, now ?? Date.now()) ?? undefined;
  }

  async function checkResponse(res) {
    if (res.ok) return res;
    const error = w.apiError(
      statusOf(res),
      headerLines(res.headers),
      new Uint8Array(await res.arrayBuffer()),
      Date.now(),
    );
    if (error) throw error;
    return res;
  }

  return {
    configure,
    readHandoffRequest,
    deliverHandoff,
    handoffRedirectUrl,
    userCodeInput,
    normalizeUserCode,
    approveDevice,
    apiError,
    checkResponse,
  };
}

/** Headers given as a `Headers`, a list of pairs or a plain object. */
export function headerText(headers) {
  if (!headers) return '';
  if (typeof headers.forEach === 'function' && !Array.isArray(headers)) return headerLines(headers);
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([k, v]) => `${k}: ${v}`).join('\n');
}
