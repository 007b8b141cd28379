// cliauth/handoff/inline: cliauth/handoff with its wasm module inside the script
// (`init()` fetches nothing). The same helpers and types as cliauth/handoff.
export * from './handoff.js';
export { default } from './handoff.js';
