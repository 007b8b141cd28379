// cliauth/handoff: the cli-auth page's helpers alone (see index.d.ts for each).
export {
  default,
  CliauthError,
  configure,
  readHandoffRequest,
  deliverHandoff,
  handoffRedirectUrl,
} from './index.js';
export type {
  ConfigureOptions,
  DeliveryMode,
  ErrorCode,
  ErrorKind,
  ExitCode,
  HandoffCredential,
  HandoffPostAnswer,
  HandoffRequest,
  InitInput,
  KeyFormat,
  ManualHandoff,
} from './index.js';
