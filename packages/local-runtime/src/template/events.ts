import type { z } from 'zod';
import type { HttpRouteSpec, S3EventSpec, ScheduleSpec, SnsEventSpec, SqsEventSpec, StreamSourceSpec } from '../types';
import type { TemplateContext } from './context';
import { show, TemplateError } from './errors';
import { mergeGlobals } from './globals';
import {
  anyProperties,
  dynamoDbEventProperties,
  httpApiEventProperties,
  parseProperties,
  s3EventProperties,
  scheduleEventProperties,
  serverlessHttpApiProperties,
  snsEventProperties,
  sqsEventProperties,
} from './schemas';

type Props = Record<string, unknown>;

const SUPPORTED_EVENT_TYPES = ['DynamoDB', 'HttpApi', 'Schedule', 'ScheduleV2', 'SQS', 'SNS', 'S3'];

/** Where functionEvents puts what it finds, one list per kind of event source. */
export interface FunctionEventsOut {
  streamSources: StreamSourceSpec[];
  httpRoutes: HttpRouteSpec[];
  schedules: ScheduleSpec[];
  sqsEvents: SqsEventSpec[];
  snsEvents: SnsEventSpec[];
  s3Events: S3EventSpec[];
}

/** Collects a function's Events: DynamoDB streams, HTTP API routes, schedules and SQS / SNS / S3 sources. */
export function functionEvents(ctx: TemplateContext, functionId: string, props: Props, out: FunctionEventsOut): void {
  const events = props.Events;
  if (events === undefined) return;
  if (events === null || typeof events !== 'object') {
    throw new TemplateError(`Function ${functionId}: Events must be a mapping.`, functionId);
  }
  for (const [eventId, event] of Object.entries(events as Record<string, unknown>)) {
    const { Type: type, Properties: raw } = parseProperties(
      anyProperties,
      event,
      `Function ${functionId}, event ${eventId}`,
      functionId,
    );
    const where = `Function ${functionId}, event ${eventId} (${show(type)})`;
    const resolved = raw === undefined ? {} : ctx.resolver.resolve(raw, `${functionId}.Events.${eventId}.Properties`);
    const properties = <T extends z.ZodType>(schema: T) => parseProperties(schema, resolved, where, functionId);
    switch (type) {
      case 'DynamoDB':
        out.streamSources.push(streamSource(ctx, functionId, eventId, properties(dynamoDbEventProperties)));
        break;
      case 'HttpApi':
        out.httpRoutes.push(httpRoute(ctx, functionId, eventId, properties(httpApiEventProperties)));
        break;
      case 'SQS':
        out.sqsEvents.push(...optional(sqsEvent(ctx, functionId, eventId, properties(sqsEventProperties))));
        break;
      case 'SNS':
        out.snsEvents.push(...optional(snsEvent(ctx, functionId, eventId, properties(snsEventProperties))));
        break;
      case 'S3':
        out.s3Events.push(s3Event(ctx, functionId, eventId, properties(s3EventProperties)));
        break;
      case 'Schedule':
      case 'ScheduleV2':
        out.schedules.push(schedule(functionId, eventId, type, properties(scheduleEventProperties)));
        break;
      default:
        // The function still runs (its other events, `npm run invoke`); only this trigger is missing locally.
        ctx.skip(
          `${functionId}.Events.${eventId}`,
          `${show(type)} event`,
          `not emulated locally (supported: ${SUPPORTED_EVENT_TYPES.join(', ')}); invoke the function with ` +
            '`npm run invoke` and a sample event instead',
        );
    }
  }
}

/** A source that may be left out (a disabled or unresolvable one), as a list to spread. */
function optional<T>(spec: T | undefined): T[] {
  return spec === undefined ? [] : [spec];
}

function streamSource(
  ctx: TemplateContext,
  functionId: string,
  eventId: string,
  p: z.output<typeof dynamoDbEventProperties>,
): StreamSourceSpec {
  const where = `Function ${functionId}, event ${eventId} (DynamoDB)`;
  const fail = (what: string) => new TemplateError(`${where}: ${what}`, functionId);
  const table = tableOfStream(ctx, p.Stream);
  if (!table) {
    throw fail(
      `Stream ${JSON.stringify(p.Stream)} is not the stream of a table in this template. Use !GetAtt <Table>.StreamArn.`,
    );
  }
  const startingPosition = p.StartingPosition;
  if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST') {
    throw fail('StartingPosition is required and must be TRIM_HORIZON or LATEST.');
  }
  const int = (name: string, fallback: number, min: number, max: number, allowMinusOne = false): number => {
    const value = p[name] === undefined ? fallback : Number(p[name]);
    const valid = Number.isInteger(value) && ((value >= min && value <= max) || (allowMinusOne && value === -1));
    if (!valid)
      throw fail(`${name} is ${JSON.stringify(p[name])}; allowed ${allowMinusOne ? '-1 or ' : ''}${min}–${max}.`);
    return value;
  };
  const responseTypes = p.FunctionResponseTypes ?? [];
  const filters = p.FilterCriteria?.Filters ?? [];
  const filterPatterns = filters.map((filter, i) => {
    const pattern = typeof filter.Pattern === 'string' ? filter.Pattern : JSON.stringify(filter.Pattern);
    try {
      JSON.parse(pattern);
    } catch {
      throw fail(`FilterCriteria.Filters[${i}].Pattern is not valid JSON.`);
    }
    return pattern;
  });
  if (p.TumblingWindowInSeconds !== undefined) {
    ctx.logger.warn(`${where}: TumblingWindowInSeconds is not emulated locally; records are delivered without it`);
  }
  return {
    functionId,
    eventId,
    tableLogicalId: table.logicalId,
    tableName: table.tableName,
    startingPosition,
    batchSize: int('BatchSize', 100, 1, 10_000),
    maximumBatchingWindowSeconds: int('MaximumBatchingWindowInSeconds', 0, 0, 300),
    parallelizationFactor: int('ParallelizationFactor', 1, 1, 10),
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError ?? false,
    maximumRetryAttempts: int('MaximumRetryAttempts', -1, 0, 10_000, true),
    maximumRecordAgeSeconds: int('MaximumRecordAgeInSeconds', -1, 60, 604_800, true),
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    filterPatterns,
    onFailure: onFailure(ctx, p.DestinationConfig, fail),
    enabled: p.Enabled ?? true,
  };
}

function tableOfStream(ctx: TemplateContext, stream: unknown): { logicalId: string; tableName: string } | undefined {
  if (typeof stream !== 'string') return undefined;
  const match = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\//.exec(stream);
  const tableName = match?.[1];
  if (!tableName) return undefined;
  for (const [logicalId, resource] of ctx.active) {
    if (resource.Type !== 'AWS::DynamoDB::Table' && resource.Type !== 'AWS::Serverless::SimpleTable') continue;
    if (ctx.ref(logicalId) === tableName) return { logicalId, tableName };
  }
  return undefined;
}

function onFailure(
  ctx: TemplateContext,
  destinationConfig: z.output<typeof dynamoDbEventProperties>['DestinationConfig'],
  fail: (what: string) => TemplateError,
): StreamSourceSpec['onFailure'] {
  const onFailure = destinationConfig?.OnFailure;
  if (!onFailure) return undefined;
  const destination = onFailure.Destination;
  const service = typeof destination === 'string' ? /^arn:[^:]+:(sqs|sns):/.exec(destination)?.[1] : undefined;
  if (!service) throw fail('DestinationConfig.OnFailure.Destination must be the ARN of an SQS queue or SNS topic.');
  const type = onFailure.Type ?? service.toUpperCase();
  if (type !== service.toUpperCase()) {
    throw fail(`DestinationConfig.OnFailure.Type ${JSON.stringify(type)} does not match the ${service} destination.`);
  }
  if (onFailure.Type === undefined) {
    // Without Type, SAM adds no send permission to the function's role: it works locally but fails on AWS.
    ctx.logger.warn(`${fail('').message} OnFailure has no Type; add Type: ${type} so SAM grants the send permission`);
  }
  for (const [logicalId, resource] of ctx.active) {
    const arn =
      resource.Type === 'AWS::SQS::Queue'
        ? ctx.getAtt(logicalId, 'Arn')
        : resource.Type === 'AWS::SNS::Topic'
          ? ctx.ref(logicalId)
          : undefined;
    if (arn === destination) return { type: type as 'SQS' | 'SNS', destinationLogicalId: logicalId };
  }
  throw fail(
    `DestinationConfig.OnFailure.Destination ${destination as string} is not a queue or topic of this template.`,
  );
}

function httpRoute(
  ctx: TemplateContext,
  functionId: string,
  eventId: string,
  p: z.output<typeof httpApiEventProperties>,
): HttpRouteSpec {
  const method = typeof p.Method === 'string' ? p.Method.toUpperCase() : 'ANY';
  const version = p.PayloadFormatVersion === undefined ? '2.0' : String(p.PayloadFormatVersion);
  if (version !== '1.0' && version !== '2.0') {
    throw new TemplateError(
      `Function ${functionId}, event ${eventId}: PayloadFormatVersion must be "1.0" or "2.0".`,
      functionId,
    );
  }
  return {
    functionId,
    eventId,
    // SAM: an HttpApi event without Path and Method is the API's $default route.
    method: method === 'X-AMAZON-APIGATEWAY-ANY-METHOD' ? 'ANY' : method,
    path: typeof p.Path === 'string' ? p.Path : '$default',
    payloadFormatVersion: version,
    authorizationType: httpApiEventAuthorization(ctx, functionId, eventId, p),
  };
}

type AuthorizationType = NonNullable<HttpRouteSpec['authorizationType']>;

/**
 * What API Gateway will check on a SAM HttpApi event's route: the event's Auth.Authorizer, else the API's
 * DefaultAuthorizer (the API named by ApiId, or the implicit API configured through Globals.HttpApi), else NONE.
 */
function httpApiEventAuthorization(
  ctx: TemplateContext,
  functionId: string,
  eventId: string,
  p: z.output<typeof httpApiEventProperties>,
): AuthorizationType {
  let apiProps: Props = (ctx.template.Globals?.HttpApi ?? {}) as Props;
  let apiLogicalId = 'ServerlessHttpApi';
  if (p.ApiId !== undefined) {
    const found = [...ctx.active].find(
      ([id, resource]) => resource.Type === 'AWS::Serverless::HttpApi' && ctx.ref(id) === p.ApiId,
    );
    if (found) {
      apiLogicalId = found[0];
      apiProps = mergeGlobals(apiProps, found[1].Properties ?? {}) as Props;
    }
  }
  const api = parseProperties(
    serverlessHttpApiProperties,
    ctx.resolver.resolve(apiProps, `${apiLogicalId}.Properties`),
    `HTTP API ${apiLogicalId}`,
    apiLogicalId,
  );
  const name = p.Auth?.Authorizer ?? api.Auth?.DefaultAuthorizer;
  if (name === undefined || name === 'NONE') return 'NONE';
  if (name === 'AWS_IAM') {
    if (p.Auth?.Authorizer === 'AWS_IAM' && api.Auth?.EnableIamAuthorizer !== true) {
      // SAM refuses AWS_IAM on an event unless the API enables it; say so now rather than at deploy time.
      ctx.logger.warn(
        `Function ${functionId}, event ${eventId}: Auth.Authorizer AWS_IAM needs Auth.EnableIamAuthorizer: true on ${apiLogicalId}`,
      );
    }
    return 'AWS_IAM';
  }
  const authorizer = api.Auth?.Authorizers?.[name];
  if (!authorizer) {
    throw new TemplateError(
      `Function ${functionId}, event ${eventId}: authorizer ${JSON.stringify(name)} is not in ${apiLogicalId}'s ` +
        'Auth.Authorizers. Declare it there, or use AWS_IAM or NONE.',
      functionId,
    );
  }
  return 'JwtConfiguration' in authorizer ? 'JWT' : 'CUSTOM';
}

function sqsEvent(
  ctx: TemplateContext,
  functionId: string,
  eventId: string,
  p: z.output<typeof sqsEventProperties>,
): SqsEventSpec | undefined {
  const where = `Function ${functionId}, event ${eventId} (SQS)`;
  const queueLogicalId = logicalIdOf(ctx, 'AWS::SQS::Queue', (id) => ctx.getAtt(id, 'Arn'), p.Queue);
  if (!queueLogicalId) {
    // A queue of another stack: nothing sends to it locally, but the rest of the template still runs.
    ctx.logger.warn(`${where}: Queue ${JSON.stringify(p.Queue)} is not a queue of this template; ignored locally`);
    return undefined;
  }
  const batchSize = p.BatchSize === undefined ? 10 : Number(p.BatchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new TemplateError(`${where}: BatchSize is ${JSON.stringify(p.BatchSize)}; allowed 1–10000.`, functionId);
  }
  const window = p.MaximumBatchingWindowInSeconds === undefined ? 0 : Number(p.MaximumBatchingWindowInSeconds);
  if (!Number.isInteger(window) || window < 0 || window > 300) {
    throw new TemplateError(
      `${where}: MaximumBatchingWindowInSeconds is ${JSON.stringify(p.MaximumBatchingWindowInSeconds)}; allowed 0–300.`,
      functionId,
    );
  }
  if (batchSize > 10 && window < 1) {
    // Lambda's own rule for standard queues.
    throw new TemplateError(
      `${where}: a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1.`,
      functionId,
    );
  }
  return {
    functionId,
    eventId,
    queueLogicalId,
    batchSize,
    maximumBatchingWindowSeconds: window,
    reportBatchItemFailures: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    enabled: p.Enabled !== false && p.Enabled !== 'false',
  };
}

function snsEvent(
  ctx: TemplateContext,
  functionId: string,
  eventId: string,
  p: z.output<typeof snsEventProperties>,
): SnsEventSpec | undefined {
  const topicLogicalId = logicalIdOf(ctx, 'AWS::SNS::Topic', (id) => ctx.ref(id), p.Topic);
  if (!topicLogicalId) {
    ctx.logger.warn(
      `Function ${functionId}, event ${eventId} (SNS): Topic ${JSON.stringify(p.Topic)} is not a topic of this ` +
        'template; ignored locally',
    );
    return undefined;
  }
  return { functionId, eventId, topicLogicalId };
}

function s3Event(
  ctx: TemplateContext,
  functionId: string,
  eventId: string,
  p: z.output<typeof s3EventProperties>,
): S3EventSpec {
  const fail = (what: string) =>
    new TemplateError(`Function ${functionId}, event ${eventId} (S3): ${what}`, functionId);
  // SAM itself requires the bucket to be in the same template (it adds the notification to the bucket).
  const bucketLogicalId = logicalIdOf(ctx, 'AWS::S3::Bucket', (id) => ctx.ref(id), p.Bucket);
  if (!bucketLogicalId) throw fail('Bucket must be !Ref <Bucket> of an AWS::S3::Bucket in this template.');
  const events = p.Events === undefined ? [] : typeof p.Events === 'string' ? [p.Events] : p.Events;
  if (events.length === 0) throw fail('Events is required, e.g. s3:ObjectCreated:*.');
  for (const event of events) {
    if (!/^s3:[A-Za-z]+(:[A-Za-z*]+)*$/.test(event))
      throw fail(`Events has ${JSON.stringify(event)}, not an S3 event.`);
  }
  let prefix: string | undefined;
  let suffix: string | undefined;
  for (const rule of p.Filter?.S3Key?.Rules ?? []) {
    // S3 accepts the rule names in either case ("prefix" / "Prefix").
    const name = rule.Name.toLowerCase();
    if (name === 'prefix') prefix = rule.Value;
    else if (name === 'suffix') suffix = rule.Value;
    else throw fail(`Filter.S3Key.Rules has Name ${JSON.stringify(rule.Name)}; use prefix or suffix.`);
  }
  return {
    functionId,
    eventId,
    bucketLogicalId,
    bucketName: String(ctx.ref(bucketLogicalId)),
    events,
    ...(prefix !== undefined ? { prefix } : {}),
    ...(suffix !== undefined ? { suffix } : {}),
  };
}

/** The logical id of the active resource of `type` whose value (ARN, name, URL) equals the resolved reference. */
export function logicalIdOf(
  ctx: TemplateContext,
  type: string,
  valueOfResource: (logicalId: string) => unknown,
  reference: unknown,
): string | undefined {
  if (reference === undefined) return undefined;
  for (const [logicalId, resource] of ctx.active) {
    if (resource.Type === type && valueOfResource(logicalId) === reference) return logicalId;
  }
  return undefined;
}

function schedule(
  functionId: string,
  eventId: string,
  type: 'Schedule' | 'ScheduleV2',
  p: z.output<typeof scheduleEventProperties>,
): ScheduleSpec {
  const expression = type === 'Schedule' ? p.Schedule : p.ScheduleExpression;
  const fail = (what: string) =>
    new TemplateError(`Function ${functionId}, event ${eventId} (${type}): ${what}`, functionId);
  if (typeof expression !== 'string' || !/^(rate|cron|at)\(.+\)$/.test(expression.trim())) {
    throw fail(`${type === 'Schedule' ? 'Schedule' : 'ScheduleExpression'} must be rate(…), cron(…) or at(…).`);
  }
  let input: unknown;
  if (p.Input !== undefined) {
    try {
      input = typeof p.Input === 'string' ? JSON.parse(p.Input) : p.Input;
    } catch {
      throw fail('Input must be a JSON string.');
    }
  }
  const disabled = p.Enabled === false || p.State === 'DISABLED';
  return {
    functionId,
    eventId,
    expression: expression.trim(),
    ...(input !== undefined ? { input } : {}),
    enabled: !disabled,
  };
}
