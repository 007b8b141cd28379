// A real OAuth 2.0 / OpenID Connect server for cliauth's interop tests: panva's
// oidc-provider on 127.0.0.1 with a public native client, PKCE (S256) required,
// device flow, refresh-token rotation, revocation and introspection.
//
// Usage: node server.mjs            (PORT=0 by default: a free port)
// When ready it prints one JSON line on stdout:
//   {"issuer":"http://127.0.0.1:PORT","client_id":"cliauth-test","port":PORT}
//
// Test helpers (not part of any OAuth spec):
//   GET  /test/stats  → {"token_requests":{"refresh_token":N,...},"revocations":N}
//   POST /test/deny   → the next interaction is denied (access_denied)
//   POST /test/hold?grant=refresh_token&ms=N → the next token response of that grant
//                       is held N ms after the server processed the request (a
//                       refresh token already rotated; the client waits for it)
// Interactions (/interaction/:uid) are approved automatically for account `user-42`
// (unless INTERACTIONS=forms).
//
// Options (environment; all off by default):
//   INTERACTIONS=forms   oidc-provider's own HTML login and consent forms
//                        (devInteractions) instead of the automatic approval, for
//                        tests that drive them in a browser (tests/e2e).
//   RECORD_SECRETS=FILE  append every secret the server issues or receives to FILE,
//                        one JSON line {"kind","secret","value","at"} each (the format
//                        of cliauth-devserver's --record-secrets): codes, PKCE verifiers,
//                        device codes, access/refresh/ID tokens, revoked tokens; user
//                        codes with "secret": false. For secret-leak scans; tests only.
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const CLIENT_ID = process.env.CLIENT_ID || 'cliauth-test';
const ACCOUNT = process.env.ACCOUNT_ID || 'user-42';
const FORMS = process.env.INTERACTIONS === 'forms';
const RECORD = process.env.RECORD_SECRETS || '';

const recorded = new Set();
function record(kind, value, at, secret = true) {
  if (!RECORD || typeof value !== 'string' || !value || recorded.has(value)) return;
  recorded.add(value);
  fs.appendFileSync(RECORD, `${JSON.stringify({ kind, secret, value, at })}\n`, { mode: 0o600 });
}

const stats = { token_requests: {}, revocations: 0 };
let denyNext = false;
let holdNext = null;
let handler = (req, res) => {
  res.statusCode = 503;
  res.end();
};

const server = http.createServer((req, res) => handler(req, res));

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_name: 'cliauth interop',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        // RFC 8252 §7.3: any port is accepted for a loopback IP redirect.
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: FORMS },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    expiresWithSession: async () => false,
    clientBasedCORS: () => true,
    cookies: { names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_resume' } },
    ttl: { AccessToken: 3600, RefreshToken: 86400, DeviceCode: 60, Interaction: 600, Session: 86400, Grant: 86400 },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.test`, name: 'Interop User' }),
    }),
  });
  provider.proxy = false;

  // Count token and revocation requests by outcome-independent grant type.
  provider.use(async (ctx, next) => {
    const isToken = ctx.method === 'POST' && ctx.path === '/token';
    const isRevoke = ctx.method === 'POST' && ctx.path === '/token/revocation';
    await next();
    if (isToken) {
      const grant = ctx.oidc?.params?.grant_type || 'unknown';
      stats.token_requests[grant] = (stats.token_requests[grant] || 0) + 1;
      if (holdNext && holdNext.grant === grant) {
        const { ms } = holdNext;
        holdNext = null;
        await new Promise((resolve) => { setTimeout(resolve, ms); });
      }
    }
    if (isRevoke) stats.revocations += 1;
  });

  // RECORD_SECRETS: what crossed the HTTP boundary, whether accepted or not.
  if (RECORD) {
    provider.use(async (ctx, next) => {
      await next();
      const at = `${ctx.method} ${ctx.path}`;
      const params = ctx.oidc?.params || {};
      for (const name of ['code', 'code_verifier', 'refresh_token', 'device_code', 'token']) {
        record(name === 'code' ? 'authorization_code' : name, params[name], at);
      }
      const auth = ctx.get('authorization');
      if (auth.startsWith('Bearer ')) record('bearer', auth.slice(7).trim(), at);
      const body = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
      for (const name of ['access_token', 'refresh_token', 'id_token', 'device_code']) {
        record(name, body[name], at);
      }
      record('user_code', body.user_code, at, false);
      const location = ctx.response.get('location');
      if (location) {
        const url = new URL(location, issuer);
        const fragment = new URLSearchParams(url.hash.slice(1));
        record('authorization_code', url.searchParams.get('code') || fragment.get('code'), at);
      }
    });
  }

  const callback = provider.callback();

  async function interaction(req, res) {
    try {
      const details = await provider.interactionDetails(req, res);
      if (denyNext) {
        denyNext = false;
        await provider.interactionFinished(req, res, {
          error: 'access_denied',
          error_description: 'The user declined',
        }, { mergeWithLastSubmission: false });
        return;
      }
      const { prompt, params, session } = details;
      if (prompt.name === 'login') {
        await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT } }, {
          mergeWithLastSubmission: false,
        });
        return;
      }
      let grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      if (missing.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const grantId = await grant.save();
      const consent = details.grantId ? {} : { grantId };
      await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
    } catch (err) {
      res.statusCode = 500;
      res.setHeader('content-type', 'text/plain');
      res.end(`interaction failed: ${err.message}`);
    }
  }

  handler = (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/test/stats' && req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
      return;
    }
    if (url.pathname === '/test/hold' && req.method === 'POST') {
      holdNext = {
        grant: url.searchParams.get('grant') || 'refresh_token',
        ms: Math.min(Number(url.searchParams.get('ms')) || 0, 120000),
      };
      res.statusCode = 204;
      res.end();
      return;
    }
    if (url.pathname === '/test/deny' && req.method === 'POST') {
      denyNext = true;
      res.statusCode = 204;
      res.end();
      return;
    }
    if (!FORMS && url.pathname.startsWith('/interaction/')) {
      interaction(req, res);
      return;
    }
    callback(req, res);
  };

  process.stdout.write(`${JSON.stringify({ issuer, client_id: CLIENT_ID, port })}\n`);
});

// Never die of a closed stdout or stderr pipe.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
// Exit when the test that started us goes away (stdin closes).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
