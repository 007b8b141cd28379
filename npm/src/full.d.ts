// cliauth/full — everything in `cliauth`, plus PKCE, state, API keys, JWT decoding,
// token responses, the browser login (authorization code + PKCE), the device login,
// access tokens with refresh, and the credentials document in Web Storage.
//
// One module per page: import from `cliauth` (small) or from `cliauth/full`.

export * from './index.js';
export { default } from './index.js';

import type { CliauthError, KeyFormat, KeyProblemCode, ResponseLike } from './index.js';

// ── PKCE and state ─────────────────────────────────────────────────────────

export type PkceMethod = 'S256' | 'plain';

export interface Pkce {
  /** Secret: send it only in the token request. */
  verifier: string;
  challenge: string;
  method: 'S256';
}

/** A fresh verifier (32 random bytes from `crypto.getRandomValues`) and its S256 challenge. */
export function createPkce(): Pkce;
/** The verifier made from 32–96 bytes of entropy, with its S256 challenge. */
export function pkceFromEntropy(entropy: Uint8Array): Pkce;
/** @throws {CliauthError} `invalid_argument` for a malformed verifier. */
export function pkceChallenge(verifier: string, method?: PkceMethod): string;
/**
 * The method to use, given the server's `code_challenge_methods_supported` (`null`:
 * the server does not say). `plain` only when `allowPlain` and nothing better exists.
 *
 * @throws {CliauthError} `invalid_config` when the server supports no usable method.
 */
export function negotiatePkceMethod(
  serverMethods: readonly string[] | null,
  allowPlain?: boolean,
): PkceMethod;
/** A fresh `state` (43 URL-safe characters). */
export function createState(): string;
/** @throws {CliauthError} `invalid_argument` unless 16–256 characters of `A-Z a-z 0-9 - . _ ~`. */
export function checkState(value: string): void;
/** Constant-time comparison. @throws {CliauthError} when `expected` is malformed. */
export function stateMatches(expected: string, received: string): boolean;

// ── API keys ───────────────────────────────────────────────────────────────

export type KeyDiagnosis =
  | { ok: true; formatId: string; masked: string }
  | { ok: false; problem: KeyProblemCode; message: string };

/** The key formats an app accepts, and the well-known foreign ones it recognises. */
export class KeyRegistry {
  constructor(formats?: KeyFormat[]);
  /** Recognises another product's prefix, so that a pasted key of it is named. */
  addForeign(product: string, label: string, prefix: string): this;
  /** @throws {CliauthError} `invalid_key` with `problem`. */
  validate(input: string): { formatId: string; masked: string };
  /** Names the mistake without throwing. */
  diagnose(input: string): KeyDiagnosis;
  /** `acme_dev_…a1b2`. */
  mask(key: string): string;
}

// ── JWT and token responses ────────────────────────────────────────────────

export interface DecodedJwt {
  header: { alg?: string; typ?: string; kid?: string };
  /** Registered claims (`aud` as a list, `scope`/`scp` as a string) and every other claim. */
  claims: {
    sub?: string;
    iss?: string;
    aud: string[];
    exp?: number;
    iat?: number;
    nbf?: number;
    scope?: string;
    [claim: string]: unknown;
  };
}

/** Decodes a JWT **without verifying it** — for display only. @throws {CliauthError} `invalid_jwt`. */
export function decodeJwt(token: string): DecodedJwt;

export type TokenEndpointResult =
  | {
      tokens: {
        accessToken: string;
        tokenType: 'Bearer';
        expiresInMs?: number;
        refreshToken?: string;
        scope?: string;
        idToken?: string;
      };
    }
  | { oauthError: { error: string; description?: string; uri?: string } };

/**
 * Parses a token endpoint response (RFC 6749 §5). OAuth errors are returned; HTTP
 * failures that are not OAuth errors throw (`rate_limited`, `server_error`,
 * `protocol_error`).
 */
export function parseTokenResponse(response: ResponseLike, now?: number): TokenEndpointResult;

// ── tokens, stores, credentials ────────────────────────────────────────────

/** What the login and token functions resolve with. The refresh token stays in the store. */
export type Tokens =
  | {
      kind: 'oauth';
      accessToken: string;
      tokenType: string;
      /** Absent when the server did not say. */
      expiresAt?: number;
      scope?: string;
      idToken?: string;
      refreshable: boolean;
      obtainedAt: number;
      /** From {@link getAccessToken}: whether this call refreshed. */
      refreshed?: boolean;
      /** From {@link getAccessToken}: whether the refresh rotated the refresh token (the new one is stored). */
      rotated?: boolean;
    }
  | { kind: 'api_key'; accessToken: string };

/**
 * Where the credentials document (the CLI's versioned JSON) lives. Reads and writes
 * may be async.
 */
export interface CredentialStore {
  /** Names the store for single-flight and the Web Locks name. */
  name?: string;
  read(): string | null | undefined | Promise<string | null | undefined>;
  write(text: string): void | Promise<void>;
}

/**
 * A store over Web Storage — `sessionStorage` or `localStorage` (default when `storage`
 * is omitted) — under `key` (default `cliauth.credentials`). Only when asked: the
 * default store of every function is memory, because any script on the origin can
 * read Web Storage (one XSS and the refresh token is gone).
 */
export function webStorage(storage?: Storage, key?: string): CredentialStore;
/** A store in memory. Every function's default store is one shared memory store. */
export function memoryStore(initial?: string | null, name?: string): CredentialStore;

/** `auth status --json` of the CLI, field for field. */
export interface StatusReport {
  authenticated: boolean;
  source: string | null;
  profile: string | null;
  credential_type: 'api_key' | 'oauth' | null;
  method: 'api_key' | 'browser' | 'handoff' | 'device' | 'paste' | null;
  subject: string | null;
  issuer: string | null;
  api_base: string | null;
  masked_key: string | null;
  expires_at: string | null;
  expires_in_secs: number | null;
  token_status: 'valid' | 'refresh_due' | 'expired' | 'needs_login' | null;
  refreshable: boolean;
  scopes: string[];
  verified_at: string | null;
  other_profiles: string[];
}

export interface ProfileSummary {
  method: 'api_key' | 'browser' | 'handoff' | 'device' | 'paste';
  credentialType: 'api_key' | 'oauth';
  issuer?: string;
}

/** The credentials document in a store (default: the shared memory store). */
export const credentials: {
  status(store?: CredentialStore, options?: { profile?: string; now?: number }): Promise<StatusReport>;
  /** The block the CLI prints: `✓ Logged in to Acme as …`. */
  statusText(store?: CredentialStore, options?: { profile?: string; now?: number }): Promise<string>;
  /** `skipped`: profiles a newer version stored — kept unchanged, not used — with a notice each. */
  profiles(
    store?: CredentialStore,
  ): Promise<{ activeProfile?: string; profiles: Record<string, ProfileSummary>; skipped?: Record<string, string> }>;
  /** Removes the profile (default: the active one) — a local sign-out. */
  logout(store?: CredentialStore, options?: { profile?: string }): Promise<void>;
  switchProfile(store: CredentialStore, profile: string): Promise<void>;
  /** Validates the key with the configured formats, stores it and makes the profile active. */
  saveApiKey(store: CredentialStore, profile: string, key: string, options?: { now?: number }): Promise<void>;
};

// ── flows ──────────────────────────────────────────────────────────────────

/** One step of a flow (what `Flow.poll` returns). */
export type FlowStep =
  | {
      type: 'send';
      request: { method: string; url: string; headers: [string, string][]; body?: string };
    }
  | { type: 'wait'; until: number }
  | ({ type: 'prompt' } & DevicePrompt)
  | { type: 'read_storage' }
  | { type: 'persist'; document: string }
  | { type: 'done'; value: unknown }
  | { type: 'finished' };

/**
 * One of core's state machines. `poll(now)` says what to do next (and throws the
 * flow's CliauthError); feed exactly one answer per `send`. {@link run} drives one
 * with fetch, timers and a store.
 */
export interface Flow {
  poll(now?: number): FlowStep;
  handleResponse(now: number, response: ResponseLike): void;
  /** `notSent`: the request provably never reached the server (then even a token request may be retried). */
  handleTransportError(now: number, error: { notSent?: boolean; reason?: string }): void;
  handleStored(now: number, text: string | null | undefined): void;
  handlePersisted(): void;
  handleStorageError(reason: string): void;
  cancel(): void;
  /** Device polling counters. */
  stats(): { polls: number; pending: number; slowDowns: number; failures: number };
}

/** Drives a flow to its end. */
export function run<T = unknown>(
  flow: Flow,
  env?: {
    store?: CredentialStore;
    fetch?: typeof fetch;
    signal?: AbortSignal;
    onPrompt?: (prompt: DevicePrompt) => void;
  },
): Promise<T>;

// ── browser login (authorization code + PKCE) ──────────────────────────────

export interface BrowserLoginConfig {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  /** Where the server sends the browser back (a page that calls {@link completeBrowserLogin}). */
  redirectUri: string;
  scopes?: string[];
  /** Extra authorization parameters (`prompt`, `audience`…); cliauth's own cannot be overridden. */
  params?: [string, string][] | Record<string, string>;
  /** Expected issuer (RFC 9207 `iss` check; the profile records it). */
  issuer?: string;
  /** Require `iss` in the callback. */
  requireIss?: boolean;
  /**
   * Send an OpenID `nonce` (default: when `scopes` include `openid`). It is drawn from
   * its own entropy, and the ID token of the token response must carry it (OpenID
   * Connect Core §3.1.3.7), else the login fails with `nonce_mismatch`.
   */
  nonce?: boolean;
  /** How long the login may take (default 5 minutes). */
  timeoutMs?: number;
  /**
   * The profile to store the tokens in (default: the active one, else `default`). It
   * becomes active only when no profile is (the CLI's rule).
   */
  profile?: string;
  /** The API the profile is for (stored; a profile of another API is never used). */
  apiBase?: string;
  /** `false`: do not store the tokens. */
  store?: boolean;
}

/**
 * Starts a browser login: keeps the PKCE verifier and `state` in `sessionStorage` and
 * navigates to the authorization server (unless `navigate: false`).
 */
export function startBrowserLogin(
  config: BrowserLoginConfig,
  options?: { navigate?: boolean; pendingStorage?: Storage },
): { url: string; state: string };

/**
 * Finishes it on the `redirectUri` page: checks the callback (expiry, `state` in
 * constant time, `iss`, the server's `error`), exchanges the code with the verifier,
 * checks that the ID token carries the nonce sent (if one was), stores the tokens and
 * resolves with them.
 *
 * @throws {CliauthError} `state_mismatch`, `issuer_mismatch`, `nonce_mismatch`, `access_denied`,
 * `authorization_failed`, `authorization_expired`, `invalid_argument` (no login in
 * progress), `network_error`, `protocol_error`…
 */
export function completeBrowserLogin(
  config: BrowserLoginConfig,
  options?: {
    href?: string;
    store?: CredentialStore;
    pendingStorage?: Storage;
    fetch?: typeof fetch;
    signal?: AbortSignal;
  },
): Promise<Tokens>;

/**
 * The second half as a {@link Flow} (for {@link run} or a custom loop): checks
 * `callback` against `pending` (throws at once when it does not match), then
 * exchanges the code and stores the tokens. `now` and `seed` are for tests.
 */
export function browserLoginFlow(
  config: Omit<BrowserLoginConfig, 'redirectUri'>,
  pending: string,
  callback: string,
  options?: { now?: number; seed?: number },
): Flow;

/** The low-level start: the URL, the `state` and the secret `pending` text to keep. */
export function startAuthorization(
  config: Omit<BrowserLoginConfig, 'redirectUri'> & { redirectUri?: string },
  /** `entropy`: 96 bytes (verifier, `state`, nonce), for tests; by default from `crypto.getRandomValues`. */
  options?: { redirectUri?: string; entropy?: Uint8Array; now?: number },
): { url: string; state: string; redirectUri: string; pending: string };

/** The low-level completion: checks the callback and returns the grant to exchange. */
export function completeAuthorization(
  config: Omit<BrowserLoginConfig, 'redirectUri'>,
  pending: string,
  callback: string,
  options?: { now?: number },
): {
  code: string;
  verifier: string;
  redirectUri: string;
  /** The nonce sent, if any: when you exchange the code yourself, the ID token's `nonce` must equal it. */
  nonce?: string;
};

// ── device login ───────────────────────────────────────────────────────────

export interface DevicePrompt {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresAt: number;
  intervalMs: number;
  /** A sentence the server wrote for the user (Microsoft Entra's `message`), to show too. */
  message?: string;
}

export interface DeviceLoginConfig {
  deviceAuthorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  scopes?: string[];
  issuer?: string;
  profile?: string;
  store?: boolean;
}

export interface DeviceLogin extends DevicePrompt {
  /** Resolves when the user approved (tokens stored), rejects when denied, expired or cancelled. */
  done: Promise<Tokens>;
  cancel(): void;
}

/**
 * Requests a device code (RFC 8628) and resolves once it is issued; polling goes on
 * (interval, `slow_down`, backoff and expiry decided by core) until `done` settles.
 */
export function startDeviceLogin(
  config: DeviceLoginConfig,
  options?: { store?: CredentialStore; fetch?: typeof fetch; signal?: AbortSignal },
): Promise<DeviceLogin>;

/** Device polling from a device authorization response already received (tests, custom flows). */
export function deviceFlow(
  response: ResponseLike,
  options: { tokenEndpoint: string; clientId: string; now?: number; seed?: number },
): Flow;

// ── access tokens ──────────────────────────────────────────────────────────

export interface AccessTokenConfig {
  tokenEndpoint: string;
  clientId: string;
  /** Use this profile instead of the active one. */
  profile?: string;
  /** Refuse a profile issued by another server (`profile_server_mismatch`). */
  issuer?: string;
  /** Refuse a profile for another API (`profile_server_mismatch`). */
  apiBase?: string;
  /** Refresh this long before expiry (default 60 s). */
  marginMs?: number;
  /** Clock-skew allowance (default 30 s). */
  leewayMs?: number;
}

/**
 * A valid access token from the store, refreshed first when due — re-read under a
 * Web Lock (one refresh across tabs), the rotated refresh token stored before the new
 * access token is returned. `force`: refresh even if still valid (after a 401).
 *
 * @throws {CliauthError} `not_authenticated`, `session_expired`, `profile_not_found`,
 * `profile_server_mismatch`, `corrupt_credentials`, `network_error`…
 */
export function getAccessToken(
  config: AccessTokenConfig,
  options?: { store?: CredentialStore; force?: boolean; fetch?: typeof fetch; signal?: AbortSignal },
): Promise<Tokens>;

/** The access-token flow behind {@link getAccessToken}, for {@link run} or a custom loop (`seed`: tests). */
export function accessTokenFlow(config: AccessTokenConfig, options?: { force?: boolean; seed?: number }): Flow;
