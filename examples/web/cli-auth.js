// The cli-auth handoff page.
//
// The CLI's launch link redirects the browser to
// /cli-auth?port=P&state=S&code_challenge=C&code_challenge_method=S256[&accept=api_key]
// [&mode=redirect|post|manual]. This page:
//   1. validates the request with the npm package (readHandoffRequest): a bad port or
//      state shows a typed error and nothing is sent anywhere;
//   2. shows who is signed in, or a dev sign-in form;
//   3. on "Continue", asks the dev server for a one-time code bound to the CLI's
//      PKCE challenge (POST /cli-auth/mint) — an API key only when the CLI asked for
//      one (accept=api_key, its raw-key option) and sent no challenge — and delivers
//      it with deliverHandoff: a top-level redirect to http://127.0.0.1:P/callback
//      (default), a POST to it, or a manual-copy panel for remote sessions.
// In quickstart mode (the server's --auto-approve-browser) it continues by itself.

import {
  $, show, status, start, getSession, renderAccount, showError, clearError, describe,
} from './common.js';

let cliauth = null;
let request = null;
let session = null;
let busy = false;

main().catch((error) => showError('Something went wrong', error));

async function main() {
  // The link is validated as soon as the package is ready, before the session answer.
  const started = await start('/pkg/handoff.js', (mod) => {
    try {
      return { request: mod.readHandoffRequest(window.location.href) };
    } catch (error) {
      return { error };
    }
  });
  if (!started) {
    return;
  }
  ({ session, cliauth } = started);

  if (started.checked.error) {
    const { error } = started.checked;
    status('');
    showError(
      'This sign-in link is not valid',
      error,
      'Nothing was sent to your CLI. Start the sign-in again from your terminal ' +
        '(for example `democli auth login`).',
    );
    return;
  }
  ({ request } = started.checked);

  $('continue-button').addEventListener('click', () => deliver(request.mode));
  $('manual-button').addEventListener('click', () => deliver('manual'));
  $('copy-button').addEventListener('click', copyPasteText);
  $('reveal-button').addEventListener('click', () => {
    const field = $('paste-text');
    show(field, field.hidden);
    $('reveal-button').textContent = field.hidden ? 'Show' : 'Hide';
  });
  $('continue-note').textContent =
    request.mode === 'manual'
      ? 'You will get a code to paste into your terminal.'
      : `This sends a one-time code to the CLI waiting on this computer (port ${request.port}).`;
  render();
}

function render() {
  renderAccount(session, (next) => {
    session = next;
    render();
  });
  const signedIn = Boolean(session.signed_in);
  show($('continue'), signedIn);
  status(signedIn ? `${session.client_id} is asking to sign in.` : 'Sign in to continue.');
  if (signedIn && session.auto_approve_browser) {
    deliver(request.mode);
  }
}

async function deliver(mode) {
  if (busy) {
    return;
  }
  busy = true;
  clearError();
  $('continue-button').disabled = true;
  $('manual-button').disabled = true;
  try {
    status('Creating a one-time code…');
    const credential = await mint();
    if (!credential) {
      return;
    }
    status(mode === 'manual' ? 'Ready to copy.' : 'Returning to your CLI…');
    const result = await cliauth.deliverHandoff(request, credential, { mode });
    if (mode === 'manual') {
      showManual(result);
    } else if (mode === 'post') {
      show($('continue'), false);
      show($('done'));
      status('');
    }
    // mode 'redirect': the browser is navigating to the CLI's loopback server.
  } catch (error) {
    status('');
    showError(
      mode === 'post' ? 'Could not reach your CLI' : 'Could not finish the sign-in',
      error,
      mode === 'manual'
        ? ''
        : 'Is the CLI still waiting in your terminal? If it runs on another computer, ' +
            'use “The CLI runs on another computer?” instead.',
    );
  } finally {
    busy = false;
    $('continue-button').disabled = false;
    $('manual-button').disabled = false;
  }
}

// A one-time code bound to the CLI's PKCE challenge (the CLI exchanges it with its
// verifier, so a code leaking from the URL is useless); a raw API key only when the
// CLI asked for one and sent no challenge.
async function mint() {
  let body;
  if (request.codeChallenge) {
    body = { port: request.port, code_challenge: request.codeChallenge, code_challenge_method: 'S256' };
  } else if (request.acceptsApiKey) {
    body = { kind: 'api_key' };
  } else {
    showError(
      'This sign-in link cannot be completed',
      'The CLI sent no PKCE challenge to bind a one-time code to, and did not ask for an API key.',
      'Nothing was sent to your CLI. Update it, or start the sign-in again from your terminal.',
    );
    status('');
    return null;
  }
  const response = await fetch('/cli-auth/mint', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) {
    session = await getSession();
    render();
    showError('Please sign in again', data.detail || 'Your session has ended.');
    return null;
  }
  if (!response.ok) {
    showError('Could not create a sign-in code', data.detail || `HTTP ${response.status}`);
    status('');
    return null;
  }
  return data.code ? { code: data.code } : { apiKey: data.api_key };
}

let pasteText = '';

function showManual(result) {
  pasteText = String(result.pasteText ?? '');
  $('masked').textContent = result.masked || '';
  $('paste-text').value = pasteText;
  show($('continue'), false);
  show($('manual'));
}

async function copyPasteText() {
  try {
    await navigator.clipboard.writeText(pasteText);
    $('copy-status').textContent = 'Copied. Paste it into your terminal.';
  } catch (error) {
    show($('paste-text'));
    $('paste-text').select();
    $('copy-status').textContent =
      `Copying is not allowed here (${describe(error).message}); select the text and copy it.`;
  }
}
