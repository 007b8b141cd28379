// The shared test vectors (tests/vectors/*.json), run through the PUBLIC JS API of
// `cliauth/full` — in Node (the built package and the installed tarball) and in
// Chromium (a page that imports the installed package). Each case is compared with
// what core's native runner (core/tests/vectors/runner.rs) checks; where the JS API
// has no counterpart (the loopback server, retry decisions, discovery) the case is
// counted as skipped, with the reason.
//
// `runVectors(api, files, { only? })` → { cases, skipped: {file: {reason: n}}, failures, perFile }.

const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
const nul = (v) => (v === undefined ? null : v);

function canon(v) {
  // Key order does not matter; undefined and null are the same here.
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = canon(v[k]);
    return out;
  }
  return v;
}

const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

function errorOf(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

export async function runVectors(api, files, { only } = {}) {
  // `only`: the vector files to run (the page entry has no API for the others).
  const want = (f) => !only || only.includes(f);
  const state = { cases: 0, failures: [], skipped: {}, perFile: {} };
  let file = '';
  const check = (name, actual, expected) => {
    state.cases += 1;
    state.perFile[file] = (state.perFile[file] ?? 0) + 1;
    if (!same(actual, expected)) {
      state.failures.push(
        `${file}: ${name}\n    expected: ${JSON.stringify(canon(expected))}\n    actual:   ${JSON.stringify(canon(actual))}`,
      );
    }
  };
  const skip = (reason, n = 1) => {
    const s = (state.skipped[file] ??= {});
    s[reason] = (s[reason] ?? 0) + n;
  };
  const attempt = (fn) => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof api.CliauthError) return { error: e.code, message: e.message };
      throw e;
    }
  };
  const response = (r) => ({ status: r.status, headers: r.headers ?? [], body: r.body ?? '' });

  // ── pkce ────────────────────────────────────────────────────────────────
  file = 'pkce';
  if (want(file)) {
    const v = files.pkce;
    for (const c of v.from_entropy) {
      const p = api.pkceFromEntropy(hex(c.entropy_hex));
      check(c.name, { verifier: p.verifier, challenge_s256: p.challenge }, { verifier: c.verifier, challenge_s256: c.challenge_s256 });
      check(`${c.name} (re-parsed)`, api.pkceChallenge(c.verifier), c.challenge_s256);
    }
    for (const c of v.verifier_checks) {
      const ok = attempt(() => api.pkceChallenge(c.verifier));
      check(`verifier check ${JSON.stringify(c.verifier)}`, typeof ok === 'string', c.valid);
    }
    for (const c of v.negotiate) {
      const r = attempt(() => api.negotiatePkceMethod(c.server, c.allow_plain));
      check(`negotiate ${JSON.stringify(c)}`, typeof r === 'string' ? r : { error: r.error }, c.expect);
    }
  }

  // ── keys ────────────────────────────────────────────────────────────────
  file = 'keys';
  if (want(file)) {
    const v = files.keys;
    const registry = (name) =>
      new api.KeyRegistry(
        v.registries[name].map((f) =>
          f.jwt
            ? { id: f.id, product: f.product, label: f.label, jwt: true, minLen: f.min_len }
            : { id: f.id, product: f.product, label: f.label, prefix: f.prefix, charset: f.charset, minLen: f.min_len, maxLen: f.max_len },
        ),
      );
    for (const c of v.validate) {
      const d = registry(c.registry).diagnose(c.input);
      const actual = d.ok
        ? { ok: { format_id: d.formatId, masked: d.masked } }
        : { problem: { kind: d.problem, message: d.message } };
      check(c.name ?? c.input, actual, c.expect);
      // validate() throws the same diagnosis as a CliauthError.
      if (!d.ok) {
        const e = errorOf(() => registry(c.registry).validate(c.input));
        check(`${c.name ?? c.input} (thrown)`, { code: e.code, problem: e.problem, message: e.message }, { code: 'invalid_key', problem: d.problem, message: d.message });
      }
    }
    for (const c of v.mask) check(`mask ${c.input}`, registry(c.registry).mask(c.input), c.masked);
  }

  // ── jwt ─────────────────────────────────────────────────────────────────
  file = 'jwt';
  if (want(file)) {
    for (const c of files.jwt.decode) {
      const r = attempt(() => api.decodeJwt(c.token));
      const actual = r.error
        ? { error: r.message.replace(/^Invalid token: /, '') }
        : {
            header: { alg: nul(r.header.alg), typ: nul(r.header.typ), kid: nul(r.header.kid) },
            claims: Object.fromEntries(['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'scope'].map((k) => [k, nul(r.claims[k])])),
          };
      check(c.name, actual, c.expect);
    }
  }

  // ── authorize ───────────────────────────────────────────────────────────
  file = 'authorize';
  if (want(file)) {
    const v = files.authorize;
    const now = 1_795_341_600_000;
    for (const c of v.authorize_url) {
      const cfg = c.config;
      const config = { authorizationEndpoint: cfg.authorization_endpoint, clientId: cfg.client_id, scopes: cfg.scopes, params: cfg.extra };
      const redirectUri = `http://127.0.0.1:${c.port}/callback`;
      const r = attempt(() => api.startAuthorization(config, { redirectUri, entropy: hex(c.entropy_hex), now }));
      let actual;
      if (r.error) actual = { error: r.error };
      else {
        const g = api.completeAuthorization(config, r.pending, `code=x&state=${r.state}`, { now });
        actual = { url: r.url, state: r.state, verifier: g.verifier, redirect_uri: r.redirectUri };
      }
      check(c.name, actual, c.expect);
    }
    skip('parse_callback: callback parsing is internal to completeAuthorization', v.parse_callback.length);
    for (const c of v.complete) {
      const config = { authorizationEndpoint: 'https://auth.acme.example/authorize', clientId: 'acme-cli' };
      if (c.issuer) Object.assign(config, { issuer: c.issuer, requireIss: c.require_iss });
      const start = api.startAuthorization(config, { redirectUri: 'http://127.0.0.1:4711/callback', entropy: hex(c.entropy_hex), now });
      const at = now + c.after_secs * 1000;
      const r = attempt(() => api.completeAuthorization(config, start.pending, c.query.replaceAll('{state}', start.state), { now: at }));
      check(c.name, r.error ? { error: r.error } : { code: r.code, verifier: r.verifier, redirect_uri: r.redirectUri }, c.expect);
      // A second callback for the same login: completeBrowserLogin forgets the pending
      // login on first use, so replays end with "no login in progress" — a shell rule,
      // not one completeAuthorization (stateless) can show.
      if (c.then) skip('then: one-shot completion is enforced by completeBrowserLogin (sessionStorage)');
    }
    // The ID token nonce check, through the whole browser login of the public API:
    // started now (the login expires in 5 minutes), the token endpoint answered by a
    // fetch that returns the vector's response.
    for (const c of v.id_token_nonce) {
      const config = {
        authorizationEndpoint: 'https://auth.acme.example/authorize',
        tokenEndpoint: 'https://auth.acme.example/token',
        clientId: 'acme-cli',
        redirectUri: 'http://127.0.0.1:4711/callback',
        scopes: c.scopes,
        store: false,
      };
      const start = api.startAuthorization(config, { entropy: hex(c.entropy_hex), now: Date.now() });
      const kept = new Map([['cliauth.pending', start.pending]]);
      const pendingStorage = {
        getItem: (k) => kept.get(k) ?? null,
        setItem: (k, val) => kept.set(k, val),
        removeItem: () => kept.clear(),
      };
      const fetch = async () =>
        new Response(c.response.body, { status: c.response.status, headers: c.response.headers });
      let actual;
      try {
        const t = await api.completeBrowserLogin(config, {
          href: `${config.redirectUri}?code=c&state=${start.state}`,
          pendingStorage,
          fetch,
        });
        actual = { nonce_sent: start.url.includes('&nonce='), access_token: t.accessToken };
      } catch (e) {
        if (!(e instanceof api.CliauthError)) throw e;
        actual = { error: e.code };
      }
      check(c.name, actual, c.expect);
    }
  }

  file = 'loopback';
  if (want(file)) {
    skip('the loopback server is the CLI side (native)', files.loopback.cases.length);
  }

  // ── token responses ─────────────────────────────────────────────────────
  file = 'token_responses';
  if (want(file)) {
    for (const c of files.token_responses.cases) {
      const r = attempt(() => api.parseTokenResponse(response(c.response), 1_795_341_600_000));
      let actual;
      if (r.error) actual = { error: { code: r.error, message: r.message } };
      else if (r.tokens) {
        const t = r.tokens;
        actual = { tokens: { access_token: t.accessToken, token_type: t.tokenType, expires_in_ms: nul(t.expiresInMs), refresh_token: nul(t.refreshToken), scope: nul(t.scope), id_token: nul(t.idToken) } };
      } else actual = { oauth_error: { error: r.oauthError.error, description: nul(r.oauthError.description) } };
      check(c.name, actual, c.expect);
    }
  }

  // ── http errors ─────────────────────────────────────────────────────────
  file = 'http_errors';
  if (want(file)) {
    const v = files.http_errors;
    api.configure({ cli: v.app.cli, product: v.app.product });
    for (const c of v.cases) {
      const e = api.apiError(response(c.response), v.now * 1000);
      const actual = e
        ? { code: e.code, exit_code: e.exitCode, message: e.message, hint: e.hint, retry_after: e.retryAfterMs === undefined ? null : Math.ceil(e.retryAfterMs / 1000) }
        : null;
      check(c.name, actual, c.expect);
    }
    api.configure({ cli: 'cli', product: 'service' });
  }

  file = 'retry';
  if (want(file)) {
    skip('retry decisions run inside the flows (core Exchange), not exposed', files.retry.cases.length);
  }

  // ── device ──────────────────────────────────────────────────────────────
  file = 'device';
  if (want(file)) {
    const v = files.device;
    const start = v.start_ms;
    const opts = { tokenEndpoint: v.token_endpoint, clientId: v.client_id, now: start, seed: 0 };
    for (const c of v.parse) {
      const r = attempt(() => api.deviceFlow(response(c.response), opts));
      if (r.error) {
        check(c.name, { error: r.error }, c.expect);
        continue;
      }
      const p = r.poll(start);
      const actual = {
        user_code: p.userCode,
        verification_uri: p.verificationUri,
        verification_uri_complete: nul(p.verificationUriComplete),
        expires_in_secs: (p.expiresAt - start) / 1000,
        // The prompt reports the effective interval (5 s when the server gave none).
        interval_secs: c.expect.interval_secs === null && p.intervalMs === 5000 ? null : p.intervalMs / 1000,
      };
      check(c.name, actual, c.expect);
    }
    for (const c of v.flows) {
      const authorization = { status: 200, headers: [['content-type', 'application/json']], body: JSON.stringify(c.authorization) };
      const flow = api.deviceFlow(authorization, opts);
      const answers = [...c.responses];
      const expected = c.expect.transcript;
      const transcript = [];
      let now = start;
      for (let i = 0; i < 100; i++) {
        let step;
        try {
          step = flow.poll(now);
        } catch (e) {
          transcript.push({ failed: e.code });
          break;
        }
        if (step.type === 'prompt') continue;
        if (step.type === 'wait') {
          const waited = step.until - now;
          const e = expected[transcript.length];
          if (e && e.wait_between) {
            const [lo, hi] = e.wait_between;
            transcript.push(waited >= lo && waited <= hi ? e : { wait: waited });
          } else transcript.push({ wait: waited });
          now = step.until;
        } else if (step.type === 'send') {
          transcript.push('send');
          const a = answers.shift();
          if (a === undefined) {
            transcript.push('ran out of responses');
            break;
          }
          if (a === 'transport_not_sent') flow.handleTransportError(now, { notSent: true, reason: 'connection refused' });
          else flow.handleResponse(now, response(a));
        } else if (step.type === 'done') {
          transcript.push({ authorized: step.value.accessToken });
          break;
        } else break;
      }
      const s = flow.stats();
      check(c.name, { transcript, stats: { polls: s.polls, pending: s.pending, slow_downs: s.slowDowns, failures: s.failures } }, c.expect);
    }
  }

  // ── user codes ──────────────────────────────────────────────────────────
  file = 'user_codes';
  if (want(file)) {
    const v = files.user_codes;
    for (const c of v.normalize) {
      const r = attempt(() => api.normalizeUserCode(c.input));
      check(`normalize ${JSON.stringify(c.input)}`, r.error ? { problem: r.message.replace(/^Invalid code: /, '') } : r, c.expect);
    }
    for (const c of v.typing) {
      const t = api.userCodeInput(c.input);
      check(`typing ${JSON.stringify(c.input)}`, { display: t.display, complete: t.complete }, c.expect);
    }
    for (const c of v.approval) {
      if (!c.expect.error) {
        skip('approval requests are sent by approveDevice (tested against a server in the browser suite)');
        continue;
      }
      // Refused before anything is sent.
      let code = null;
      try {
        await api.approveDevice(c.endpoint, c.user_code, c.approve);
      } catch (e) {
        code = e.code;
      }
      check(`approval ${c.user_code}`, { error: code }, c.expect);
    }
  }

  // ── handoff ─────────────────────────────────────────────────────────────
  file = 'handoff';
  if (want(file)) {
    const v = files.handoff;
    for (const c of v.parse) {
      const r = attempt(() => api.readHandoffRequest(c.url));
      const actual = r.error
        ? { error: r.error, message: r.message }
        : { port: r.port, state: r.state, mode: r.mode, code_challenge: nul(r.codeChallenge), accepts_api_key: r.acceptsApiKey };
      check(c.url, actual, c.expect);
    }
    for (const c of v.deliver) {
      const request = api.readHandoffRequest(c.url);
      const credential = c.credential.code !== undefined ? { code: c.credential.code } : { apiKey: c.credential.api_key };
      check(`deliver ${c.url}`, api.handoffRedirectUrl(request, credential), c.expect.redirect_url);
      check(`deliver ${c.url} (callback)`, request.callbackUrl, c.expect.post_url);
      skip('post_body: the POST is sent by deliverHandoff (tested against the loopback server in Chromium)');
    }
    for (const c of v.check) {
      const request = api.readHandoffRequest(c.url);
      const credential = c.credential.code !== undefined ? { code: c.credential.code } : { apiKey: c.credential.api_key };
      const r = attempt(() => api.handoffRedirectUrl(request, credential));
      check(`check ${c.url} ${JSON.stringify(c.credential)}`, r.error ? { error: r.error } : 'ok', c.expect);
    }
  }

  // ── credentials ─────────────────────────────────────────────────────────
  file = 'credentials';
  if (want(file)) {
    const v = files.credentials;
    for (const c of v.parse) {
      let actual;
      try {
        const p = await api.credentials.profiles(api.memoryStore(c.text));
        actual = {
          active_profile: nul(p.activeProfile),
          profiles: Object.fromEntries(Object.entries(p.profiles).map(([k, x]) => [k, { method: x.method, credential_type: x.credentialType }])),
        };
        if (p.skipped !== undefined) actual.skipped = p.skipped;
      } catch (e) {
        if (!(e instanceof api.CliauthError)) throw e;
        actual = c.expect.message !== undefined ? { error: e.code, message: e.message } : { error: e.code };
      }
      check(c.name, actual, c.expect);
      if (c.round_trip) skip('round_trip: the document text is checked by core; the JS API writes it only through changes');
    }
    const store = () => api.memoryStore(v.document);
    for (const c of v.resolve) {
      const hasFlag = c.flag !== null && c.flag !== undefined && c.flag.trim() !== '';
      const hasEnv = Array.isArray(c.env) && c.env[1].trim() !== '';
      if (hasFlag || hasEnv) {
        skip('resolve: --api-key flags and environment variables are CLI inputs');
        continue;
      }
      let actual;
      try {
        const s = await api.credentials.status(store(), { profile: c.profile ?? undefined });
        actual = s.source === null ? null : { source: s.source };
      } catch (e) {
        actual = { error: e.code, message: e.message };
      }
      check(c.name, actual, c.expect);
    }
    api.configure({
      cli: v.app.cli,
      product: v.app.product,
      keyFormats: [{ id: 'acme-dev', product: 'Acme', label: 'developer key', prefix: 'acme_dev_', charset: 'base62', minLen: 24, maxLen: 64 }],
    });
    for (const c of v.status) {
      if (c.flag || c.env) {
        skip('status: --api-key flags and environment variables are CLI inputs', c.text ? 2 : 1);
        continue;
      }
      const opts = { profile: c.profile ?? undefined, now: c.now * 1000 };
      check(c.name, await api.credentials.status(store(), opts), c.expect);
      if (c.text !== undefined) check(`${c.name} (text)`, await api.credentials.statusText(store(), opts), c.text);
    }
    api.configure({ cli: 'cli', product: 'service', keyFormats: [] });
  }

  // ── flow transcripts (refresh, browser login) ──────────────────────────
  // The same transcripts core/tests/vectors/transcripts.rs runs: the flow is
  // stepped with a virtual clock, answered as the case scripts, and its written
  // documents compared byte for byte.
  const transcriptOf = (flow, start, c) => {
    const expected = c.expect.transcript;
    const stored = [...(c.stored ?? [])];
    const responses = [...(c.responses ?? [])];
    const persist = [...(c.persist ?? [])];
    const out = { transcript: [], documents: [], requests: [], done: undefined };
    const cancelHere = () => c.cancel_at === out.transcript.length - 1;
    let now = start;
    for (let i = 0; i < 100; i++) {
      let step;
      try {
        step = flow.poll(now);
      } catch (e) {
        out.transcript.push({ failed: e.code });
        return out;
      }
      if (step.type === 'send') {
        out.transcript.push('send');
        out.requests.push(step.request.body ?? '');
        if (cancelHere()) flow.cancel();
        const a = responses.shift();
        if (a === undefined) {
          out.transcript.push('ran out of responses');
          return out;
        }
        if (a === 'transport_not_sent') flow.handleTransportError(now, { notSent: true, reason: 'connection refused' });
        else flow.handleResponse(now, response(a));
      } else if (step.type === 'wait') {
        const waited = step.until - now;
        const e = expected[out.transcript.length];
        if (e && e.wait_between) {
          const [lo, hi] = e.wait_between;
          out.transcript.push(waited >= lo && waited <= hi ? e : { wait: waited });
        } else out.transcript.push({ wait: waited });
        if (cancelHere()) flow.cancel();
        else now = step.until;
      } else if (step.type === 'read_storage') {
        flow.handleStored(now, stored.length ? stored.shift() : null);
      } else if (step.type === 'persist') {
        out.transcript.push('persist');
        out.documents.push(step.document);
        if (persist.shift() === 'ok') flow.handlePersisted();
        else flow.handleStorageError('disk full');
      } else if (step.type === 'done') {
        out.done = step.value;
        return out;
      } else if (step.type !== 'prompt') return out;
    }
    return out;
  };
  const checkTranscript = (c, out, done) => {
    if (out.done !== undefined) out.transcript.push({ done: done(out.done) });
    check(c.name, { transcript: out.transcript, documents: out.documents }, { transcript: c.expect.transcript, documents: c.expect.documents });
    if (c.expect.requests) check(`${c.name} (requests)`, out.requests, c.expect.requests);
  };

  file = 'refresh';
  if (want(file)) {
    const v = files.refresh;
    for (const c of v.cases) {
      const flow = api.accessTokenFlow(
        { tokenEndpoint: v.token_endpoint, clientId: v.client_id, issuer: v.issuer },
        { force: Boolean(c.force), seed: 0 },
      );
      checkTranscript(c, transcriptOf(flow, v.start_ms, c), (t) => ({
        access_token: t.accessToken,
        refreshed: t.refreshed,
        rotated: t.rotated,
      }));
    }
  }

  file = 'browser_login';
  if (want(file)) {
    const v = files.browser_login;
    for (const c of v.cases) {
      const config = {
        authorizationEndpoint: v.authorization_endpoint,
        tokenEndpoint: v.token_endpoint,
        clientId: v.client_id,
        scopes: v.scopes,
        issuer: v.issuer,
        profile: c.profile ?? undefined,
      };
      const start = api.startAuthorization(config, { redirectUri: v.redirect_uri, entropy: hex(v.entropy_hex), now: v.start_ms });
      const callback = '?' + c.callback.replace('{state}', start.state);
      const flow = api.browserLoginFlow(config, start.pending, callback, { now: v.start_ms, seed: 0 });
      checkTranscript(c, transcriptOf(flow, v.start_ms, c), (t) => ({ access_token: t.accessToken }));
    }
  }

  file = 'discovery';
  if (want(file)) {
    skip('discovery is not part of the JS API (pass endpoints)', files.discovery.urls.length + files.discovery.metadata.length);
  }

  return state;
}

export const VECTOR_FILES = [
  'pkce', 'keys', 'jwt', 'authorize', 'loopback', 'token_responses', 'http_errors',
  'retry', 'device', 'user_codes', 'handoff', 'credentials', 'discovery', 'refresh', 'browser_login',
];
