// Baseline bytes for `cargo xtask bench web-bytes`: oauth4webapi, bundled and
// minified with esbuild for the browser, gzip -9 — (a) only the functions that
// cliauth's full web module covers, (b) the whole module. Prints one JSON line.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const version = JSON.parse(readFileSync(require.resolve('oauth4webapi/package.json'), 'utf8')).version;

// What cliauth's full module does, expressed with oauth4webapi: PKCE, state,
// discovery, the authorization URL's parameters, callback validation (state, iss),
// the code exchange, refresh, the device flow and revocation; and a bearer call.
const same = `
export {
  generateRandomCodeVerifier, calculatePKCECodeChallenge, generateRandomState,
  discoveryRequest, processDiscoveryResponse,
  validateAuthResponse,
  authorizationCodeGrantRequest, processAuthorizationCodeResponse,
  refreshTokenGrantRequest, processRefreshTokenResponse,
  deviceAuthorizationRequest, processDeviceAuthorizationResponse,
  deviceCodeGrantRequest, processDeviceCodeResponse,
  revocationRequest, processRevocationResponse,
  protectedResourceRequest, None,
} from 'oauth4webapi';
`;
const whole = `export * from 'oauth4webapi';`;

async function size(contents) {
  const out = await build({
    stdin: { contents, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const code = out.outputFiles[0].contents;
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

console.log(JSON.stringify({ version, same: await size(same), whole: await size(whole) }));
