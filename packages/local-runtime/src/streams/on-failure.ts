import { randomUUID } from 'node:crypto';
import type { BufferedRecord } from './records';

/** Why Lambda gave up on a stream batch (requestContext.condition). */
export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The document Lambda sends to a stream mapping's OnFailure destination: metadata about the batch, not the records. */
export interface OnFailureMessage {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: DiscardCondition;
    approximateInvokeCount: number;
  };
  responseContext: {
    statusCode: number;
    executedVersion: string;
    functionError?: string;
  };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** Where the runtime should deliver an OnFailure message (undefined when the mapping has no destination). */
export type OnFailureDestination = { type: 'SQS' | 'SNS'; destinationLogicalId: string } | undefined;

/** Builds Lambda's OnFailure document for a discarded part of a batch. */
export function buildOnFailureMessage(input: {
  condition: DiscardCondition;
  functionArn: string;
  streamArn: string;
  shardId: string;
  records: readonly Pick<BufferedRecord, 'sequenceNumber' | 'arrivalMs'>[];
  approximateInvokeCount: number;
  /** The last invocation of these records, when there was one. */
  lastRequestId?: string;
  /** Set when the last invocation failed with a function error (Lambda reports "Unhandled", timeouts included). */
  functionError?: string;
  now?: Date;
}): OnFailureMessage {
  const first = input.records[0];
  const last = input.records[input.records.length - 1];
  if (!first || !last) throw new Error('an OnFailure message needs at least one record');
  const responseContext: OnFailureMessage['responseContext'] = { statusCode: 200, executedVersion: '$LATEST' };
  if (input.functionError) responseContext.functionError = input.functionError;
  return {
    requestContext: {
      requestId: input.lastRequestId ?? randomUUID(),
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    responseContext,
    version: '1.0',
    timestamp: (input.now ?? new Date()).toISOString(),
    DDBStreamBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: last.sequenceNumber,
      // Lambda prints these without milliseconds ("2019-11-14T00:13:19Z").
      approximateArrivalOfFirstRecord: isoSeconds(first.arrivalMs),
      approximateArrivalOfLastRecord: isoSeconds(last.arrivalMs),
      batchSize: input.records.length,
      streamArn: input.streamArn,
    },
  };
}

function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
