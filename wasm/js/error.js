// The error class every cliauth function throws. The wasm module constructs it
// (see wasm/src/error.rs), so `instanceof CliauthError` holds for every error.
export class CliauthError extends Error {
  constructor(message, code, kind, exitCode, hint, retryAfterMs, problem) {
    super(message);
    this.name = 'CliauthError';
    this.code = code;
    this.kind = kind;
    this.exitCode = exitCode;
    this.hint = hint === undefined ? null : hint;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
    if (problem !== undefined) this.problem = problem;
  }
}
