import type { QueueSettings } from './sqs/queues';

/**
 * Contracts shared by the parts of the local runtime (template model, function runner, WebSocket gateway,
 * stream event sources, HTTP API, schedules). The runtime uses the template and the handlers; handlers never
 * import this package (a lint rule says so).
 */

/** What Lambda reports for a failed invocation (the shape `sam local invoke` prints). */
export interface LambdaError {
  errorType: string;
  errorMessage: string;
  stack?: string[];
  /** The function ran past its configured timeout ("Task timed out after N seconds"). */
  timedOut?: boolean;
}

export type InvocationOutcome =
  | { ok: true; result: unknown; durationMs: number; requestId: string }
  | { ok: false; error: LambdaError; durationMs: number; requestId: string };

/**
 * An event its producer has already turned into JSON: the sandbox hands these bytes to the function as they are (the
 * function parses them, as Lambda's runtime parses the JSON it receives) instead of stringifying an object. The
 * stream event source sends its batches this way, see streams/records.ts for why.
 *
 * Single use: the sandbox transfers `json` to the function's worker, which leaves it empty here. Whoever watches
 * invocations (invocations.ts) is shown `summary`, a small stand-in for the event, instead.
 */
export class SerializedEvent {
  /** The event's UTF-8 JSON, alone in its ArrayBuffer so that transferring it moves nothing else. */
  readonly json: Uint8Array;

  constructor(
    json: Uint8Array,
    readonly summary: unknown,
  ) {
    const alone =
      json.buffer instanceof ArrayBuffer && json.byteOffset === 0 && json.byteLength === json.buffer.byteLength;
    this.json = alone ? json : new Uint8Array(json);
  }
}

/** Runs template functions the way Lambda would. Handler errors come back as outcomes; it never throws for them. */
export interface Invoker {
  /**
   * @param functionId the function's logical id in template.yaml
   * @param event the event, shaped as the AWS service would send it, or that event already serialised
   * @param trigger a short label for the log line, e.g. "ws $connect", "stream RealTimeDataStream", "GET /health"
   */
  invoke(functionId: string, event: unknown, trigger: string): Promise<InvocationOutcome>;
}

/** The runtime's own log output (not the functions' logs). */
export interface LocalLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything; handy in tests. */
export const silentLogger: LocalLogger = { debug() {}, info() {}, warn() {}, error() {} };

// ------------------------------------------------------------------ the template, resolved

export interface FunctionSpec {
  logicalId: string;
  /** As in the template, e.g. "on-connect.handler": module basename and export name. */
  handler: string;
  /** Absolute path of the TypeScript entry point (Metadata.BuildProperties.EntryPoints[0], relative to CodeUri). */
  entryPoint: string;
  /** Name of the exported handler function, e.g. "handler". */
  exportName: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Template environment (Globals merged with the function's), intrinsics resolved to local values. */
  environment: Record<string, string>;
  /** The function's name (FunctionName, else the logical id as `sam local` does); AWS_LAMBDA_FUNCTION_NAME. */
  functionName?: string;
  /** An AWS-shaped ARN of the function (context.invokedFunctionArn). */
  functionArn?: string;
  /** The template's Runtime, e.g. "nodejs22.x". */
  runtime?: string;
  /** Metadata.BuildProperties.External: modules left out of the bundle (resolved from node_modules at run time). */
  external?: string[];
  /** The variables the template declares for it (Globals and its own), the only ones env.json may set, as in SAM. */
  declaredVariables?: string[];
  /**
   * Why this function cannot run locally (a Python runtime, a container image, a missing source file …). It stays in
   * the model so that its routes and events exist; every invocation fails with this reason, as a broken deploy would.
   */
  unavailable?: string;
  /** Metadata.BuildMethod (e.g. "esbuild"); without one, plain CommonJS handlers load in place, as from a zip. */
  buildMethod?: string;
  /** Metadata.BuildProperties.Format; otherwise the entry's extension or package.json "type" decides. */
  moduleFormat?: 'cjs' | 'esm';
}

export interface TableSpec {
  logicalId: string;
  tableName: string;
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  keySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  globalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
  }[];
  localSecondaryIndexes?: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
  }[];
  streamViewType?: 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY';
  ttlAttribute?: string;
}

export interface WebSocketRouteSpec {
  routeKey: string;
  functionId: string;
}

export interface WebSocketApiSpec {
  logicalId: string;
  /** An AWS-looking API id, e.g. "a1b2c3d4e5". */
  apiId: string;
  name: string;
  stage: string;
  routeSelectionExpression: string;
  routes: WebSocketRouteSpec[];
  /** Lambda REQUEST authorizer on $connect, when the template has one. */
  authorizer?: { functionId: string; identitySource: string[] };
}

export interface StreamSourceSpec {
  functionId: string;
  /** The event's name in the function's Events, e.g. "RealTimeDataStream". */
  eventId: string;
  tableLogicalId: string;
  tableName: string;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  parallelizationFactor: number;
  bisectBatchOnFunctionError: boolean;
  /** -1 = until the record expires. */
  maximumRetryAttempts: number;
  /** -1 = no limit. */
  maximumRecordAgeSeconds: number;
  reportBatchItemFailures: boolean;
  /** FilterCriteria.Filters[].Pattern, each a JSON string; ORed. */
  filterPatterns: string[];
  onFailure?: { type: 'SQS' | 'SNS'; destinationLogicalId: string };
  enabled: boolean;
}

export interface HttpRouteSpec {
  functionId: string;
  eventId: string;
  /** Upper-case method or "ANY". */
  method: string;
  /** e.g. "/items/{key}/{itemId}" or "/{proxy+}" or "$default". */
  path: string;
  /** The event's PayloadFormatVersion; SAM's default for HttpApi events is "2.0". */
  payloadFormatVersion?: '1.0' | '2.0';
  /** The route's AuthorizationType on AWS (the local HTTP API does not check AWS_IAM signatures). */
  authorizationType?: 'NONE' | 'AWS_IAM' | 'CUSTOM' | 'JWT';
  /** The Lambda REQUEST authorizer of a CUSTOM route, which the local HTTP API runs before the integration. */
  authorizer?: HttpAuthorizerSpec;
}

/** An HTTP API Lambda authorizer (AWS::ApiGatewayV2::Authorizer, AuthorizerType REQUEST). */
export interface HttpAuthorizerSpec {
  /** The authorizer's logical id (for log lines). */
  logicalId: string;
  functionId: string;
  /** e.g. ["$request.header.Authorization"]; a request missing any of them gets 401 without a call. */
  identitySource: string[];
  /** The event format sent to the function, and for 1.0 the IAM-policy answer it must give. */
  payloadFormatVersion: '1.0' | '2.0';
  /** 2.0 only: the function answers {isAuthorized, context} instead of an IAM policy. */
  enableSimpleResponses: boolean;
}

export interface BucketSpec {
  logicalId: string;
  bucketName: string;
}

/** A function's `Type: S3` event: which bucket notifications invoke it. */
export interface S3EventSpec {
  functionId: string;
  eventId: string;
  bucketLogicalId: string;
  bucketName: string;
  /** e.g. ["s3:ObjectCreated:*"] */
  events: string[];
  prefix?: string;
  suffix?: string;
}

/** A function's `Type: SQS` event: the local SQS event source mapping polls the queue and invokes it. */
export interface SqsEventSpec {
  functionId: string;
  eventId: string;
  queueLogicalId: string;
  batchSize: number;
  /** MaximumBatchingWindowInSeconds (0 by default for standard queues). */
  maximumBatchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}

/** An `AWS::SQS::Queue` with the settings the local SQS honours (AWS's defaults where the template sets none). */
export interface QueueSpec extends QueueSettings {
  logicalId: string;
}

/** An `AWS::SNS::Topic`. */
export interface TopicSpec {
  logicalId: string;
  topicName: string;
  topicArn: string;
}

/** An SQS subscription of a topic (AWS::SNS::Subscription, or a topic's Subscription list); Lambda ones are SnsEventSpec. */
export interface SnsQueueSubscriptionSpec {
  topicArn: string;
  queueArn: string;
  rawMessageDelivery: boolean;
}

/** A function's `Type: SNS` event. */
export interface SnsEventSpec {
  functionId: string;
  eventId: string;
  topicLogicalId: string;
}

export type IotActionSpec =
  | { type: 'DynamoDBv2'; tableName: string }
  | { type: 'Sqs'; queueUrl: string; queueLogicalId?: string; useBase64?: boolean }
  | { type: 'Lambda'; functionId: string }
  | { type: 'Unsupported'; name: string };

/** An `AWS::IoT::TopicRule`. */
export interface IotRuleSpec {
  logicalId: string;
  ruleName: string;
  /** The rule's SQL, intrinsics resolved. */
  sql: string;
  disabled: boolean;
  actions: IotActionSpec[];
  errorAction?: IotActionSpec;
}

export interface ScheduleSpec {
  functionId: string;
  eventId: string;
  /** "rate(1 minute)" or "cron(0/5 * * * ? *)". */
  expression: string;
  /** The event to send, when the template gives one (Input). */
  input?: unknown;
  enabled: boolean;
}

/** Something of the template the local runtime does not run; the rest of the template starts without it. */
export interface SkippedPart {
  /** A resource's logical id, or `<Function>.Events.<Event>`. */
  id: string;
  /** The resource type or event type, e.g. "AWS::Kinesis::Stream" or "Kinesis event". */
  type: string;
  reason: string;
}

export interface PlatformModel {
  stackName: string;
  /** What the runtime does not run (listed at start); empty when it runs everything. */
  skipped: SkippedPart[];
  region: string;
  accountId: string;
  parameters: Record<string, string>;
  functions: Map<string, FunctionSpec>;
  tables: TableSpec[];
  webSocketApis: WebSocketApiSpec[];
  /** The ids (!Ref) of the template's HTTP APIs, the implicit one of SAM HttpApi events included. */
  httpApiIds: string[];
  streamSources: StreamSourceSpec[];
  httpRoutes: HttpRouteSpec[];
  schedules: ScheduleSpec[];
  /** The template's SQS queues, which the local SQS serves. */
  queues: QueueSpec[];
  /** The template's SNS topics, which the local SNS serves. */
  topics: TopicSpec[];
  snsQueueSubscriptions: SnsQueueSubscriptionSpec[];
  /** A function's DeadLetterQueue (SQS) for failed asynchronous invocations, by function id: the queue's name. */
  asyncDeadLetterQueues: Record<string, string>;
  buckets: BucketSpec[];
  s3Events: S3EventSpec[];
  sqsEvents: SqsEventSpec[];
  snsEvents: SnsEventSpec[];
  iotRules: IotRuleSpec[];
}
