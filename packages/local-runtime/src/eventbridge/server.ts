import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listen, PORTS } from '../ports';
import { readRequestBody } from '../request-body';
import type { LocalLogger } from '../types';

/**
 * A local EventBridge that answers PutEvents (the only operation the platform's functions call) and logs every
 * event instead of routing it: rules and targets are the consumer's side, which the platform does not define.
 * It speaks AWS's JSON 1.1 protocol (`X-Amz-Target: AWSEvents.PutEvents`), so `@aws-sdk/client-eventbridge` and
 * `aws events put-events --endpoint-url …` work unchanged, with PutEvents' validation: 1–10 entries a call, per-entry
 * errors for a missing Source / DetailType or a Detail that is not a JSON object, 256 KB per entry.
 */

export interface LocalEventBridgeOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: LocalLogger;
  /** Most events kept for `received()` (oldest dropped first). Default 1000. */
  keep?: number;
}

/** An event as PutEvents accepted it. */
export interface ReceivedEvent {
  eventId: string;
  eventBusName: string;
  source: string;
  detailType: string;
  detail: unknown;
  time: string;
}

export interface LocalEventBridge {
  /** e.g. http://localhost:4571 (AWS_ENDPOINT_URL_EVENTBRIDGE). */
  url: string;
  /** Events accepted so far (at most `keep`), oldest first. */
  received(): ReceivedEvent[];
  close(): Promise<void>;
}

/** PutEvents' limits. */
const MAX_ENTRIES = 10;
const MAX_ENTRY_BYTES = 256 * 1024;
const MAX_REQUEST_BYTES = 1024 * 1024;

/** A PutEvents call refused as a whole: the status and the `__type` AWS answers with. */
class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the local EventBridge PutEvents endpoint. */
export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const keep = options.keep ?? 1000;
  const received: ReceivedEvent[] = [];
  const server = createServer((req, res) => {
    readRequestBody(
      req,
      MAX_REQUEST_BYTES,
      () => new ApiError(413, 'RequestEntityTooLargeException', 'the request is over 1 MB'),
    )
      .then((body) => respond(res, 200, putEvents(req, body)))
      .catch((error: unknown) => {
        const apiError =
          error instanceof ApiError
            ? error
            : {
                status: 500,
                type: 'InternalException',
                message: error instanceof Error ? error.message : String(error),
              };
        respond(res, apiError.status, { __type: apiError.type, message: apiError.message });
      });
  });

  function putEvents(req: IncomingMessage, body: Buffer): unknown {
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
      throw new ApiError(
        400,
        'UnknownOperationException',
        `the local EventBridge answers PutEvents only (got ${String(target)})`,
      );
    }
    let input: { Entries?: unknown };
    try {
      input = JSON.parse(body.toString('utf8')) as { Entries?: unknown };
    } catch {
      throw new ApiError(400, 'SerializationException', 'the request body is not valid JSON');
    }
    const entries = input?.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
      throw new ApiError(
        400,
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    let failed = 0;
    const results = entries.map((entry: unknown) => {
      const outcome = acceptEntry(entry);
      if ('ErrorCode' in outcome) {
        failed++;
        return outcome;
      }
      received.push(outcome.event);
      if (received.length > keep) received.shift();
      options.logger.info(
        `EventBridge ${outcome.event.eventBusName}: ${outcome.event.detailType} from ${outcome.event.source}`,
        {
          eventId: outcome.event.eventId,
          detail: outcome.event.detail,
        },
      );
      return { EventId: outcome.event.eventId };
    });
    return { FailedEntryCount: failed, Entries: results };
  }

  const { url } = await listen(server, { host: options.host, port: options.port, setting: PORTS.eventBridge });
  return {
    url,
    received: () => [...received],
    close: () => closeServer(server),
  };
}

function acceptEntry(entry: unknown): { event: ReceivedEvent } | { ErrorCode: string; ErrorMessage: string } {
  const fields = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
  const { Source, DetailType, Detail, EventBusName, Time } = fields;
  if (typeof Source !== 'string' || Source.length === 0) {
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
    };
  }
  if (typeof DetailType !== 'string' || DetailType.length === 0) {
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
    };
  }
  if (typeof Detail !== 'string') {
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.',
    };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(Detail);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (Buffer.byteLength(JSON.stringify(entry), 'utf8') > MAX_ENTRY_BYTES) {
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Total size of the entries in the request is over the limit.',
    };
  }
  // The SDK sends Time as epoch seconds.
  const time = typeof Time === 'number' ? new Date(Time * 1000) : new Date();
  return {
    event: {
      eventId: randomUUID(),
      eventBusName: typeof EventBusName === 'string' && EventBusName.length > 0 ? EventBusName : 'default',
      source: Source,
      detailType: DetailType,
      detail,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}

function respond(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': payload.length,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(payload);
}
