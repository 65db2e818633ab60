import { join } from 'node:path';
import fc from 'fast-check';
import { buildPlatformModel, IntrinsicResolver, parseCfnTemplate, TemplateError } from '../../src/template';

/** Anything the loader throws must be a TemplateError (a message for the user), never a TypeError from inside. */
function onlyTemplateErrors(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (error instanceof TemplateError) return true;
    throw error;
  }
}

const intrinsicNames = [
  'Ref',
  'Condition',
  'Fn::Sub',
  'Fn::GetAtt',
  'Fn::Join',
  'Fn::If',
  'Fn::Equals',
  'Fn::Not',
  'Fn::And',
  'Fn::Or',
  'Fn::Select',
  'Fn::Split',
  'Fn::FindInMap',
  'Fn::Base64',
  'Fn::GetAZs',
  'Fn::ImportValue',
  'Fn::Length',
  'Fn::ToJsonString',
  'Fn::Cidr',
];

const { value: intrinsicTree } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Fn::Sub template, not a JavaScript one.
    fc.constantFrom('Stage', 'Table', 'Fn', 'IsProd', 'AWS::Region', 'AWS::NoValue', 'Table.Arn', '${Stage}-${Table}'),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...intrinsicNames), tie('value'), { minKeys: 1, maxKeys: 1 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }),
  ),
}));

/** Optional properties, each any mix of values: shapes that are almost right are where loaders crash. */
function someOf(keys: string[], value: fc.Arbitrary<unknown>) {
  return fc.record(Object.fromEntries(keys.map((key) => [key, value])), { requiredKeys: [] });
}

const leaf = fc.oneof(
  fc.string(),
  fc.integer({ min: -2, max: 20_000 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('nodejs22.x', 'echo.handler', '../functions', 'LATEST', 'S', 'HASH', 'WEBSOCKET', 'AWS_PROXY'),
  fc.constantFrom({ 'Fn::GetAtt': 'T.StreamArn' }, { 'Fn::GetAtt': ['F', 'Arn'] }, { Ref: 'T' }, { Ref: 'Q' }),
);
const { messy } = fc.letrec((tie) => ({
  messy: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('messy'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom(
        'AttributeName',
        'AttributeType',
        'KeyType',
        'Filters',
        'Pattern',
        'OnFailure',
        'Type',
        'Destination',
        'Variables',
        'FunctionArn',
        'StreamViewType',
        'Enabled',
        'IndexName',
        'KeySchema',
        'Projection',
      ),
      tie('messy'),
      { maxKeys: 3 },
    ),
  ),
}));
const eventTypes = fc.constantFrom('DynamoDB', 'HttpApi', 'Schedule', 'ScheduleV2', 'SQS', 'Kinesis', 42, null);
const eventKeys = [
  'Stream',
  'StartingPosition',
  'BatchSize',
  'FilterCriteria',
  'DestinationConfig',
  'FunctionResponseTypes',
  'MaximumRetryAttempts',
  'Path',
  'Method',
  'PayloadFormatVersion',
  'Schedule',
  'ScheduleExpression',
  'Input',
  'Enabled',
  'State',
];
const functionResource = fc.record({
  Type: fc.constant('AWS::Serverless::Function'),
  Properties: fc.record(
    {
      CodeUri: fc.constant('../functions'),
      Handler: fc.constantFrom('echo.handler', 'echo', '.x', 42),
      Runtime: fc.constantFrom('nodejs22.x', 'python3.12'),
      Timeout: fc.oneof(leaf, fc.constant(3)),
      Environment: fc.oneof(messy, fc.record({ Variables: fc.dictionary(fc.string(), messy, { maxKeys: 2 }) })),
      Events: fc.oneof(
        messy,
        fc.dictionary(
          fc.string(),
          fc.record({ Type: eventTypes, Properties: fc.oneof(messy, someOf(eventKeys, messy)) }),
          { maxKeys: 2 },
        ),
      ),
    },
    { requiredKeys: ['CodeUri', 'Handler', 'Runtime'] },
  ),
});
const tableResource = fc.record({
  Type: fc.constantFrom('AWS::DynamoDB::Table', 'AWS::Serverless::SimpleTable'),
  Properties: someOf(
    [
      'AttributeDefinitions',
      'KeySchema',
      'GlobalSecondaryIndexes',
      'StreamSpecification',
      'TimeToLiveSpecification',
      'PrimaryKey',
      'TableName',
    ],
    messy,
  ),
});
const apiResource = fc.record({
  Type: fc.constant('AWS::Serverless::WebSocketApi'),
  Properties: someOf(['Routes', 'Auth', 'StageName', 'RouteSelectionExpression', 'Name'], messy),
});

describe('template loader robustness', () => {
  test('templates of almost-right shapes load or fail with a TemplateError', () => {
    const options = { templatePath: join(__dirname, '../fixtures/templates/fuzz.yaml') };
    fc.assert(
      fc.property(functionResource, tableResource, apiResource, fc.boolean(), (F, T, Api, withQueue) =>
        onlyTemplateErrors(() =>
          buildPlatformModel(
            { Resources: { F, T, Api, ...(withQueue ? { Q: { Type: 'AWS::SQS::Queue' } } : {}) } as never },
            options,
          ),
        ),
      ),
      { numRuns: 3000 },
    );
  });

  const resolver = new IntrinsicResolver(
    {
      Resources: {},
      Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] }, Loop: { Condition: 'Loop' } },
      Mappings: { M: { a: { b: 'c' } } },
    },
    { Stage: 'dev', 'AWS::Region': 'us-east-1', List: ['a', 'b'] },
    {
      ref: (id) => (id === 'Table' ? 'table-name' : undefined),
      getAtt: (id, attribute) => (id === 'Table' && attribute === 'Arn' ? 'arn:aws:dynamodb:::table/t' : undefined),
    },
  );

  test('any mix of intrinsic functions resolves or fails with a TemplateError', () => {
    fc.assert(
      fc.property(intrinsicTree, (tree) => onlyTemplateErrors(() => resolver.resolve(tree, 'Fuzz'))),
      { numRuns: 2000 },
    );
  });

  test('any text is parsed or refused with a TemplateError', () => {
    fc.assert(
      fc.property(fc.string(), (text) => onlyTemplateErrors(() => parseCfnTemplate(text))),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.constantFrom('!Ref', '!Sub', '!GetAtt', '!If', '!Join'), fc.string(), (tag, rest) =>
        onlyTemplateErrors(() => parseCfnTemplate(`Resources:\n  X: ${tag} ${rest}`)),
      ),
    );
  });

  test('a condition that refers to itself is reported, not a stack overflow', () => {
    expect(() => resolver.condition('Loop')).toThrow(/The condition Loop depends on itself/);
  });
});
