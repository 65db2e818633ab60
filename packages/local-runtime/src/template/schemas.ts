import { z } from 'zod';
import { TemplateError } from './errors';

/**
 * Shapes of the resolved properties the local runtime reads. Only what it uses is checked; other properties pass
 * through untouched (CloudFormation and cfn-lint check the rest).
 */

const flag = z.union([z.boolean(), z.enum(['true', 'false'])]).transform((value) => value === true || value === 'true');
const keyElement = z.object({ AttributeName: z.string(), KeyType: z.enum(['HASH', 'RANGE']) });
const index = z.object({
  IndexName: z.string(),
  KeySchema: z.array(keyElement).min(1).max(2),
  Projection: z.object({
    ProjectionType: z.enum(['ALL', 'KEYS_ONLY', 'INCLUDE']).optional(),
    NonKeyAttributes: z.array(z.string()).optional(),
  }),
});

export const tableProperties = z.looseObject({
  AttributeDefinitions: z.array(z.object({ AttributeName: z.string(), AttributeType: z.enum(['S', 'N', 'B']) })),
  KeySchema: z.array(keyElement).min(1).max(2),
  GlobalSecondaryIndexes: z.array(index).optional(),
  LocalSecondaryIndexes: z.array(index).optional(),
  StreamSpecification: z
    .object({ StreamViewType: z.enum(['NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES', 'KEYS_ONLY']) })
    .optional(),
  TimeToLiveSpecification: z.object({ AttributeName: z.string().optional(), Enabled: flag }).optional(),
});

export const simpleTableProperties = z.looseObject({
  PrimaryKey: z.object({ Name: z.string(), Type: z.enum(['String', 'Number', 'Binary']) }).optional(),
});

export const dynamoDbEventProperties = z.looseObject({
  Stream: z.unknown().optional(),
  StartingPosition: z.unknown().optional(),
  FunctionResponseTypes: z.array(z.string()).optional(),
  BisectBatchOnFunctionError: flag.optional(),
  Enabled: flag.optional(),
  FilterCriteria: z.object({ Filters: z.array(z.object({ Pattern: z.unknown().optional() })).optional() }).optional(),
  DestinationConfig: z
    .object({ OnFailure: z.object({ Type: z.string().optional(), Destination: z.unknown().optional() }).optional() })
    .optional(),
});

export const httpApiEventProperties = z.looseObject({
  Method: z.string().optional(),
  Path: z.string().optional(),
  PayloadFormatVersion: z.union([z.string(), z.number()]).optional(),
  ApiId: z.unknown().optional(),
  Auth: z.looseObject({ Authorizer: z.string().optional() }).optional(),
});

export const sqsEventProperties = z.looseObject({
  Queue: z.unknown().optional(),
  BatchSize: z.union([z.number(), z.string()]).optional(),
  MaximumBatchingWindowInSeconds: z.union([z.number(), z.string()]).optional(),
  Enabled: z.union([z.boolean(), z.string()]).optional(),
  FunctionResponseTypes: z.array(z.string()).optional(),
});

export const snsEventProperties = z.looseObject({ Topic: z.unknown().optional() });

const s3FilterRule = z.object({ Name: z.string(), Value: z.string() });
export const s3EventProperties = z.looseObject({
  Bucket: z.unknown().optional(),
  Events: z.union([z.string(), z.array(z.string())]).optional(),
  Filter: z.object({ S3Key: z.object({ Rules: z.array(s3FilterRule).optional() }).optional() }).optional(),
});

export const serverlessHttpApiProperties = z.looseObject({
  Auth: z
    .looseObject({
      DefaultAuthorizer: z.string().optional(),
      EnableIamAuthorizer: flag.optional(),
      Authorizers: z.record(z.string(), z.looseObject({})).optional(),
    })
    .optional(),
});

export const topicRuleProperties = z.looseObject({
  RuleName: z.string().optional(),
  TopicRulePayload: z.looseObject({
    Sql: z.string(),
    RuleDisabled: flag.optional(),
    Actions: z.array(z.record(z.string(), z.unknown())),
    ErrorAction: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const scheduleEventProperties = z.looseObject({
  Schedule: z.unknown().optional(),
  ScheduleExpression: z.unknown().optional(),
  Input: z.unknown().optional(),
  Enabled: flag.optional(),
  State: z.string().optional(),
});

export const webSocketApiProperties = z.looseObject({
  Name: z.string().optional(),
  StageName: z.string().optional(),
  RouteSelectionExpression: z.string().optional(),
  Routes: z.record(z.string(), z.object({ FunctionArn: z.unknown().optional() })).optional(),
  Auth: z
    .object({
      AuthType: z.string().optional(),
      AuthArn: z.unknown().optional(),
      IdentitySource: z.unknown().optional(),
    })
    .optional(),
});

/** Properties of any resource or event: a mapping (possibly empty). */
export const anyProperties = z.record(z.string(), z.unknown().optional());

/** Parses `value` with `schema`; a mismatch becomes a TemplateError that says where and what. */
export function parseProperties<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: string,
  resource: string,
): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const details = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'Properties'}: ${issue.message}`)
    .join('; ');
  throw new TemplateError(`${where}: ${details}. Fix the template.`, resource);
}
