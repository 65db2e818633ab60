/**
 * SigV4 signing of HTTP API requests, for `--to http` against an API deployed with IAM auth (ItemsApiAuth=AWS_IAM,
 * the default). Uses the SDK's own signer and default credential chain (environment, ~/.aws profiles, SSO, IMDS…).
 */
import { createHash, createHmac, type Hmac, type Hash as NodeHash } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';

function bytes(data: SourceData): Buffer | string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 / HMAC-SHA-256 on node:crypto, in the shape the signer expects (@aws-crypto is not installed here). */
class Sha256 {
  private hash: NodeHash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): NodeHash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** Headers to add to one request. */
export type RequestSigner = (request: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
}) => Promise<Record<string, string>>;

/** The region of an API Gateway URL (`https://abc123.execute-api.eu-west-1.amazonaws.com`), if it is one. */
export function regionOfExecuteApiUrl(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

/** A signer for API Gateway (`execute-api`) with the default AWS credential chain. */
export function createSigV4Signer(region: string): RequestSigner {
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: defaultProvider(), sha256: Sha256 });
  return async ({ method, url, headers, body }) => {
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      // The host header is part of the signature; fetch sends the same value.
      headers: { ...headers, host: url.host },
      body,
    });
    const { host: _host, ...rest } = signed.headers as Record<string, string>;
    return rest;
  };
}
