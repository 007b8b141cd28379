// Shared helpers of the dev server's pages (cli-auth.html, device.html).
//
// The pages are plain ES modules. Everything about the handoff and user codes comes
// from the `cliauth` npm package, served by the dev server at /pkg/ (entry
// /pkg/handoff.js and /pkg/device.js, built from wasm/ into npm/dist). The dev server's own endpoints used
// here: GET /api/session, POST /login (JSON {"username"}), POST /cli-auth/mint,
// POST /device/approve.

/** Shortcut for document.getElementById. */
export function $(id) {
  return document.getElementById(id);
}

/** Shows or hides an element. */
export function show(element, visible = true) {
  element.hidden = !visible;
}

/** Sets the one-line status text. */
export function status(text) {
  $('status').textContent = text;
}

/**
 * Loads an entry of the npm package (`/pkg/handoff.js` for the cli-auth page,
 * `/pkg/device.js` for the device page: each loads only its own page's module) and
 * initialises its wasm module.
 * Resolves to `{ ok: true, mod }` or `{ ok: false, error }`; never throws.
 */
export async function loadCliauth(entry) {
  try {
    const mod = await import(entry);
    if (typeof mod.default === 'function') {
      await mod.default();
    }
    return { ok: true, mod };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The dev server's session state (GET /api/session). */
export async function getSession() {
  const response = await fetch('/api/session', { credentials: 'same-origin' });
  if (!response.ok) {
    throw new Error(`the dev server answered HTTP ${response.status}`);
  }
  return response.json();
}

/**
 * What both pages do first: ask for the session state and load the package's
 * `entry` at the same time (the HTML preloads the package's script and wasm). `check(cliauth)` runs
 * as soon as the package is ready — before the page waits on the session — so a bad
 * link is refused without waiting on the network. Shows the error and resolves to
 * null when the session or the package is missing; otherwise `{ session, cliauth,
 * checked }` (`checked`: what `check` returned).
 */
export async function start(entry, check = () => undefined) {
  const session = getSession().then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  const loaded = await loadCliauth(entry);
  const checked = loaded.ok ? check(loaded.mod) : undefined;
  const got = await session;
  if (got.error) {
    showError('The dev server is not reachable', got.error);
    status('');
    return null;
  }
  if (!loaded.ok) {
    showPackageMissing(got.value, loaded.error);
    return null;
  }
  return { session: got.value, cliauth: loaded.mod, checked };
}

/** Signs in as a dev user (no password) and returns the new session state. */
export async function signIn(username) {
  const response = await fetch('/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.detail || `sign-in failed (HTTP ${response.status})`);
  }
  return getSession();
}

/** Turns anything thrown (a CliauthError, an Error, a string) into display text. */
export function describe(error) {
  if (error == null) {
    return { message: 'Unknown error', hint: '', code: '' };
  }
  if (typeof error === 'string') {
    return { message: error, hint: '', code: '' };
  }
  return {
    message: error.message || String(error),
    hint: typeof error.hint === 'string' ? error.hint : '',
    code: typeof error.code === 'string' ? error.code : '',
  };
}

/**
 * Shows an error box: a title, the error's message, its hint (CliauthError.hint)
 * and an optional extra sentence.
 */
export function showError(title, error, extra = '') {
  const box = $('error');
  const { message, hint, code } = describe(error);
  box.replaceChildren();
  const h = document.createElement('h2');
  h.textContent = title;
  const p = document.createElement('p');
  p.id = 'error-message';
  p.textContent = message;
  box.append(h, p);
  if (hint) {
    const q = document.createElement('p');
    q.className = 'hint';
    q.textContent = hint;
    box.append(q);
  }
  if (extra) {
    const q = document.createElement('p');
    q.className = 'hint';
    q.textContent = extra;
    box.append(q);
  }
  if (code) {
    box.dataset.code = code;
  } else {
    delete box.dataset.code;
  }
  show(box);
}

/** Hides the error box. */
export function clearError() {
  show($('error'), false);
}

/** Says clearly that the npm package is missing, and where the server looks for it. */
export function showPackageMissing(session, error) {
  const dir = session && session.pkg_dir ? session.pkg_dir : 'npm/dist';
  showError(
    'The cliauth npm package is not built yet',
    `This page needs the package under /pkg/, which the dev server serves from ${dir}.`,
    'Build the npm package (from wasm/ into npm/dist), or start the dev server with ' +
      '--pkg-dir pointing at a built package, then reload this page. ' +
      `(${describe(error).message})`,
  );
  status('');
}

/**
 * Renders who is signed in into #account; when nobody is, a dev sign-in form (no
 * password: pick an account or type any username). Calls `onChange(session)` after a
 * sign-in.
 */
export function renderAccount(session, onChange) {
  const box = $('account');
  box.replaceChildren();
  show(box);
  if (session.signed_in && session.user) {
    const p = document.createElement('p');
    p.className = 'account';
    p.id = 'signed-in';
    p.append('Signed in as ');
    const strong = document.createElement('strong');
    strong.textContent = session.user.name;
    const email = document.createElement('span');
    email.className = 'muted';
    email.textContent = ` ${session.user.email}`;
    p.append(strong, email);
    if (session.implicit) {
      const note = document.createElement('span');
      note.className = 'muted';
      note.textContent = ' (quickstart mode)';
      p.append(note);
    }
    box.append(p);
    return;
  }
  const form = document.createElement('form');
  form.id = 'sign-in';
  const legend = document.createElement('p');
  legend.textContent = 'Sign in to continue. Development accounts have no password.';
  form.append(legend);
  const list = document.createElement('div');
  list.className = 'user-buttons';
  for (const user of session.users || []) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'user';
    button.dataset.username = user.username;
    button.textContent = `Sign in as ${user.name}`;
    button.addEventListener('click', () => submit(user.username));
    list.append(button);
  }
  form.append(list);
  const label = document.createElement('label');
  label.textContent = 'Or another username ';
  const input = document.createElement('input');
  input.name = 'username';
  input.autocomplete = 'username';
  input.maxLength = 32;
  input.placeholder = 'e.g. carol';
  label.append(input);
  const go = document.createElement('button');
  go.type = 'submit';
  go.textContent = 'Sign in';
  form.append(label, go);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim()) {
      submit(input.value.trim());
    }
  });
  box.append(form);

  async function submit(username) {
    clearError();
    try {
      onChange(await signIn(username));
    } catch (error) {
      showError('Sign-in failed', error);
    }
  }
}
