// The error class every cliauth function throws. The boundaries' loader
// (npm/src/page-wasm.js) constructs it from the fields the module returns
// (wasm/src/error.rs); the npm entries re-export it. Absent values are `undefined`
// or `null`.
export class CliauthError extends Error {
  constructor(message, code, kind, exitCode, hint, retryAfterMs, problem) {
    super(message);
    this.name = 'CliauthError';
    this.code = code;
    this.kind = kind;
    this.exitCode = exitCode;
    this.hint = hint ?? null;
    if (retryAfterMs != null) this.retryAfterMs = retryAfterMs;
    if (problem != null) this.problem = problem;
  }

  // Structural, so that errors from the page build and the full build (two wasm
  // modules, possibly two copies of this file) are both `instanceof CliauthError`.
  static [Symbol.hasInstance](value) {
    return (
      value instanceof Error &&
      value.name === 'CliauthError' &&
      typeof value.code === 'string' &&
      typeof value.kind === 'string'
    );
  }
}
