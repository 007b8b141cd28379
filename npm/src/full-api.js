// The full API: PKCE, state, keys, JWT, token responses, the browser and device
// logins, access tokens with refresh, and credential storage — on top of the page
// helpers. Core's machines decide every step; `run` below only executes them with
// fetch, timers and a store. Every function is one operation of the full boundary
// (numbers: wasm/src/full_call.rs), through the page helpers' loader.

import { headerLines, headerText, isAbort, pageApi, statusOf } from './page-api.js';
import { use } from './page-wasm.js';

/**
 * What the full module imports: wasm-bindgen's start hook only (it takes nothing
 * else from JS — time and entropy come with each call), so it is instantiated
 * without wasm-bindgen's generated glue, like the page module.
 */
export const fullImports = { './cliauth_full_bg.js': { __wbindgen_init_externref_table() {} } };

/**
 * Binds the boundary's loader to a full module instance: its `fullCall` answers the
 * page operations and the full ones (wasm/src/full_call.rs).
 */
export function useFull(exports) {
  exports.__wbindgen_start();
  use({ memory: exports.memory, pageInput: exports.pageInput, pageCall: exports.fullCall });
}

const PENDING_KEY = 'cliauth.pending';
const DEFAULT_STORE_KEY = 'cliauth.credentials';

/**
 * A credential store over Web Storage, for apps that want a login to outlive the page:
 * `webStorage(sessionStorage)` (this tab) or `webStorage(localStorage)` (every tab,
 * until logout). Any script on the origin can read it: not the default.
 */
export function webStorage(storage = globalThis.localStorage, key = DEFAULT_STORE_KEY) {
  if (!storage) throw new TypeError('webStorage: no Storage given and none in this environment');
  return {
    name: key,
    read: () => storage.getItem(key),
    write: (text) => storage.setItem(key, text),
  };
}

/** A credential store in memory: the default (gone when the page is). */
export function memoryStore(initial = null, name = 'memory') {
  let text = initial;
  return {
    name,
    read: () => text,
    write: (next) => {
      text = next;
    },
  };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

// Node's fetch names the socket error; these provably happened before the request
// was sent, so core may retry even a non-idempotent request. Browsers do not say,
// which core treats as "outcome unknown".
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function errorMessage(e) {
  return e && typeof e.message === 'string' ? e.message : String(e);
}

// Full operations (wasm/src/full_call.rs).
const PKCE_CREATE = 32;
const PKCE_FROM_ENTROPY = 33;
const PKCE_CHALLENGE = 34;
const PKCE_NEGOTIATE = 35;
const STATE_CREATE = 36;
const STATE_CHECK = 37;
const STATE_MATCHES = 38;
const KEYS_CHECK = 39;
const KEYS_VALIDATE = 40;
const KEYS_DIAGNOSE = 41;
const KEYS_MASK = 42;
const JWT_DECODE = 43;
const TOKEN_PARSE = 44;
const AUTHORIZATION_START = 45;
const AUTHORIZATION_COMPLETE = 46;
const CREDENTIALS_STATUS = 47;
const CREDENTIALS_STATUS_TEXT = 48;
const CREDENTIALS_PROFILES = 49;
const CREDENTIALS_REMOVE = 50;
const CREDENTIALS_SWITCH = 51;
const CREDENTIALS_ADD_API_KEY = 52;
const DEVICE_LOGIN = 53;
const DEVICE_FLOW = 54;
const BROWSER_LOGIN = 55;
const ACCESS_TOKEN = 56;
const POLL = 57;
const RESPONSE = 58;
const TRANSPORT_ERROR = 59;
const STORED = 60;
const PERSISTED = 61;
const STORAGE_ERROR = 62;
const CANCEL = 63;
const STATS = 64;
const RELEASE = 65;

export function fullApi(call) {
  const page = pageApi(call);
  const optional = (v) => (v === undefined || v === null ? null : String(v));
  const time = (now) => (now === undefined || now === null ? Date.now() : Number(now));
  // Entropy is drawn here and handed to wasm with the call (the module imports
  // nothing from JS). Without WebCrypto no bytes go, and core's check answers
  // `invalid_config`.
  const random = (n) => {
    const bytes = new Uint8Array(n);
    return globalThis.crypto?.getRandomValues ? globalThis.crypto.getRandomValues(bytes) : new Uint8Array();
  };
  // A backoff-jitter seed (not a secret): 53 random bits, unless a test gives one.
  const seedOf = (seed) => {
    if (seed !== undefined && seed !== null) return Number(seed);
    const r = random(8);
    if (r.length < 8) return 0;
    const [hi, lo] = new Uint32Array(r.buffer);
    return (hi & 0x1fffff) * 2 ** 32 + lo;
  };
  const bytes = (body) =>
    body === undefined || body === null
      ? new Uint8Array()
      : typeof body === 'string'
        ? new TextEncoder().encode(body)
        : body instanceof Uint8Array
          ? body
          : new Uint8Array(body);

  // A machine lives in wasm until its Flow object is collected.
  const machines = new FinalizationRegistry((id) => call(RELEASE, [id]));

  /** One of core's machines (a number in wasm), with parsed steps. */
  class Flow {
    #id;
    constructor(id) {
      this.#id = id;
      machines.register(this, id);
    }
    poll(now) {
      return call(POLL, [this.#id, time(now)]);
    }
    handleResponse(now, response) {
      this.respond(time(now), Number(response.status), headerText(response.headers), bytes(response.body));
    }
    respond(now, status, headers, body) {
      call(RESPONSE, [this.#id, now, status, headers], body);
    }
    handleTransportError(now, error = {}) {
      call(TRANSPORT_ERROR, [this.#id, time(now), Boolean(error.notSent), String(error.reason ?? 'request failed')]);
    }
    handleStored(now, text) {
      call(STORED, [this.#id, time(now), optional(text)]);
    }
    handlePersisted() {
      call(PERSISTED, [this.#id, Date.now()]);
    }
    handleStorageError(reason) {
      call(STORAGE_ERROR, [this.#id, Date.now(), String(reason)]);
    }
    cancel() {
      call(CANCEL, [this.#id, Date.now()]);
    }
    stats() {
      return call(STATS, [this.#id]);
    }
  }

  async function send(flow, q, env) {
    const fetchFn = env.fetch ?? globalThis.fetch;
    let res;
    try {
      res = await fetchFn(q.url, {
        method: q.method,
        headers: q.headers,
        body: q.body,
        redirect: 'manual',
        credentials: 'omit',
        cache: 'no-store',
        signal: env.signal,
      });
    } catch (e) {
      if (isAbort(e, env.signal)) return flow.cancel();
      const code = e?.cause?.code;
      return flow.handleTransportError(Date.now(), {
        notSent: NOT_SENT.has(code),
        reason: code ? `request failed (${code})` : 'request failed',
      });
    }
    let body;
    try {
      body = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (isAbort(e, env.signal)) return flow.cancel();
      return flow.handleTransportError(Date.now(), { notSent: false, reason: 'the response was cut off' });
    }
    flow.respond(Date.now(), statusOf(res), headerLines(res.headers), body);
  }

  /**
   * Runs a flow to its end: executes its requests with fetch (redirects not
   * followed), sleeps when it says, reads and writes the store, and reports the
   * device code through `onPrompt`. Resolves with the flow's result; rejects with a
   * CliauthError.
   */
  async function run(flow, env = {}) {
    let aborted = false;
    const onAbort = () => {
      aborted = true;
    };
    env.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (aborted || env.signal?.aborted) flow.cancel();
        const step = flow.poll(Date.now());
        switch (step.type) {
          case 'send':
            await send(flow, step.request, env);
            break;
          case 'wait':
            await sleep(step.until - Date.now(), env.signal);
            break;
          case 'prompt': {
            const { type: _type, ...prompt } = step;
            env.onPrompt?.(prompt);
            break;
          }
          case 'read_storage': {
            let text;
            try {
              text = env.store ? await env.store.read() : null;
            } catch (e) {
              flow.handleStorageError(errorMessage(e));
              break;
            }
            flow.handleStored(Date.now(), text);
            break;
          }
          case 'persist':
            try {
              if (env.store) await env.store.write(step.document);
              flow.handlePersisted();
            } catch (e) {
              flow.handleStorageError(errorMessage(e));
            }
            break;
          case 'done':
            return step.value;
          default:
            throw page.argumentError('flow', 'has already finished');
        }
      }
    } finally {
      env.signal?.removeEventListener('abort', onAbort);
    }
  }

  // The default store is memory, shared by this module's functions: a refresh token
  // in Web Storage is readable by any script that runs on the origin (one XSS), so it
  // goes there only when the app asks (`store: webStorage(sessionStorage)` or
  // `webStorage(localStorage)`).
  const defaultStore = memoryStore(null, 'memory');
  const storeOf = (options) => options.store ?? defaultStore;

  // ── browser login ──────────────────────────────────────────────────────

  function startAuthorization(config, options = {}) {
    const given = options.entropy !== undefined && options.entropy !== null;
    return call(
      AUTHORIZATION_START,
      [config, String(options.redirectUri ?? config.redirectUri), time(options.now), given],
      given ? bytes(options.entropy) : random(96),
    );
  }

  function completeAuthorization(config, pending, callback, options = {}) {
    return call(AUTHORIZATION_COMPLETE, [config, String(pending), queryOf(callback), time(options.now)]);
  }

  function queryOf(callback) {
    const text = String(callback ?? '');
    const q = text.indexOf('?');
    const query = q >= 0 ? text.slice(q + 1) : text;
    const hash = query.indexOf('#');
    return hash >= 0 ? query.slice(0, hash) : query;
  }

  function startBrowserLogin(config, options = {}) {
    const pendingStorage = options.pendingStorage ?? globalThis.sessionStorage;
    const start = startAuthorization(config);
    pendingStorage.setItem(PENDING_KEY, start.pending);
    if (options.navigate !== false) globalThis.location.assign(start.url);
    return { url: start.url, state: start.state };
  }

  async function completeBrowserLogin(config, options = {}) {
    const pendingStorage = options.pendingStorage ?? globalThis.sessionStorage;
    const pending = pendingStorage.getItem(PENDING_KEY);
    pendingStorage.removeItem(PENDING_KEY);
    if (!pending) {
      throw page.argumentError('login', 'no browser login is in progress in this tab; start it again');
    }
    const href = options.href ?? globalThis.location?.href;
    const flow = browserLoginFlow(config, pending, href);
    return run(flow, { store: storeOf(options), fetch: options.fetch, signal: options.signal });
  }

  /** The browser login's second half as a flow: checks `callback`, then exchanges and stores. */
  function browserLoginFlow(config, pending, callback, options = {}) {
    return new Flow(
      call(BROWSER_LOGIN, [config, String(pending), queryOf(callback), time(options.now), seedOf(options.seed)]),
    );
  }

  // ── device login ───────────────────────────────────────────────────────

  function startDeviceLogin(config, options = {}) {
    const controller = new AbortController();
    options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const flow = new Flow(call(DEVICE_LOGIN, [config, seedOf()]));
    return new Promise((resolve, reject) => {
      const done = run(flow, {
        store: storeOf(options),
        fetch: options.fetch,
        signal: controller.signal,
        onPrompt: (prompt) => resolve({ ...prompt, done, cancel: () => controller.abort() }),
      });
      done.catch(reject);
    });
  }

  function deviceFlow(response, options) {
    return new Flow(
      call(
        DEVICE_FLOW,
        [
          Number(response.status),
          headerText(response.headers),
          String(options.tokenEndpoint),
          String(options.clientId),
          time(options.now),
          seedOf(options.seed),
        ],
        bytes(response.body),
      ),
    );
  }

  // ── access tokens ──────────────────────────────────────────────────────

  const inFlight = new Map();

  function getAccessToken(config, options = {}) {
    const store = storeOf(options);
    const key = `cliauth:${store.name ?? 'store'}`;
    const existing = inFlight.get(key);
    if (existing && !options.force) return existing;
    const go = () =>
      run(accessTokenFlow(config, options), {
        store,
        fetch: options.fetch,
        signal: options.signal,
      });
    // Tabs share storage: the Web Locks API makes the read-refresh-write exclusive,
    // so a rotated refresh token is never used twice.
    const locks = globalThis.navigator?.locks;
    const p = (locks ? locks.request(key, go) : go()).finally(() => {
      if (inFlight.get(key) === p) inFlight.delete(key);
    });
    inFlight.set(key, p);
    return p;
  }

  /** The access-token flow (resolution, refresh when due or `force`d), for {@link run} or a custom loop. */
  function accessTokenFlow(config, options = {}) {
    return new Flow(call(ACCESS_TOKEN, [{ ...config, force: Boolean(options.force) }, seedOf(options.seed)]));
  }

  // ── credentials ────────────────────────────────────────────────────────

  const read = async (store) => optional(await store.read());
  const credentials = {
    async status(store = defaultStore, options = {}) {
      return call(CREDENTIALS_STATUS, [await read(store), optional(options.profile), time(options.now)]);
    },
    async statusText(store = defaultStore, options = {}) {
      return call(CREDENTIALS_STATUS_TEXT, [await read(store), optional(options.profile), time(options.now)]);
    },
    async profiles(store = defaultStore) {
      return call(CREDENTIALS_PROFILES, [await read(store)]);
    },
    async logout(store = defaultStore, options = {}) {
      await store.write(call(CREDENTIALS_REMOVE, [await read(store), optional(options.profile), Date.now()]));
    },
    async switchProfile(store, profile) {
      await store.write(call(CREDENTIALS_SWITCH, [await read(store), String(profile)]));
    },
    async saveApiKey(store, profile, key, options = {}) {
      await store.write(
        call(CREDENTIALS_ADD_API_KEY, [await read(store), String(profile), String(key), time(options.now)]),
      );
    },
  };

  // ── PKCE, state, keys, JWT, tokens ─────────────────────────────────────

  // The formats are checked once here and handed to wasm with each call (core's
  // registry is rebuilt per call: no wasm object to release).
  class KeyRegistry {
    #formats;
    #foreign = [];
    constructor(formats = []) {
      call(KEYS_CHECK, [formats]);
      this.#formats = formats;
    }
    addForeign(product, label, prefix) {
      this.#foreign.push([String(product), String(label), String(prefix)]);
      return this;
    }
    validate(input) {
      const { formatId, masked } = call(KEYS_VALIDATE, [this.#formats, this.#foreign, String(input)]);
      return { formatId, masked };
    }
    diagnose(input) {
      return call(KEYS_DIAGNOSE, [this.#formats, this.#foreign, String(input)]);
    }
    mask(key) {
      return call(KEYS_MASK, [this.#formats, this.#foreign, String(key)]);
    }
  }

  function decodeJwt(token) {
    const d = call(JWT_DECODE, [String(token)]);
    return { header: d.header, claims: { ...d.extra, ...d.claims } };
  }

  function parseTokenResponse(response, now) {
    return call(
      TOKEN_PARSE,
      [Number(response.status), headerText(response.headers), time(now)],
      bytes(response.body),
    );
  }

  return {
    ...page,
    createPkce: () => call(PKCE_CREATE, [], random(32)),
    pkceFromEntropy: (entropy) => call(PKCE_FROM_ENTROPY, [], bytes(entropy)),
    pkceChallenge: (verifier, method) => call(PKCE_CHALLENGE, [String(verifier), optional(method)]),
    negotiatePkceMethod: (methods, allowPlain = false) => call(PKCE_NEGOTIATE, [methods ?? null, Boolean(allowPlain)]),
    createState: () => call(STATE_CREATE, [], random(32)),
    checkState: (value) => {
      call(STATE_CHECK, [String(value)]);
    },
    stateMatches: (expected, received) => call(STATE_MATCHES, [String(expected), String(received)]),
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
  };
}
