// cliauth — the page helpers: the cli-auth page that hands a credential to the CLI's
// loopback server, and the device-verification page. The same checks as the CLI:
// cliauth-core, compiled to WebAssembly.
//
// Browsers and bundlers: `await init()` once before calling anything else. Node.js:
// the module is ready at import (`init()` resolves at once).
//
// All times are milliseconds since the Unix epoch (`Date.now()` scale); durations
// end in `Ms`.

/** The category of an error; it fixes the CLI exit code. */
export type ErrorKind =
  | 'usage'
  | 'validation'
  | 'auth'
  | 'permission'
  | 'rate_limited'
  | 'server'
  | 'network'
  | 'not_found'
  | 'protocol'
  | 'storage'
  | 'timeout'
  | 'cancelled';

/** The stable, machine-readable error codes (cliauth-core `Error::code()`). */
export type ErrorCode =
  | 'invalid_argument'
  | 'invalid_config'
  | 'invalid_key'
  | 'invalid_jwt'
  | 'rejected'
  | 'misuse'
  | 'not_authenticated'
  | 'unauthorized'
  | 'session_expired'
  | 'state_mismatch'
  | 'nonce_mismatch'
  | 'login_intercepted'
  | 'issuer_mismatch'
  | 'access_denied'
  | 'authorization_failed'
  | 'profile_server_mismatch'
  | 'insufficient_permissions'
  | 'rate_limited'
  | 'server_error'
  | 'network_error'
  | 'loopback_unavailable'
  | 'protocol_error'
  | 'not_found'
  | 'profile_not_found'
  | 'corrupt_credentials'
  | 'unsupported_version'
  | 'storage_error'
  | 'unsafe_storage'
  | 'unsupported_profile'
  | 'login_timed_out'
  | 'device_code_expired'
  | 'authorization_expired'
  | 'cancelled';

/** The exit code a CLI returns for an error of each kind. */
export type ExitCode = 1 | 2 | 3 | 4 | 5 | 130;

/** What is wrong with an API key (see `KeyRegistry` in `cliauth/full`). */
export type KeyProblemCode =
  | 'empty'
  | 'bearer_prefix'
  | 'env_assignment'
  | 'surrounding_quotes'
  | 'non_ascii'
  | 'contains_newline'
  | 'inner_whitespace'
  | 'too_short'
  | 'too_long'
  | 'repeated'
  | 'invalid_character'
  | 'wrong_prefix'
  | 'foreign_key'
  | 'looks_like_jwt'
  | 'not_jwt';

/**
 * Every error cliauth throws or rejects with. `message` is the one-line message and
 * `hint` the line below it (what to do next), rendered with the names given to
 * {@link configure}. Neither ever contains a secret.
 */
export class CliauthError extends Error {
  readonly name: 'CliauthError';
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly exitCode: ExitCode;
  readonly hint: string | null;
  /** For `rate_limited`: how long the server asked to wait, when it said. */
  readonly retryAfterMs?: number;
  /** For `invalid_key`: the mistake. */
  readonly problem?: KeyProblemCode;
}

/** Accepted API-key formats, for masking and validation. */
export type KeyFormat =
  | {
      /** Stable identifier, e.g. `acme-dev`. */
      id: string;
      /** Product name, e.g. `Acme`. */
      product: string;
      /** What the key is called, e.g. `developer key`. */
      label: string;
      /** E.g. `acme_dev_`. */
      prefix: string;
      /** Characters after the prefix: a named set or the allowed characters themselves. */
      charset: 'base62' | 'base62_underscore' | 'base64url' | 'hex_lower' | (string & {});
      /** Shortest complete key (whole key). */
      minLen: number;
      /** Longest key (whole key). */
      maxLen: number;
    }
  | {
      id: string;
      product: string;
      label: string;
      /** The key is a JWT (no prefix). */
      jwt: true;
      minLen: number;
    };

/** What {@link configure} accepts; absent fields keep their current value. */
export interface ConfigureOptions {
  /** The command users type, e.g. `acme` (hints say "Run `acme auth login`"). Default `cli`. */
  cli?: string;
  /** The product name for prose, e.g. `Acme`. Default `service`. */
  product?: string;
  /** The API-key environment variable (default: derived from `cli`, `ACME_API_KEY`). */
  apiKeyEnv?: string;
  /** Where users create API keys. */
  keysUrl?: string;
  /** The service status page. */
  statusUrl?: string;
  /** The app's key formats, used to mask keys (manual handoff) and validate them. */
  keyFormats?: KeyFormat[];
  /** The shape of device user codes (default: 8 of `BCDFGHJKLMNPQRSTVWXZ`, grouped by 4). */
  userCode?: { charset?: string; length?: number; group?: number };
}

/** How the page delivers the credential. */
export type DeliveryMode = 'redirect' | 'post' | 'manual';

/** The CLI's request, read from the page URL and validated. */
export interface HandoffRequest {
  /** The CLI's loopback port, 1024–65535. */
  port: number;
  /** The CLI's `state`, echoed back with the credential. */
  state: string;
  /** The delivery the CLI asked for (`redirect` when it did not say). */
  mode: DeliveryMode;
  /** The PKCE challenge (S256) a one-time code must be bound to, if the CLI sent one. */
  codeChallenge?: string;
  /**
   * Whether the CLI also accepts a raw API key (`accept=api_key`: its explicit, less
   * safe `raw_key_handoff` option). Otherwise `deliverHandoff` delivers only a
   * one-time code, and only when `codeChallenge` is present.
   */
  acceptsApiKey: boolean;
  /** `http://127.0.0.1:<port>/callback` — informational; deliveries rebuild it. */
  callbackUrl: string;
}

/**
 * The credential the page hands to the CLI: a one-time code bound to the request's
 * `codeChallenge` (the default), or an API key — only when the request says
 * `acceptsApiKey`.
 */
export type HandoffCredential = { code: string; apiKey?: never } | { apiKey: string; code?: never };

/** The manual-copy fallback for remote sessions. */
export interface ManualHandoff {
  /** The credential masked for display, e.g. `acme_dev_…a1b2`. */
  masked: string;
  /** The full text the user pastes into the terminal. */
  pasteText: string;
}

/** The loopback server's answer to a POST delivery. */
export interface HandoffPostAnswer {
  ok: boolean;
  code: string;
}

/** The state of a user code being typed. */
export interface UserCodeInput {
  /** The normalised characters, grouped for display (`WDJB-MJ`). */
  display: string;
  /** Whether the code is complete and valid. */
  complete: boolean;
  /**
   * The problem to show, if any. "The code has 8 characters; 5 entered" is expected
   * while typing; pages usually show it only on submit.
   */
  problem?: string;
}

/** A response as plain data (for {@link apiError}). */
export interface ResponseLike {
  status: number;
  headers?: Headers | Iterable<[string, string]> | Record<string, string>;
  body?: string | Uint8Array | ArrayBuffer;
}

/** What `init()` accepts: where to load the wasm module from (default: next to this file). */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/** Loads the wasm module. Idempotent: later calls return the same promise. */
export default function init(input?: InitInput): Promise<void>;

/** Names the app in hints and sets its key formats and user-code shape. */
export function configure(options: ConfigureOptions): void;

/**
 * Reads `?port=&state=[&mode=][&code_challenge=][&accept=api_key]` from the page URL (default
 * `location.href`) and validates it: port 1024–65535 in plain digits, state 16–256
 * characters of `A-Z a-z 0-9 - . _ ~`, a known mode, no repeated parameter. Any
 * `host`, `callback` or `redirect_uri` parameter is ignored: the target is always
 * the loopback address.
 *
 * @throws {CliauthError} `invalid_argument`, with a message for the page.
 */
export function readHandoffRequest(href?: string): HandoffRequest;

/**
 * Delivers the credential to the CLI — only ever to `http://127.0.0.1:<port>/callback`
 * (the request object is validated again; `callbackUrl` is never used).
 *
 * - `redirect` (default): navigates the top-level window there (`location.assign`) with
 *   the credential and `state` in the query — not blocked by Chrome's Local Network
 *   Access. The promise resolves as the navigation starts.
 * - `post`: a CORS `POST` with a JSON body, annotated `targetAddressSpace: 'loopback'`
 *   so that Chrome asks the user for local network access instead of failing silently;
 *   works only when the CLI allows this page's origin (and, from a public origin, when
 *   the browser grants local network access). Resolves with the loopback server's
 *   answer. When the browser refuses the request (permission denied, CORS, nobody
 *   listening) it falls back to the redirect and resolves with `undefined` as the
 *   navigation starts; with `fallback: false` it rejects with `network_error` instead.
 *   Rejects with `state_mismatch` or `rejected` when the CLI refuses the credential.
 * - `manual`: resolves with the masked credential and the text to paste.
 *
 * @throws {CliauthError} `invalid_argument` for a bad request, credential or mode —
 * before anything is sent; also for a credential the CLI does not take: a code when
 * the request has no `codeChallenge`, an API key when it does not say `acceptsApiKey`.
 */
export function deliverHandoff(
  request: HandoffRequest,
  credential: HandoffCredential,
  options: { mode: 'manual' },
): Promise<ManualHandoff>;
export function deliverHandoff(
  request: HandoffRequest,
  credential: HandoffCredential,
  options: { mode: 'post'; signal?: AbortSignal; fallback: false },
): Promise<HandoffPostAnswer>;
export function deliverHandoff(
  request: HandoffRequest,
  credential: HandoffCredential,
  options: { mode: 'post'; signal?: AbortSignal; fallback?: boolean },
): Promise<HandoffPostAnswer | undefined>;
export function deliverHandoff(
  request: HandoffRequest,
  credential: HandoffCredential,
  options?: { mode?: DeliveryMode; signal?: AbortSignal; fallback?: boolean },
): Promise<undefined | HandoffPostAnswer | ManualHandoff>;

/**
 * The redirect target: `http://127.0.0.1:<port>/callback?code=…&state=…` (or `api_key=`
 * when the request `acceptsApiKey`). Throws like `deliverHandoff` for a credential the
 * CLI does not take.
 */
export function handoffRedirectUrl(request: HandoffRequest, credential: HandoffCredential): string;

/** Interprets a user code as it is typed (ASCII letters in any case; spaces and dashes ignored). */
export function userCodeInput(text: string): UserCodeInput;

/**
 * The normalised user code (`wdjb mjht` → `WDJB-MJHT`).
 *
 * @throws {CliauthError} `invalid_argument`, the problem in the message.
 */
export function normalizeUserCode(text: string): string;

/**
 * Approves (or denies) a device login: `POST endpoint` with
 * `{"user_code": "WDJB-MJHT", "action": "approve" | "deny"}`, sent with the page's
 * own cookies (`credentials: 'same-origin'`). Not retried.
 *
 * @throws {CliauthError} `invalid_argument` for a malformed code (nothing sent);
 * `unauthorized`, `not_found`, `rejected`, `rate_limited`, `server_error`,
 * `network_error` from the answer.
 */
export function approveDevice(
  endpoint: string,
  userCode: string,
  approve: boolean,
  options?: { signal?: AbortSignal },
): Promise<void>;

/** What an API response means: `undefined` for 2xx, else the error (401, 403, 404, 429, 5xx…). */
export function apiError(response: ResponseLike, now?: number): CliauthError | undefined;

/**
 * Resolves with `res` when it is 2xx; otherwise reads its body and rejects with the
 * error it means.
 */
export function checkResponse(res: Response): Promise<Response>;
