// The device verification page (RFC 8628 verification_uri).
//
// The code is normalised live as it is typed (userCodeInput from the npm package:
// any case, with or without dashes or spaces), and approved or denied with
// approveDevice, which POSTs {"user_code", "action"} to /device/approve under the dev
// session cookie. /device?user_code=WDJB-MJHT (verification_uri_complete) pre-fills
// the code. In quickstart mode (the server's --auto-approve-device) a pre-filled
// code is approved by itself.

import {
  $, show, status, start, getSession, renderAccount, showError, clearError,
} from './common.js';

const CODE_LENGTH = 8;

let cliauth = null;
let session = null;
let busy = false;
let autoApproved = false;

main().catch((error) => showError('Something went wrong', error));

async function main() {
  const started = await start('/pkg/device.js');
  if (!started) {
    return;
  }
  ({ session, cliauth } = started);

  const input = $('user-code');
  input.addEventListener('input', onInput);
  $('code-form').addEventListener('submit', (event) => {
    event.preventDefault();
    decide(true);
  });
  $('deny-button').addEventListener('click', () => decide(false));
  const prefilled = new URLSearchParams(window.location.search).get('user_code');
  if (prefilled) {
    input.value = prefilled;
  }
  render();
}

function render() {
  renderAccount(session, (next) => {
    session = next;
    render();
  });
  const signedIn = Boolean(session.signed_in);
  show($('code-form'), signedIn);
  status(signedIn ? '' : 'Sign in to connect your device.');
  if (signedIn) {
    onInput();
    $('user-code').focus();
  }
}

function problemText(problem) {
  if (!problem) {
    return '';
  }
  if (typeof problem === 'string') {
    return problem;
  }
  return problem.message || problem.text || String(problem);
}

function problemKind(problem) {
  if (problem && typeof problem === 'object') {
    return String(problem.kind || problem.code || '');
  }
  return '';
}

// Live feedback: reformat as XXXX-XXXX, explain mistakes, enable the buttons when the
// code is complete. "Too short" is not a mistake while typing.
function onInput() {
  const input = $('user-code');
  const typed = cliauth.userCodeInput(input.value);
  const atEnd = input.selectionStart === input.value.length;
  if (atEnd && typed.display !== input.value) {
    input.value = typed.display;
  }
  const significant = typed.display.replace(/-/g, '').length;
  const text = problemText(typed.problem);
  const invalid = /invalid|never/i.test(`${problemKind(typed.problem)} ${text}`);
  const stillTyping = !typed.complete && !invalid && significant < CODE_LENGTH;
  const hint = $('code-hint');
  if (typed.complete) {
    hint.textContent = 'Check that this is the code shown in your terminal.';
    hint.className = 'muted';
  } else if (stillTyping) {
    hint.textContent = '';
  } else {
    hint.textContent = text;
    hint.className = 'error';
  }
  const ready = typed.complete && !busy;
  $('approve-button').disabled = !ready;
  $('deny-button').disabled = !ready;
  if (ready && session.auto_approve_device && !autoApproved) {
    autoApproved = true;
    decide(true);
  }
}

async function decide(approve) {
  if (busy) {
    return;
  }
  let code;
  try {
    code = cliauth.normalizeUserCode($('user-code').value);
  } catch (error) {
    showError('That code is not valid', error);
    return;
  }
  busy = true;
  clearError();
  $('approve-button').disabled = true;
  $('deny-button').disabled = true;
  status(approve ? 'Approving…' : 'Denying…');
  try {
    const endpoint = new URL('/device/approve', window.location.origin).href;
    await cliauth.approveDevice(endpoint, code, approve);
    show($('code-form'), false);
    show($('result'));
    $('result-title').textContent = approve ? 'Device connected' : 'Request denied';
    $('result-text').textContent = approve
      ? `Code ${code} is approved. Return to your terminal: the CLI continues on its own.`
      : `Code ${code} was denied. The CLI will report that access was denied.`;
    status('');
  } catch (error) {
    status('');
    showError(approve ? 'Could not approve the code' : 'Could not deny the code', error);
    if (error && (error.status === 401 || /sign in|login_required/i.test(String(error.message)))) {
      session = await getSession();
      render();
    }
  } finally {
    busy = false;
    if (!$('code-form').hidden) {
      onInput();
    }
  }
}
