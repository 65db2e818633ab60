import type { z } from 'zod';
import type { HttpRouteSpec, ScheduleSpec, StreamSourceSpec } from '../types';
import type { TemplateContext } from './context';
import { TemplateError } from './errors';
import {
  anyProperties,
  dynamoDbEventProperties,
  httpApiEventProperties,
  parseProperties,
  scheduleEventProperties,
} from './schemas';

type Props = Record<string, unknown>;

/** Event types that are recognised but not emulated yet: producers on AWS, nothing to trigger locally. */
const IGNORED_EVENT_TYPES = new Set(['SQS', 'SNS', 'S3']);
const SUPPORTED_EVENT_TYPES = ['DynamoDB', 'HttpApi', 'Schedule', 'ScheduleV2'];

/** Collects a function's Events: DynamoDB streams, HTTP API routes and schedules; SQS/SNS/S3 are noted and skipped. */
export function functionEvents(
  ctx: TemplateContext,
  functionId: string,
  props: Props,
  out: { streamSources: StreamSourceSpec[]; httpRoutes: HttpRouteSpec[]; schedules: ScheduleSpec[] },
): void {
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
    const where = `Function ${functionId}, event ${eventId} (${String(type)})`;
    const resolved = raw === undefined ? {} : ctx.resolver.resolve(raw, `${functionId}.Events.${eventId}.Properties`);
    switch (type) {
      case 'DynamoDB':
        out.streamSources.push(
          streamSource(ctx, functionId, eventId, parseProperties(dynamoDbEventProperties, resolved, where, functionId)),
        );
        break;
      case 'HttpApi':
        out.httpRoutes.push(
          httpRoute(functionId, eventId, parseProperties(httpApiEventProperties, resolved, where, functionId)),
        );
        break;
      case 'Schedule':
      case 'ScheduleV2':
        out.schedules.push(
          schedule(functionId, eventId, type, parseProperties(scheduleEventProperties, resolved, where, functionId)),
        );
        break;
      default:
        if (typeof type === 'string' && IGNORED_EVENT_TYPES.has(type)) {
          ctx.logger.debug(`${functionId} event ${eventId} (${type}) is not emulated locally yet; ignored`);
          break;
        }
        throw new TemplateError(
          `Function ${functionId}: event ${eventId} has Type ${JSON.stringify(type)}, which the local runtime does ` +
            `not emulate (supported: ${SUPPORTED_EVENT_TYPES.join(', ')}; ${[...IGNORED_EVENT_TYPES].join(', ')} ` +
            'are accepted and ignored). Remove the event from the template or use a supported type.',
          functionId,
        );
    }
  }
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
    // Without Type, SAM adds no send permission: it works locally but fails on AWS (aws-facts.md).
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

function httpRoute(functionId: string, eventId: string, p: z.output<typeof httpApiEventProperties>): HttpRouteSpec {
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
  };
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
