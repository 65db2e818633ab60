import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  type ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { extendedEncodeURIComponent, HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * PostToConnection without the SDK's per-call machinery. An SDK `send` resolves its middleware stack, endpoint
 * rules, schema serialisation, user agent and retry strategy on every call: about 0.6 ms of CPU per post measured here,
 * against about 0.2 ms for the same request signed with the SDK's own SigV4 signer (`@smithy/signature-v4`, which
 * caches the day's signing key) and sent on a keep-alive agent (docs/benchmarks.md). The fan-out makes thousands of
 * posts per second, so that is its throughput.
 *
 * Credentials, region and the signer's hashing come from an SDK client's resolved configuration, so the default
 * credential chain (Lambda's role, with its refresh) is the SDK's own. Errors are the SDK's exception classes, built
 * from the status and `x-amzn-ErrorType` as the SDK would, so the sender classifies them exactly as before (410, 413,
 * 429, 5xx, network).
 */

/**
 * Sends one message to one connection; throws the SDK's exception classes (or a socket error) when it is not sent.
 * `data` must not change once posted: the lean poster remembers its hash by identity.
 */
export type Poster = (connectionId: string, data: Uint8Array, signal?: AbortSignal) => Promise<void>;

export interface SignedPosterOptions {
  /** Source of credentials, region and SHA-256: its config is resolved once, it never sends anything itself. */
  client: ApiGatewayManagementApiClient;
  /** WS_ENDPOINT, e.g. https://{apiId}.execute-api.{region}.amazonaws.com/{stage}. */
  endpoint: string;
  /** Keep-alive sockets: at least the posts in flight. */
  maxSockets: number;
  /** Per-request timeout, ms (a TimeoutError the sender retries). */
  requestTimeoutMs?: number;
}

/** The lean Poster (see the module comment). */
export function createSignedPoster(options: SignedPosterOptions): Poster {
  const url = new URL(options.endpoint);
  const https = url.protocol === 'https:';
  const basePath = url.pathname.replace(/\/+$/, '');
  const port = url.port === '' ? undefined : Number(url.port);
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets })
    : new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets });
  const send = https ? httpsRequest : httpRequest;
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const config = options.client.config;
  // The SHA-256 of each body, by identity: the fan-out hands every subscriber of a key the same Uint8Array (a lone
  // frame, or a batch from createPostEncoder), so a body posted to 10,000 connections is hashed once, not 10,000
  // times (the signer uses a given x-amz-content-sha256 instead of hashing; it sends that header either way).
  const payloadHashes = new WeakMap<Uint8Array, string>();
  const payloadHashOf = (data: Uint8Array): string => {
    let hash = payloadHashes.get(data);
    if (hash === undefined) {
      hash = createHash('sha256').update(data).digest('hex');
      payloadHashes.set(data, hash);
    }
    return hash;
  };
  const signer = new SignatureV4({
    credentials: config.credentials,
    region: config.region,
    service: 'execute-api',
    sha256: config.sha256,
  });

  return async (connectionId, data, signal) => {
    // Encoded as the SDK encodes a path label; the signer encodes the path once more for the canonical request.
    const path = `${basePath}/@connections/${extendedEncodeURIComponent(connectionId)}`;
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        ...(port === undefined ? {} : { port }),
        path,
        headers: {
          host: url.host,
          'content-type': 'application/octet-stream',
          'content-length': String(data.byteLength),
          'x-amz-content-sha256': payloadHashOf(data),
        },
        body: data,
      }),
    );
    const response = await new Promise<{ status: number; errorType?: string; body: string }>((resolve, reject) => {
      const req = send(
        {
          agent,
          method: 'POST',
          hostname: url.hostname,
          port,
          path,
          headers: signed.headers,
          ...(signal === undefined ? {} : { signal }),
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            res.resume();
            res.once('end', () => resolve({ status, body: '' }));
            res.once('error', reject);
            return;
          }
          readSome(res).then((body) => {
            const header = res.headers['x-amzn-errortype'];
            const errorType = typeof header === 'string' ? header.split(':')[0] : undefined;
            resolve({ status, body, ...(errorType ? { errorType } : {}) });
          }, reject);
        },
      );
      req.setTimeout(timeoutMs, () => {
        const error = new Error(`no answer within ${timeoutMs} ms`);
        error.name = 'TimeoutError';
        req.destroy(error);
      });
      req.once('error', reject);
      req.end(data);
    });
    if (response.status >= 200 && response.status < 300) return;
    throw exceptionOf(response.status, response.errorType, response.body);
  };
}

/** The exception the SDK raises for this answer (its deserializer maps the same status codes and error types). */
export function exceptionOf(status: number, errorType: string | undefined, body: string): Error {
  const $metadata = { httpStatusCode: status };
  const message = messageOf(body) ?? `HTTP ${status}`;
  if (status === 410 || errorType === 'GoneException') return new GoneException({ $metadata, message });
  if (status === 413 || errorType === 'PayloadTooLargeException') {
    return new PayloadTooLargeException({ $metadata, message });
  }
  if (status === 429 || errorType === 'LimitExceededException')
    return new LimitExceededException({ $metadata, message });
  if (status === 403 || errorType === 'ForbiddenException') return new ForbiddenException({ $metadata, message });
  return new ApiGatewayManagementApiServiceException({
    name: errorType ?? (status >= 500 ? 'InternalServerError' : `Http${status}Error`),
    $fault: status >= 500 ? 'server' : 'client',
    $metadata,
    message,
  });
}

function messageOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; Message?: unknown };
    const message = parsed.message ?? parsed.Message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** The first few KB of an error body: enough for its message, never a whole stray page. */
function readSome(res: IncomingMessage, limit = 4096): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (text.length < limit) text += chunk.slice(0, limit - text.length);
    });
    res.once('end', () => resolve(text));
    res.once('error', reject);
  });
}
