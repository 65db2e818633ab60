/**
 * DynamoDB Streams → Lambda event source mappings for the local runtime: one poller per `Type: DynamoDB` event,
 * with AWS's batching, filtering, partial-batch, bisect, retry, record-age and OnFailure behaviour.
 */
export {
  type StreamEventSource,
  type StreamEventSourceOptions,
  type StreamEventSourceStats,
  startStreamEventSource,
} from './event-source';
export { compileFilters, type RecordFilter, StreamFilterPatternError } from './filter';
export {
  buildOnFailureMessage,
  type DiscardCondition,
  type OnFailureDestination,
  type OnFailureMessage,
} from './on-failure';
export { type BatchVerdict, judgeOutcome } from './outcome';
export { type BufferedRecord, compareSequenceNumbers, estimateArrivalMs, toLambdaRecord } from './records';
