/**
 * The destination flags `npm run produce` and `npm run simulate` share (--to, --url, --sign, --endpoint, --table,
 * --key-attribute, --region, --retries), their help text and their validation.
 */
import { nonNegativeInt, UsageError } from './cli-support';
import { createTransport, type Transport, TransportAbort, type TransportConfig } from './transport';

/** parseArgs option specs of the shared destination flags. */
export const transportFlagSpecs = {
  to: { type: 'string' },
  url: { type: 'string' },
  sign: { type: 'boolean' },
  'no-sign': { type: 'boolean' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  table: { type: 'string' },
  'key-attribute': { type: 'string' },
  retries: { type: 'string' },
} as const;

/** Help lines of the shared destination flags. */
export const transportFlagsHelp = `Destination:
  --to http|dynamodb           the HTTP API's POST /items (default), or straight into the table
  --url URL                    HTTP API base URL [RTP_URL] (http://localhost:3000); on AWS the HttpApiUrl output,
                               e.g. https://abc123.execute-api.eu-west-1.amazonaws.com
  --sign / --no-sign           SigV4-sign HTTP requests with your AWS credentials (default: on for
                               *.execute-api.*.amazonaws.com URLs, whose POST /items uses IAM auth by default)
  --endpoint URL|aws           DynamoDB endpoint for --to dynamodb [AWS_ENDPOINT_URL_DYNAMODB]
                               (http://localhost:8000); "aws" = DynamoDB itself in --region
  --table NAME                 table for --to dynamodb (RealTimeData-develop)
  --key-attribute NAME         the RealTimeItemKey parameter: the attribute every item needs (realTimeItemKey)
  --region REGION              AWS region [AWS_REGION] (from the URL for execute-api URLs, else us-east-1)
  --retries N                  retries of a throttled (429), failed (5xx) or unreachable request (5)
`;

/** The validated destination of a run. */
export function transportConfigOf(
  values: Partial<Record<keyof typeof transportFlagSpecs, string | boolean | undefined>>,
  env: NodeJS.ProcessEnv = process.env,
): TransportConfig {
  const to = (values.to as string | undefined) ?? 'http';
  if (to !== 'http' && to !== 'dynamodb') throw new UsageError(`--to must be http or dynamodb, got "${to}"`);
  if (values.sign && values['no-sign']) throw new UsageError('--sign and --no-sign contradict each other');
  const url = (values.url as string | undefined) ?? (env.RTP_URL || 'http://localhost:3000');
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  const endpointFlag =
    (values.endpoint as string | undefined) ?? (env.AWS_ENDPOINT_URL_DYNAMODB || 'http://localhost:8000');
  if (endpointFlag !== 'aws' && !/^https?:\/\/[^/]/.test(endpointFlag)) {
    throw new UsageError(`--endpoint must be an http(s) URL or "aws", got "${endpointFlag}"`);
  }
  const keyAttribute = (values['key-attribute'] as string | undefined) ?? 'realTimeItemKey';
  if (keyAttribute === '') throw new UsageError('--key-attribute must not be empty');
  const table = (values.table as string | undefined) ?? 'RealTimeData-develop';
  if (table === '') throw new UsageError('--table must not be empty');
  const region = (values.region as string | undefined) ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  const sign = values.sign ? true : values['no-sign'] ? false : undefined;
  return {
    to,
    url,
    ...(sign !== undefined ? { sign } : {}),
    ...(region ? { region } : {}),
    ...(endpointFlag !== 'aws' ? { endpoint: endpointFlag } : {}),
    table,
    keyAttribute,
    retries: nonNegativeInt('--retries', values.retries as string | undefined, 5),
  };
}

/** The transport a command line asked for; a destination it cannot use is a usage error (exit 1 with the reason). */
export function openTransport(config: TransportConfig): Transport {
  try {
    return createTransport(config);
  } catch (error) {
    if (error instanceof TransportAbort) throw new UsageError(error.message);
    throw error;
  }
}
