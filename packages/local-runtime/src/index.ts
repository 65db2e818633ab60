/**
 * @real-time-platform/local-runtime — runs a SAM template on one machine. `npm start` and `npm run invoke` use the
 * CLI (cli.ts); tests, benchmarks and scripts use what is exported here.
 */
export * from './admin';
export {
  AuthOptionError,
  DEV_SECRET_FILE,
  JWT_AUTHORIZER_FUNCTION,
  readDevSecret,
  resolveLocalAuth,
} from './auth';
export { authLines } from './auth-banner';
export { localCredentials, type RunningDynamoDbLocal, startDynamoDbLocal } from './dynamodb/dynamodb-local';
export { ensureTables } from './dynamodb/tables';
export { invokeOnce } from './invoke';
export { type LocalPlatform, type LocalPlatformOptions, startLocalPlatform } from './platform';
export { freePort, PortInUseError } from './ports';
export { samEnvJson } from './sam-env-json';
export { loadPlatformModel, readCfnTemplate, TemplateError } from './template';
export * from './types';
