import type {
  DynamoDBStreamsClient,
  GetRecordsCommandOutput,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb-streams';
import type { DeserializeMiddleware, InitializeMiddleware } from '@smithy/types';

/**
 * GetRecords' answer as DynamoDB sent it, instead of what the SDK makes of it.
 *
 * The event source delivers records in Lambda's JSON shape, which is GetRecords' own JSON almost field for field.
 * Reading that JSON rather than the SDK's deserialised output keeps every attribute exactly as written: the SDK
 * (v3.9xx) loses the value of an attribute named `__proto__` while deserialising maps (it defines the key before it
 * reads the value), and turns binaries into bytes and times into Dates that would only be turned back.
 *
 * The body is decoded and parsed once, here. The SDK is handed only what it still has to read, the next iterator:
 * the records are nearly all of a body of up to 1,000 items, and decoding and parsing them a second time doubled
 * what the runtime allocated for every record read (docs/reliability.md).
 */

const WIRE = Symbol('rtp.wireJson');
const installed = new WeakSet<object>();

/** GetRecords' body as it came: its records as JSON values, and its size. */
export interface WireBody {
  records: unknown[];
  bytes: number;
}

/** GetRecords' body, when the client has the middleware below (fakes in tests do not). */
export function wireBodyOf(output: GetRecordsCommandOutput): WireBody | undefined {
  return (output as unknown as Record<symbol, WireBody | undefined>)[WIRE];
}

/**
 * Adds two middlewares to the client (once): one beside the HTTP handler parses GetRecords' body and leaves the SDK
 * the iterator alone, one at the outside attaches the parsed body to the command's output.
 */
export function captureGetRecordsJson(client: DynamoDBStreamsClient): void {
  const stack = (client as { middlewareStack?: DynamoDBStreamsClient['middlewareStack'] }).middlewareStack;
  if (stack === undefined || installed.has(client)) return;
  installed.add(client);
  const parseBody: DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    const result = await next(args);
    if (context.commandName !== 'GetRecordsCommand') return result;
    const response = result.response as { statusCode?: number; body?: unknown };
    if (response.statusCode !== 200 || response.body === undefined) return result;
    const bytes = await collect(response.body);
    const parsed = parseRecordsBody(bytes);
    if (parsed === undefined) {
      // Not the JSON GetRecords answers: the SDK reads it as it is, and reports it.
      response.body = bytes;
      return result;
    }
    const wire: WireBody = { records: parsed.Records ?? [], bytes: bytes.length };
    (context as Record<symbol, unknown>)[WIRE] = wire;
    response.body = Buffer.from(JSON.stringify({ NextShardIterator: parsed.NextShardIterator }));
    return result;
  };
  const attachJson: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    const result = await next(args);
    const parsed = (context as Record<symbol, unknown>)[WIRE];
    if (parsed !== undefined && typeof result.output === 'object' && result.output !== null) {
      Object.defineProperty(result.output, WIRE, { value: parsed, enumerable: false });
    }
    return result;
  };
  stack.addRelativeTo(parseBody, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'rtpGetRecordsWireBody',
    override: true,
  });
  stack.add(attachJson, { step: 'initialize', name: 'rtpGetRecordsWireJson', override: true });
}

/** GetRecords' body when it is a JSON object whose Records, if any, are a list; undefined otherwise. */
function parseRecordsBody(bytes: Buffer): { Records?: unknown[]; NextShardIterator?: unknown } | undefined {
  let parsed: unknown;
  try {
    // JSON.parse defines "__proto__" as an own property, as data.
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { Records } = parsed as { Records?: unknown };
  return Records === undefined || Array.isArray(Records) ? parsed : undefined;
}

async function collect(body: unknown): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}
