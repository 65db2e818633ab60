/**
 * The platform's error taxonomy. Every error we raise on purpose is an AppError with a `retryable` flag, so
 * callers decide "try again" versus "give up" without string matching; anything else is narrowed with toError().
 */

/** Base class of the errors this code raises on purpose. */
export class AppError extends Error {
  override name = 'AppError';
  /** Whether the same operation may succeed if tried again later (throttling, a transient outage). */
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
  }
}

/** An error that trying again cannot fix: the input, the event or the configuration is wrong. */
abstract class FinalError extends AppError {
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** An environment variable is missing or invalid: the function cannot start. */
export class ConfigError extends FinalError {
  override name = 'ConfigError';
}

/** Input from a client or producer broke a rule; the message is safe to show to that client. */
export class ValidationError extends FinalError {
  override name = 'ValidationError';
}

/** An event does not have the shape AWS sends (missing requestContext, a stream record without keys …). */
export class MalformedEventError extends FinalError {
  override name = 'MalformedEventError';
}

/** DynamoDB refused or failed a request; `retryable` follows the SDK's own classification. */
export class StorageError extends AppError {
  override name = 'StorageError';
}

/** Narrows a caught value to an Error without losing what it was. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : `Non-error thrown: ${safeString(value)}`);
}

/** A short description of a caught value for log lines: its name and message, never a client-facing text. */
export function describeError(value: unknown): {
  name: string;
  message: string;
  code?: string;
  httpStatusCode?: number;
} {
  const error = toError(value);
  const status = httpStatusOf(value);
  const code = (value as { code?: unknown } | null)?.code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(status === undefined ? {} : { httpStatusCode: status }),
  };
}

/** The most specific label of an error for messages: an SDK error's name, or a socket error's code (ECONNREFUSED). */
export function errorLabel(value: unknown): string {
  const { name, code } = describeError(value);
  return name === 'Error' && code !== undefined ? code : name;
}

/** The HTTP status an AWS SDK v3 error carries in `$metadata` (SDK v3 errors have no `statusCode`). */
export function httpStatusOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const metadata = (value as { $metadata?: unknown }).$metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const status = (metadata as { httpStatusCode?: unknown }).httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
// Socket-level failures surface from the SDK as plain Errors carrying a Node `code`.
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/**
 * Whether an AWS SDK v3 error (or a socket error under it) is worth retrying: throttling (429), a 5xx, or the
 * network. Classified by `name`, `$metadata.httpStatusCode` and Node's `code`, never by a `statusCode` property.
 */
export function isTransientAwsError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof AppError) return value.retryable;
  const { name, code, $retryable } = value as { name?: unknown; code?: unknown; $retryable?: unknown };
  if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return true;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (typeof $retryable === 'object' && $retryable !== null) return true;
  const status = httpStatusOf(value);
  return status === 429 || (status !== undefined && status >= 500);
}
