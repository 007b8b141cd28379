// The secret scan: every secret of a run, searched for in everything democli printed
// or wrote.
//
// A secret is found when the whole value appears (as is, or URL-encoded), or any
// 16-character window of its random part does (a truncated or partly masked leak;
// the random part is the value without a known `demo_xx_` prefix, or a JWT's
// signature). Masked keys as democli shows them (`demo_dev_…WXYZ`, the last four
// characters) are far shorter than a window, so they are not findings.
//
// PKCE verifiers that never reach a server (a denied or timed-out login) are still
// found: every PKCE code challenge democli opened in the browser is kept, and every
// run of 43–128 verifier characters in the capture is hashed (S256) and compared.
//
// User codes (RFC 8628) are not secrets: they are meant to be shown in the terminal.
// The dev server's recorder marks them `"secret": false`; they are kept apart
// (`userCodes`) and never scanned for.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

export const WINDOW = 16;
const PREFIX = /^(demo_(?:at|rt|ac|hc|dc)_|demo_dev_)/;

/** The secrets of a run: kind → values. */
export class Ledger {
  constructor() {
    /** value → {kinds:Set, sources:Set} (one value can be known by several names) */
    this.values = new Map();
    /** user codes (not secret; excluded from the scan). */
    this.userCodes = new Set();
    /** S256 code challenges whose verifiers must not appear. */
    this.challenges = new Set();
  }

  /** Keeps the S256 `code_challenge` of a URL democli opened, if it has one. */
  addChallengeFrom(url) {
    const challenge = new URL(url).searchParams.get('code_challenge');
    if (challenge) {
      this.challenges.add(challenge);
    }
  }

  add(kind, value, source) {
    if (typeof value !== 'string' || value.length < 8) {
      throw new Error(`not a secret worth scanning for: ${kind} ${JSON.stringify(value)}`);
    }
    const entry = this.values.get(value) || { kinds: new Set(), sources: new Set(), serverKind: null };
    entry.kinds.add(kind);
    entry.sources.add(source);
    if (source === 'server record' && !entry.serverKind) {
      entry.serverKind = kind;
    }
    this.values.set(value, entry);
  }

  /** Loads a recorder file (the dev server's or the interop server's JSON lines). */
  loadRecord(file) {
    if (!fs.existsSync(file)) {
      throw new Error(`the secret record ${file} is missing`);
    }
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) {
        continue;
      }
      const { kind, secret, value } = JSON.parse(line);
      if (secret === false) {
        this.userCodes.add(value);
      } else {
        this.add(kind, value, 'server record');
      }
    }
  }

  get size() {
    return this.values.size;
  }

  /**
   * Distinct values per kind, each value counted once: under the kind the server's
   * record gave it, else the browser's or the test's, else its credentials.json field
   * (`stored access_token` → `access_token`).
   */
  primaryKinds() {
    const out = {};
    for (const { kinds, serverKind } of this.values.values()) {
      const list = [...kinds];
      const kind = serverKind
        || list.find((k) => !k.startsWith('stored '))
        || list[0].replace(/^stored /, '');
      out[kind] = (out[kind] || 0) + 1;
    }
    return out;
  }

  /** Distinct values per kind (a value known by two names counts for both). */
  kinds() {
    const out = {};
    for (const { kinds } of this.values.values()) {
      for (const kind of kinds) {
        out[kind] = (out[kind] || 0) + 1;
      }
    }
    return out;
  }
}

/** The needles of one secret: `[text, how]`. */
export function needles(value) {
  const out = [[value, 'whole value']];
  const encoded = encodeURIComponent(value);
  if (encoded !== value) {
    out.push([encoded, 'URL-encoded']);
  }
  let tail = value.replace(PREFIX, '');
  const jwt = value.split('.');
  if (jwt.length === 3 && value.startsWith('eyJ')) {
    tail = jwt[2];
  }
  if (tail.length >= WINDOW + 4) {
    for (let i = 0; i + WINDOW <= tail.length; i += 1) {
      out.push([tail.slice(i, i + WINDOW), `16-character piece at ${i}`]);
    }
  }
  return out;
}

/**
 * Scans `items` (`{label, text}`) for every secret of `ledger`. Returns
 * `{items, bytes, values, kinds, userCodesExcluded, findings}`; a finding is
 * `{kind, how, label, context}` (context with the secret masked).
 */
export function scanAll(items, ledger) {
  const findings = [];
  let bytes = 0;
  for (const item of items) {
    bytes += Buffer.byteLength(item.text);
  }
  for (const [value, { kinds }] of ledger.values) {
    const kind = [...kinds].join('/');
    const list = needles(value);
    for (const item of items) {
      for (const [needle, how] of list) {
        const at = item.text.indexOf(needle);
        if (at >= 0) {
          const context = item.text
            .slice(Math.max(0, at - 40), at + needle.length + 40)
            .replace(needle, `<${kind}>`)
            .replace(/\n/g, '⏎');
          findings.push({ kind, how, label: item.label, context });
          break;
        }
      }
    }
  }
  if (ledger.challenges.size) {
    for (const item of items) {
      const verifier = findVerifier(item.text, ledger.challenges);
      if (verifier) {
        findings.push({
          kind: 'code_verifier',
          how: 'matches a code_challenge (S256)',
          label: item.label,
          context: '<code_verifier>',
        });
      }
    }
  }
  return {
    items: items.length,
    bytes,
    values: ledger.size,
    kinds: ledger.kinds(),
    primaryKinds: ledger.primaryKinds(),
    userCodesExcluded: ledger.userCodes.size,
    challenges: ledger.challenges.size,
    captured: items.map((i) => ({ label: i.label, bytes: Buffer.byteLength(i.text) })),
    findings,
  };
}

/** S256: base64url(SHA-256(verifier)). */
export function s256(verifier) {
  return createHash('sha256').update(verifier).digest('base64url');
}

/**
 * A substring of `text` (43–128 characters of the RFC 7636 verifier alphabet) whose
 * S256 challenge is in `challenges`, or null.
 */
export function findVerifier(text, challenges) {
  for (const [run] of text.matchAll(/[A-Za-z0-9\-._~]{43,}/g)) {
    for (let len = 43; len <= Math.min(128, run.length); len += 1) {
      for (let i = 0; i + len <= run.length; i += 1) {
        const candidate = run.slice(i, i + len);
        if (challenges.has(s256(candidate))) {
          return candidate;
        }
      }
    }
  }
  return null;
}
