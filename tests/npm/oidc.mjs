// A real OAuth server for the tests: panva's oidc-provider on 127.0.0.1, with PKCE
// required, the device flow, refresh-token rotation and CORS for browser clients.
// Interactions (login + consent) are approved automatically for account `user-42`.
import { createServer } from 'node:http';
import { once } from 'node:events';
import Provider from 'oidc-provider';

export async function startProvider({ webRedirectUri }) {
  let handler = (req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'web-app',
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [webRedirectUri],
      },
      {
        client_id: 'acme-cli',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
    },
    clientBasedCORS: () => true,
    issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['cliauth-test-cookie-key'] },
  });
  const callback = provider.callback();
  const log = [];
  handler = async (req, res) => {
    log.push(`${req.method} ${req.url.split('?')[0]}`);
    if (req.url.startsWith('/interaction/')) {
      try {
        const { params } = await provider.interactionDetails(req, res);
        const grant = new provider.Grant({ accountId: 'user-42', clientId: params.client_id });
        if (params.scope) grant.addOIDCScope(params.scope);
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { login: { accountId: 'user-42' }, consent: { grantId } }, { mergeWithLastSubmission: false });
      } catch (e) {
        res.writeHead(500);
        res.end(String(e));
      }
      return;
    }
    callback(req, res);
  };
  return {
    issuer,
    log,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    deviceAuthorizationEndpoint: `${issuer}/device/auth`,
    close: () => new Promise((r) => server.close(r)),
  };
}
