import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listen, type PortSetting } from '../ports';
import { readRequestBody } from '../request-body';
import { snsAction, snsErrorDocument } from '../sns/api';
import { SnsError, type TopicStore } from '../sns/topics';
import { sqsAction } from '../sqs/api';
import { type QueueStore, SqsError } from '../sqs/queues';
import type { LocalLogger } from '../types';

/**
 * One endpoint for SQS and SNS, as `--endpoint-url` for both `aws sqs` and `aws sns`: SQS's JSON protocol is told
 * apart by its `X-Amz-Target: AmazonSQS.*` header, everything else is SNS's form-encoded query protocol.
 */
export interface MessagingServerOptions {
  host: string;
  port: number;
  setting: PortSetting;
  queues: QueueStore;
  topics: TopicStore;
  functionOf: (arn: string) => string | undefined;
  logger: LocalLogger;
}

// SendMessageBatch's limit: ten messages of up to 1 MiB, plus the JSON around them.
const MAX_REQUEST_BYTES = 11 * 1024 * 1024;

export async function startMessagingServer(
  options: MessagingServerOptions,
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const inFlight = new AbortController();
  const server = createServer((req, res) => {
    handle(req, res, options, inFlight.signal).catch((error: unknown) => {
      if (error instanceof SqsError && !res.headersSent) {
        // A body over the limit, refused before it is read whole.
        res.writeHead(error.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ __type: error.code, message: error.message }));
        return;
      }
      options.logger.error(`SQS/SNS request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ __type: 'InternalFailure', message: 'internal error of the local SQS/SNS' }));
    });
  });
  const listening = await listen(server, { host: options.host, port: options.port, setting: options.setting });
  return {
    ...listening,
    close: async () => {
      // Long polls answer at once (empty) rather than hold the close for up to 20 s.
      inFlight.abort();
      await closeServer(server);
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: MessagingServerOptions, signal: AbortSignal) {
  const body = await readRequestBody(
    req,
    MAX_REQUEST_BYTES,
    () =>
      new SqsError(
        'RequestTooLarge',
        `a request to the local SQS/SNS may be at most ${MAX_REQUEST_BYTES} bytes`,
        'RequestTooLarge',
        413,
      ),
  );
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('AmazonSQS.')) {
    const action = target.slice('AmazonSQS.'.length);
    try {
      const input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      const output = await sqsAction(options.queues, action, input, signal);
      options.logger.debug(`SQS ${action}`);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(output));
    } catch (error) {
      const sqs =
        error instanceof SqsError
          ? error
          : error instanceof SyntaxError
            ? new SqsError('SerializationException', 'The request body is not valid JSON.')
            : undefined;
      if (!sqs) throw error;
      options.logger.debug(`SQS ${action}: ${sqs.code}: ${sqs.message}`);
      res.writeHead(sqs.status, {
        'content-type': 'application/x-amz-json-1.0',
        // The SDKs read the query-compatible code from here (e.g. AWS.SimpleQueueService.NonExistentQueue).
        'x-amzn-query-error': `${sqs.queryCode};Sender`,
      });
      res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${sqs.code}`, message: sqs.message }));
    }
    return;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const params = new URLSearchParams(body.toString('utf8'));
  for (const [name, value] of url.searchParams) if (!params.has(name)) params.set(name, value);
  try {
    const xml = snsAction(options.topics, params, options.functionOf);
    options.logger.debug(`SNS ${params.get('Action')}`);
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(xml);
  } catch (error) {
    if (!(error instanceof SnsError)) throw error;
    options.logger.debug(`SNS ${params.get('Action')}: ${error.code}: ${error.message}`);
    res.writeHead(error.status, { 'content-type': 'text/xml' });
    res.end(snsErrorDocument(error));
  }
}
