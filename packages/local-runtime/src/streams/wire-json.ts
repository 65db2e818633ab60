import type {
  DynamoDBStreamsClient,
  GetRecordsCommandOutput,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-dynamodb-streams';
import type { DeserializeMiddleware, InitializeMiddleware } from '@smithy/types';

/**
 * GetRecords' answer as DynamoDB sent it, next to what the SDK made of it.
 *
 * The event source delivers records in Lambda's JSON shape, which is GetRecords' own JSON almost field for field.
 * Reading that JSON rather than the SDK's deserialised output keeps every attribute exactly as written: the SDK
 * (v3.9xx) loses the value of an attribute named `__proto__` while deserialising maps (it defines the key before it
 * reads the value), and turns binaries into bytes and times into Dates that would only be turned back.
 */

const WIRE = Symbol('rtp.wireJson');
const STASH = Symbol('rtp.wireBody');
const installed = new WeakSet<object>();

/** GetRecords' parsed JSON body, when the client has the middleware below (fakes in tests do not). */
export function wireBodyOf(output: GetRecordsCommandOutput): { Records?: unknown[] } | undefined {
  const body = (output as unknown as Record<symbol, unknown>)[WIRE];
  return typeof body === 'object' && body !== null ? (body as { Records?: unknown[] }) : undefined;
}

/**
 * Adds two middlewares to the client (once): one beside the HTTP handler keeps GetRecords' raw body (and hands the
 * SDK an identical copy to deserialise), one at the outside attaches the parsed body to the command's output.
 */
export function captureGetRecordsJson(client: DynamoDBStreamsClient): void {
  const stack = (client as { middlewareStack?: DynamoDBStreamsClient['middlewareStack'] }).middlewareStack;
  if (stack === undefined || installed.has(client)) return;
  installed.add(client);
  const keepBody: DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    const result = await next(args);
    if (context.commandName !== 'GetRecordsCommand') return result;
    const response = result.response as { statusCode?: number; body?: unknown };
    if (response.statusCode !== 200 || response.body === undefined) return result;
    const bytes = await collect(response.body);
    response.body = bytes;
    (context as Record<symbol, unknown>)[STASH] = bytes;
    return result;
  };
  const attachJson: InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
    const result = await next(args);
    const bytes = (context as Record<symbol, unknown>)[STASH];
    if (bytes instanceof Uint8Array && typeof result.output === 'object' && result.output !== null) {
      try {
        // JSON.parse defines "__proto__" as an own property, as data.
        const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
        Object.defineProperty(result.output, WIRE, { value: parsed, enumerable: false });
      } catch {
        // The SDK parsed it, so this cannot fail; if it ever does, the SDK's output is used instead.
      }
    }
    return result;
  };
  stack.addRelativeTo(keepBody, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'rtpGetRecordsWireBody',
    override: true,
  });
  stack.add(attachJson, { step: 'initialize', name: 'rtpGetRecordsWireJson', override: true });
}

async function collect(body: unknown): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}
