import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MessageAttributeValue } from './sqs/message-attributes';
import type { QueueStore } from './sqs/queues';

/**
 * Where failed asynchronous work ends: a stream batch's OnFailure document, an S3 event after Lambda's retries, an
 * IoT rule's error action. On AWS each goes to an SQS queue; locally it goes to that queue of the local SQS when the
 * template has it (so `aws sqs receive-message` finds it there), and to `<dir>/<file>.jsonl` only when it has not
 * (a destination the runtime does not run, or a part started without the local SQS, as some tests do).
 */
export interface DeadLetterSink {
  /** Where file-bound letters are appended. */
  readonly dir: string;
  /** Delivers one letter; resolves with where it went ("queue <name>" or the file's path), for the log line. */
  send(letter: DeadLetter): Promise<string>;
  /** The letters sent to queues since start (newest last, at most 200): a queue cannot be read without receiving. */
  sentToQueues(): readonly QueuedDeadLetter[];
}

export interface DeadLetter {
  /** The template's queue, by logical id (stream OnFailure, IoT error actions) or by name (a DeadLetterQueue ARN). */
  queue?: { logicalId: string } | { name: string };
  /** The file, without `.jsonl`, used when no such queue runs locally. */
  fileName: string;
  /** The SQS message body (a JSON document, as AWS sends it). */
  body: unknown;
  /** SQS message attributes (Lambda's RequestID / ErrorCode / ErrorMessage on async DLQ messages). */
  attributes?: Record<string, MessageAttributeValue>;
  /** What the file line holds instead of `body` alone (the file has no message attributes to carry the rest). */
  fileLine?: unknown;
}

export interface QueuedDeadLetter {
  queueName: string;
  messageId: string;
  body: unknown;
}

const KEPT = 200;

/** A sink that sends to the local SQS's queues when `queues()` has them, else to files under `dir`. */
export function deadLetterSink(options: {
  dir: string;
  /** The local SQS, once it runs (undefined for a template without queues). */
  queues?: () => QueueStore | undefined;
  /** The template's queue names by logical id. */
  queueNames?: Record<string, string>;
}): DeadLetterSink {
  const sent: QueuedDeadLetter[] = [];
  // Appends to one file are chained so concurrent letters never interleave their lines.
  const appends = new Map<string, Promise<void>>();
  const append = (file: string, line: string): Promise<void> => {
    const next = (appends.get(file) ?? Promise.resolve()).then(async () => {
      await mkdir(options.dir, { recursive: true });
      await appendFile(file, `${line}\n`);
    });
    appends.set(
      file,
      next.catch(() => undefined),
    );
    return next;
  };
  return {
    dir: options.dir,
    async send(letter) {
      const name =
        letter.queue === undefined
          ? undefined
          : 'name' in letter.queue
            ? letter.queue.name
            : options.queueNames?.[letter.queue.logicalId];
      const queue = name === undefined ? undefined : options.queues?.()?.get(name);
      if (queue) {
        const message = queue.send({
          body: JSON.stringify(letter.body),
          ...(letter.attributes ? { messageAttributes: letter.attributes } : {}),
        });
        sent.push({ queueName: queue.name, messageId: message.messageId, body: letter.body });
        if (sent.length > KEPT) sent.shift();
        return `queue ${queue.name}`;
      }
      const file = join(options.dir, `${letter.fileName}.jsonl`);
      await append(file, JSON.stringify(letter.fileLine ?? letter.body));
      return file;
    },
    sentToQueues: () => sent,
  };
}
