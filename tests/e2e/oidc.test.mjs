// The same democli logins against panva's oidc-provider (tests/interop/server.mjs with
// INTERACTIONS=forms and RECORD_SECRETS): code + PKCE through oidc-provider's own
// login and consent forms, the device flow through its device pages, then status,
// token and logout (revocation). Each test ends with the secret scan.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { JSON_MODE, scenario, loginOutcome, lastJson } from './lib/harness.mjs';

const LOADED = { waitUntil: 'domcontentloaded' };

/** Fills oidc-provider's devInteractions login form, then its consent form. */
async function loginAndConsent(page, account) {
  await page.locator('input[name=login]').waitFor({ state: 'visible' });
  assert.equal(await page.locator('h1').textContent(), 'Sign-in');
  await page.locator('input[name=login]').fill(account);
  await page.locator('input[name=password]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor({ state: 'visible' });
  assert.equal(await page.locator('h1').textContent(), 'Authorize');
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** status, token and logout after a login as `account`; then status says signed out. */
async function statusTokenLogout(s, server, account, method) {
  const doc = s.credentials();
  const profile = doc.profiles[doc.active_profile];
  assert.equal(profile.credential.type, 'oauth');
  assert.equal(profile.method, method);
  assert.equal(profile.issuer, server.issuer);
  assert.ok(profile.credential.refresh_token, 'oidc-provider issued a refresh token');

  const status = await s.run(server, ['auth', 'status']);
  assert.equal(status.code, 0, status.stderr);
  if (JSON_MODE) {
    const report = lastJson(status.stdout);
    assert.equal(report.authenticated, true);
    assert.equal(report.subject, account);
    assert.equal(report.issuer, server.issuer);
    assert.equal(report.method, method);
  } else {
    assert.match(status.stderr, new RegExp(`^✓ Logged in to Demo as ${account}$`, 'm'));
  }

  const token = await s.run(server, ['auth', 'token'], {}, { designated: true });
  assert.equal(token.code, 0, token.stderr);
  const printed = JSON_MODE ? lastJson(token.stdout).access_token : token.stdout.trim();
  assert.equal(printed, profile.credential.access_token);

  const revocations = (await server.stats()).revocations;
  const logout = await s.run(server, ['auth', 'logout']);
  assert.equal(logout.code, 0, logout.stderr);
  if (JSON_MODE) {
    const out = lastJson(logout.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.logout.profile, 'default');
  } else {
    assert.match(logout.stderr, /^✓ Logged out of Demo \(profile default\)$/m);
    assert.doesNotMatch(logout.stderr, /could not be revoked|Nothing was sent/);
  }
  assert.equal((await server.stats()).revocations, revocations + 1, 'revoked at oidc-provider');
  // The revoked refresh token is refused by the server itself.
  const refresh = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: profile.credential.refresh_token,
      client_id: server.clientId,
    }),
  });
  assert.equal(refresh.status, 400);
  assert.equal((await refresh.json()).error, 'invalid_grant');

  const after = await s.run(server, ['auth', 'status']);
  assert.equal(after.code, 2, 'not authenticated any more');
  if (JSON_MODE) {
    assert.equal(lastJson(after.stdout).authenticated, false);
  } else {
    assert.match(after.stderr, /^✗ Not authenticated$/m);
  }
  const left = s.credentials();
  assert.ok(!left || !left.profiles.default, 'the profile is gone');
}

test('oidc-provider: code + PKCE through its login and consent forms, then status, token, logout', async (t) => {
  const s = scenario(t);
  const server = await s.oidcProvider();
  const { page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--browser']);
  const url = new URL((await s.openLaunchLink(page, LOADED)).target);
  assert.equal(url.origin, server.issuer);
  assert.equal(url.searchParams.get('client_id'), server.clientId);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  const redirect = url.searchParams.get('redirect_uri');
  assert.match(redirect, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);

  const callback = page.waitForRequest((r) => r.url().startsWith(redirect));
  await loginAndConsent(page, 'alice');
  const cb = new URL((await callback).url());
  assert.equal(cb.searchParams.get('state'), url.searchParams.get('state'));
  assert.equal(cb.searchParams.get('iss'), server.issuer);
  await page.waitForURL((u) => u.href.startsWith(redirect));
  assert.equal(await page.locator('h1').textContent(), '✓ Signed in to Demo');

  const outcome = loginOutcome(await login.result());
  if (JSON_MODE) {
    assert.equal(outcome.subject, 'alice');
    assert.equal(outcome.method, 'browser');
  }
  await statusTokenLogout(s, server, 'alice', 'browser');
  await s.finish({
    expectKinds: ['authorization_code', 'code_verifier', 'access_token', 'refresh_token', 'id_token', 'callback_code'],
  });
});

test('oidc-provider: device flow through its device pages, then status, token, logout', async (t) => {
  const s = scenario(t);
  const server = await s.oidcProvider();
  const { page } = await s.browser();
  const login = s.democli(server, ['auth', 'login', '--device']);
  const [, uri, code] = await login.stderr.waitFor(
    /To sign in, open (\S+) on any device and enter the code:\n\n {4}(\S+)\n/,
  );
  assert.equal(uri, `${server.issuer}/device`);

  await page.goto(uri, LOADED);
  const input = page.locator('input[name=user_code]');
  await input.waitFor({ state: 'visible' });
  // Lower case, a space for the dash: oidc-provider normalises it.
  await input.pressSequentially(code.toLowerCase().replace('-', ' '));
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('h1', { hasText: 'Confirm Device' }).waitFor();
  assert.equal(await page.locator('code').textContent(), code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await loginAndConsent(page, 'bob');
  await page.locator('h1', { hasText: 'Sign-in Success' }).waitFor();

  const outcome = loginOutcome(await login.result());
  if (JSON_MODE) {
    assert.equal(outcome.subject, 'bob');
    assert.equal(outcome.method, 'device');
  }
  await statusTokenLogout(s, server, 'bob', 'device');
  const report = await s.finish({ expectKinds: ['device_code', 'access_token', 'refresh_token', 'id_token'] });
  assert.equal(report.userCodesExcluded, 1);
  assert.ok(fs.existsSync(path.join(s.home)), 'DEMO_HOME was used');
});
