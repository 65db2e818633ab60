import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_HOST, PORTS, publicUrl } from '../ports';
import type { FunctionSpec, LocalLogger } from '../types';
import { TemplateError } from './errors';

/** Where the local services listen; every function's SDK is pointed there. */
export interface LocalEndpoints {
  /** DynamoDB Local, e.g. "http://localhost:8000" (AWS_ENDPOINT_URL_DYNAMODB). */
  dynamodb?: string;
  /** Base URL of the local management API without the stage, e.g. "http://localhost:3001" (WS_ENDPOINT adds it). */
  webSocketManagement?: string;
  /** The local S3, e.g. "http://localhost:4569" (AWS_ENDPOINT_URL_S3; clients must use path-style addressing). */
  s3?: string;
  /** The local SQS and SNS (one endpoint for both), e.g. "http://localhost:9324" (AWS_ENDPOINT_URL_SQS / _SNS). */
  sqs?: string;
  /** The local EventBridge PutEvents endpoint, e.g. "http://localhost:4571" (AWS_ENDPOINT_URL_EVENTBRIDGE). */
  eventbridge?: string;
}

/** The services' default addresses (ports.ts), for a caller that names no endpoint (e.g. `npm run invoke`). */
export const DEFAULT_ENDPOINTS: Required<LocalEndpoints> = {
  dynamodb: publicUrl(DEFAULT_HOST, PORTS.dynamodb.defaultPort),
  webSocketManagement: publicUrl(DEFAULT_HOST, PORTS.webSocket.defaultPort),
  s3: publicUrl(DEFAULT_HOST, PORTS.s3.defaultPort),
  eventbridge: publicUrl(DEFAULT_HOST, PORTS.eventBridge.defaultPort),
  sqs: publicUrl(DEFAULT_HOST, PORTS.sqs.defaultPort),
};

/** Dummy credentials: DynamoDB Local wants alphanumeric keys; with -sharedDb any value reaches the same tables. */
export const LOCAL_ACCESS_KEY_ID = 'local';
export const LOCAL_SECRET_ACCESS_KEY = 'local';

/** env.json by section: a function's logical id (or name), or "Parameters" for every function. */
export type EnvJson = Record<string, Record<string, string> | undefined>;

export interface EnvironmentInputs {
  envJson: EnvJson;
  region: string;
  endpoints: Required<LocalEndpoints>;
  /** Stage of the template's WebSocket API, when it has one (WS_ENDPOINT). */
  webSocketStage: string | undefined;
  /** The variables Lambda derives from LoggingConfig (AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL). */
  lambdaLogging: Record<string, string>;
  extraEnvironment: Record<string, string> | undefined;
  /** Variables forced into this function only (e.g. the JWT authorizer's local secret); they win over everything. */
  functionEnvironment?: Record<string, string>;
  logger: LocalLogger;
}

/** A function's final environment: template < env.json < what the runtime forces (endpoints, reserved names, extras). */
export function composeEnvironment(spec: FunctionSpec, inputs: EnvironmentInputs): Record<string, string> {
  const env = { ...spec.environment };
  const byName = spec.functionName && spec.functionName !== spec.logicalId ? spec.functionName : undefined;
  const overrides: [string, Record<string, string> | undefined][] = [
    ['Parameters', inputs.envJson.Parameters],
    [spec.logicalId, inputs.envJson[spec.logicalId]],
    ...(byName ? [[byName, inputs.envJson[byName]] as [string, Record<string, string> | undefined]] : []),
  ];
  for (const [section, values] of overrides) {
    for (const [name, value] of Object.entries(values ?? {})) {
      // SAM applies env.json only to variables the template declares; we do the same so that what runs locally
      // also runs deployed, but say so instead of dropping the value silently.
      if (!(name in spec.environment)) {
        if (isForcedLocally(name)) {
          inputs.logger.debug(`env.json ${section}.${name} ignored for ${spec.logicalId}: the runtime sets it`);
          continue;
        }
        inputs.logger.warn(
          `env.json ${section}.${name} ignored for ${spec.logicalId}: the template does not declare ${name}. ` +
            `Add it to the function's (or Globals') Environment.Variables, e.g. with an empty value.`,
        );
        continue;
      }
      env[name] = value;
    }
  }
  Object.assign(env, {
    AWS_REGION: inputs.region,
    AWS_DEFAULT_REGION: inputs.region,
    AWS_ACCESS_KEY_ID: LOCAL_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL_DYNAMODB: inputs.endpoints.dynamodb,
    AWS_ENDPOINT_URL_S3: inputs.endpoints.s3,
    AWS_ENDPOINT_URL_EVENTBRIDGE: inputs.endpoints.eventbridge,
    AWS_ENDPOINT_URL_SQS: inputs.endpoints.sqs,
    AWS_ENDPOINT_URL_SNS: inputs.endpoints.sqs,
    AWS_LAMBDA_FUNCTION_NAME: spec.functionName ?? spec.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName ?? spec.logicalId}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime ?? 'nodejs22.x'}`,
    _HANDLER: spec.handler,
    // The de-facto "running locally" flag: Powertools' Tracer turns itself off on it, as under `sam local`.
    AWS_SAM_LOCAL: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...inputs.lambdaLogging,
    ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
    ...(inputs.webSocketStage
      ? { WS_ENDPOINT: `${inputs.endpoints.webSocketManagement.replace(/\/$/, '')}/${inputs.webSocketStage}` }
      : {}),
    ...inputs.extraEnvironment,
    ...inputs.functionEnvironment,
  });
  return env;
}

/** Reads SAM's env.json: `{ "<LogicalId>": {VAR: value}, "Parameters": {VAR: value} }`. */
export function readEnvJson(path: string | undefined): EnvJson {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolve(path), 'utf8'));
  } catch (error) {
    throw new TemplateError(
      `Cannot read ${path}: ${error instanceof Error ? error.message : String(error)}. It must be SAM's env.json ` +
        '({"<LogicalId>": {"VAR": "value"}, "Parameters": {…}}).',
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TemplateError(`${path} must be a JSON object keyed by function logical id (and "Parameters").`);
  }
  const out: Record<string, Record<string, string>> = {};
  for (const [section, values] of Object.entries(parsed)) {
    if (values === null || typeof values !== 'object' || Array.isArray(values)) {
      throw new TemplateError(`${path}: "${section}" must be an object of variable names to values.`);
    }
    out[section] = {};
    for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
      if (value === null || typeof value === 'object') {
        throw new TemplateError(`${path}: ${section}.${name} must be a string, number or boolean.`);
      }
      out[section][name] = String(value);
    }
  }
  return out;
}

/** Variables the runtime always sets itself (endpoints, credentials, Lambda's reserved names). */
function isForcedLocally(name: string): boolean {
  return name === 'WS_ENDPOINT' || name === '_HANDLER' || name.startsWith('AWS_');
}
