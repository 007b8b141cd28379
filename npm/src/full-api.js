// The full API: PKCE, state, keys, JWT, token responses, the browser and device
// logins, access tokens with refresh, and credential storage — on top of the page
// helpers. Core's machines decide every step; `run` below only executes them with
// fetch, timers and a store.

import { headerLines, headerText, isAbort, pageApi, statusOf } from './page-api.js';

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

export function fullApi(w, call) {
  const page = pageApi(call);
  const json = (text) => JSON.parse(text);
  const bytes = (body) =>
    body === undefined || body === null
      ? new Uint8Array()
      : typeof body === 'string'
        ? new TextEncoder().encode(body)
        : body instanceof Uint8Array
          ? body
          : new Uint8Array(body);

  /** One of core's machines, with parsed steps. */
  class Flow {
    constructor(machine) {
      this.machine = machine;
    }
    poll(now = Date.now()) {
      return json(this.machine.poll(now));
    }
    handleResponse(now, response) {
      this.machine.handleResponse(
        now,
        Number(response.status),
        headerText(response.headers),
        bytes(response.body),
      );
    }
    handleTransportError(now, error = {}) {
      this.machine.handleTransportError(now, Boolean(error.notSent), String(error.reason ?? 'request failed'));
    }
    handleStored(now, text) {
      this.machine.handleStored(now, text ?? undefined);
    }
    handlePersisted() {
      this.machine.handlePersisted();
    }
    handleStorageError(reason) {
      this.machine.handleStorageError(String(reason));
    }
    cancel() {
      this.machine.cancel();
    }
    stats() {
      return json(this.machine.stats());
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
    flow.machine.handleResponse(Date.now(), statusOf(res), headerLines(res.headers), body);
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
    return json(
      w.authorizationStart(
        JSON.stringify(config),
        String(options.redirectUri ?? config.redirectUri),
        options.entropy,
        options.now,
      ),
    );
  }

  function completeAuthorization(config, pending, callback, options = {}) {
    return json(w.authorizationComplete(JSON.stringify(config), pending, queryOf(callback), options.now));
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
      w.Machine.browserLogin(JSON.stringify(config), pending, queryOf(callback), options.now ?? Date.now(), options.seed),
    );
  }

  // ── device login ───────────────────────────────────────────────────────

  function startDeviceLogin(config, options = {}) {
    const controller = new AbortController();
    options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const flow = new Flow(w.Machine.deviceLogin(JSON.stringify(config)));
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
      w.Machine.deviceFlow(
        Number(response.status),
        headerText(response.headers),
        bytes(response.body),
        String(options.tokenEndpoint),
        String(options.clientId),
        options.now,
        options.seed,
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
    return new Flow(w.Machine.accessToken(JSON.stringify({ ...config, force: Boolean(options.force) }), options.seed));
  }

  // ── credentials ────────────────────────────────────────────────────────

  const credentials = {
    async status(store = defaultStore, options = {}) {
      return json(w.credentialsStatus((await store.read()) ?? undefined, options.profile, options.now));
    },
    async statusText(store = defaultStore, options = {}) {
      return w.credentialsStatusText((await store.read()) ?? undefined, options.profile, options.now);
    },
    async profiles(store = defaultStore) {
      return json(w.credentialsProfiles((await store.read()) ?? undefined));
    },
    async logout(store = defaultStore, options = {}) {
      await store.write(w.credentialsRemove((await store.read()) ?? undefined, options.profile));
    },
    async switchProfile(store, profile) {
      await store.write(w.credentialsSwitch((await store.read()) ?? undefined, String(profile)));
    },
    async saveApiKey(store, profile, key, options = {}) {
      await store.write(
        w.credentialsAddApiKey((await store.read()) ?? undefined, String(profile), String(key), options.now),
      );
    },
  };

  // ── PKCE, state, keys, JWT, tokens ─────────────────────────────────────

  class KeyRegistry {
    #inner;
    constructor(formats = []) {
      this.#inner = new w.KeyRegistry(JSON.stringify(formats));
    }
    addForeign(product, label, prefix) {
      this.#inner.addForeign(String(product), String(label), String(prefix));
      return this;
    }
    validate(input) {
      const { formatId, masked } = json(this.#inner.validate(String(input)));
      return { formatId, masked };
    }
    diagnose(input) {
      return json(this.#inner.diagnose(String(input)));
    }
    mask(key) {
      return this.#inner.mask(String(key));
    }
  }

  function decodeJwt(token) {
    const d = json(w.jwtDecode(String(token)));
    return { header: d.header, claims: { ...d.extra, ...d.claims } };
  }

  function parseTokenResponse(response, now) {
    return json(
      w.tokenParse(Number(response.status), headerText(response.headers), bytes(response.body), now),
    );
  }

  return {
    ...page,
    createPkce: () => json(w.pkceCreate()),
    pkceFromEntropy: (entropy) => json(w.pkceFromEntropy(bytes(entropy))),
    pkceChallenge: (verifier, method) => w.pkceChallenge(String(verifier), method),
    negotiatePkceMethod: (methods, allowPlain = false) =>
      w.pkceNegotiate(JSON.stringify(methods ?? null), Boolean(allowPlain)),
    createState: () => w.stateCreate(),
    checkState: (value) => w.stateCheck(String(value)),
    stateMatches: (expected, received) => w.stateMatches(String(expected), String(received)),
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
