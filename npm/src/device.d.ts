// cliauth/device: the device-verification page's helpers alone (see index.d.ts for each).
export {
  default,
  CliauthError,
  configure,
  userCodeInput,
  normalizeUserCode,
  approveDevice,
  apiError,
  checkResponse,
} from './index.js';
export type {
  ConfigureOptions,
  ErrorCode,
  ErrorKind,
  ExitCode,
  InitInput,
  ResponseLike,
  UserCodeInput,
} from './index.js';
