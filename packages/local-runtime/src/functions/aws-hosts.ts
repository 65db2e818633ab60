/**
 * Where a function's request to an AWS host goes locally. Code often names AWS itself — a management endpoint built
 * as `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`, an SDK v2 client, which ignores
 * AWS_ENDPOINT_URL_* — and on this machine that request would reach AWS (or hang on a network that is not there).
 * So every request from a function to an AWS host is sent to the local service that plays it, or fails at once with
 * a message naming the host. Pure: the worker applies it to http, https and fetch (aws-network.ts).
 */

/** The local services, as the worker receives them (plain data: it crosses the thread boundary). */
export interface AwsHostRoutes {
  /** Base URLs by execute-api id: the template's WebSocket APIs (the gateway) and HTTP APIs. */
  executeApi: Record<string, string>;
  /** Base URLs of the local services by AWS endpoint prefix: dynamodb, s3, sqs, sns, events. */
  services: Record<string, string>;
  /** `https://localhost:<port>` of the runtime's own plain-HTTP ports is sent as http (requestContext.domainName). */
  localPorts: number[];
}

export type AwsHostRoute = { url: URL } | { error: string };

/** The routes of a template's model: its WebSocket APIs to the gateway, its HTTP APIs to the HTTP API server. */
export function awsHostRoutes(
  model: { webSocketApis: { apiId: string }[]; httpApiIds: string[] },
  local: { webSocket: string; httpApi?: string; services: Record<string, string> },
): AwsHostRoutes {
  const executeApi: Record<string, string> = {};
  for (const api of model.webSocketApis) executeApi[api.apiId] = local.webSocket;
  if (local.httpApi) for (const id of model.httpApiIds) executeApi[id] = local.httpApi;
  const localPorts = [local.webSocket, local.httpApi].flatMap((base) => (base ? [Number(new URL(base).port)] : []));
  return { executeApi, services: local.services, localPorts };
}

const AWS_DOMAIN = /\.(?:amazonaws\.com(?:\.cn)?|api\.aws)$/;
// Endpoint prefixes that are another name for a service the runtime runs.
const ALIASES: Record<string, string> = { 'streams.dynamodb': 'dynamodb', ddb: 'dynamodb', eventbridge: 'events' };

/**
 * The local URL for `url` when it names AWS (or the runtime's own port over https); undefined for every other host,
 * which the function reaches as it is.
 */
export function routeAwsHost(url: URL, routes: AwsHostRoutes): AwsHostRoute | undefined {
  const host = url.hostname.toLowerCase();
  if (url.protocol === 'https:' && isLoopback(host) && routes.localPorts.includes(Number(url.port))) {
    return { url: withBase(url, `http://${url.host}`) };
  }
  if (!AWS_DOMAIN.test(host)) return undefined;
  const labels = host.replace(AWS_DOMAIN, '').split('.');
  const executeApi = labels.indexOf('execute-api');
  if (executeApi === 1) {
    const apiId = labels[0] ?? '';
    const base = routes.executeApi[apiId];
    if (base) return { url: withBase(url, base) };
    const known = Object.keys(routes.executeApi);
    return {
      error:
        `${host}: API ${apiId} is not an API of the template the local runtime runs ` +
        `(${known.length > 0 ? `its APIs: ${known.join(', ')}` : 'it has none'}). Use the apiId from the event's ` +
        'requestContext or the template (!Ref), or an endpoint of your own.',
    };
  }
  const service = serviceOf(labels);
  const s3Bucket = service === 's3' ? bucketOf(labels) : undefined;
  const base = service === undefined ? undefined : routes.services[service];
  if (base) {
    const local = withBase(url, base);
    // Virtual-hosted S3 (bucket.s3.region.amazonaws.com) becomes path-style, which the local S3 serves.
    if (s3Bucket) local.pathname = `/${s3Bucket}${url.pathname === '/' ? '/' : url.pathname}`;
    return { url: local };
  }
  return {
    error:
      `${host} is an AWS endpoint the local runtime does not run (it runs ${Object.keys(routes.services).join(', ')} ` +
      "and the template's APIs): the request fails here rather than reach AWS. Set the client's endpoint " +
      '(AWS_ENDPOINT_URL_<SERVICE> for SDK v3) to a local service, or leave the call out locally.',
  };
}

/** dynamodb.us-east-1 → dynamodb; bucket.s3.us-east-1 → s3; 123456789012.ddb.us-east-1 → dynamodb; sts → sts. */
function serviceOf(labels: string[]): string | undefined {
  const s3 = labels.findIndex((label) => label === 's3' || label.startsWith('s3-'));
  if (s3 >= 0) return 's3';
  if (labels[0] === 'streams' && labels[1] === 'dynamodb') return 'dynamodb';
  const [first, second] = labels;
  const name = /^\d{12}$/.test(first ?? '') ? second : first;
  return name === undefined ? undefined : (ALIASES[name] ?? name);
}

function bucketOf(labels: string[]): string | undefined {
  const s3 = labels.findIndex((label) => label === 's3' || label.startsWith('s3-'));
  return s3 > 0 ? labels.slice(0, s3).join('.') : undefined;
}

function withBase(url: URL, base: string): URL {
  const local = new URL(base);
  local.pathname = url.pathname;
  local.search = url.search;
  return local;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1';
}
