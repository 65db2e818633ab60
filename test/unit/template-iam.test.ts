import { join } from 'node:path';
import { readCfnTemplate } from '@real-time-platform/local-runtime';

// Least privilege on RealTimeData, checked on template.yaml itself: the local runtime does not enforce IAM, so these
// statements are only ever exercised on AWS.

const template = readCfnTemplate(join(__dirname, '../../template.yaml'));
const PLATFORM_PREFIXES = ['$*', 'presence:*', 'friends:*', 'inbox:*', 'calendar:*', 'chat:*', 'activity:*'];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string[]>>;
}

function statementsOf(logicalId: string): Statement[] {
  const resource = template.Resources?.[logicalId];
  if (resource === undefined) throw new Error(`no resource ${logicalId}`);
  const properties = resource.Properties as Record<string, unknown>;
  // A policy under `!If [Condition, policy, !Ref AWS::NoValue]` counts: it is granted in one configuration.
  const policies = ((properties.Policies ?? []) as Record<string, unknown>[]).flatMap((policy) =>
    Array.isArray(policy['Fn::If']) ? (policy['Fn::If'] as unknown[]).slice(1) : [policy],
  ) as { Statement?: Statement[] }[];
  if (resource.Type === 'AWS::IAM::Role') {
    return ((properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );
  }
  return policies.flatMap((policy) => policy.Statement ?? []);
}

// `!GetAtt RealTimeDataTable.Arn` (the short form keeps the dotted string).
const onDataTable = (statement: Statement) => {
  const getAtt = (statement.Resource as { 'Fn::GetAtt'?: unknown } | null)?.['Fn::GetAtt'];
  return getAtt === 'RealTimeDataTable.Arn' || JSON.stringify(getAtt) === '["RealTimeDataTable","Arn"]';
};
const actionsOf = (statement: Statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);
const leadingKeys = (statement: Statement) =>
  statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ??
  statement.Condition?.['ForAnyValue:StringLike']?.['dynamodb:LeadingKeys'];

describe('RealTimeData permissions in template.yaml', () => {
  test.each(['ItemsApiFunction', 'SqsIngestFunction', 'SnsIngestFunction', 'S3IngestFunction', 'IotIngestRole'])(
    "%s (a producer) is denied the platform domains' keys for every action it is allowed",
    (logicalId) => {
      const statements = statementsOf(logicalId).filter(onDataTable);
      const allowed = statements.filter((s) => s.Effect === 'Allow').flatMap(actionsOf);
      const deny = statements.find((s) => s.Effect === 'Deny');
      expect(deny).toBeDefined();
      expect(deny?.Condition?.['ForAnyValue:StringLike']?.['dynamodb:LeadingKeys']).toEqual(PLATFORM_PREFIXES);
      expect(actionsOf(deny as Statement).sort()).toEqual([...new Set(allowed)].sort());
    },
  );

  test.each([
    ['PresenceApiFunction', ['presence:*', 'friends:*', 'activity:*']],
    ['ChatApiFunction', ['chat:*', '$chat:*', '$user-conversations:*', 'presence:*']],
    ['ChatMessageFunction', ['chat:*', '$chat:*', '$chat-sent:*']],
    ['CalendarApiFunction', ['calendar:*', '$calendar-shares:*']],
  ])('%s reaches only its own key families', (logicalId, families) => {
    const statements = statementsOf(logicalId).filter(onDataTable);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      const keys = leadingKeys(statement);
      expect(keys).toBeDefined();
      for (const key of keys ?? []) expect(families).toContain(key);
    }
  });

  test.each([
    'OnConnectLambdaFunction',
    'OnDisconnectLambdaFunction',
    'OnMessageLambdaFunction',
    'OnReceiveRealTimeItem',
    'PresenceSweepFunction',
  ])("%s writes items (PutItem / DeleteItem) under activity:* only: the user's history", (logicalId) => {
    const writes = statementsOf(logicalId)
      .filter(onDataTable)
      .filter((s) => actionsOf(s).some((a) => a === 'dynamodb:PutItem' || a === 'dynamodb:DeleteItem'))
      // The message function's snapshot markers are held to the marker's attributes instead (tested below).
      .filter((s) => markerAttributes(s) === undefined);
    expect(writes.length).toBeGreaterThan(0);
    for (const statement of writes) expect(leadingKeys(statement)).toEqual(['activity:*']);
  });
});

/** The attributes a statement's puts are limited to (ForAllValues:StringEquals dynamodb:Attributes), if any. */
function markerAttributes(statement: Statement): unknown {
  return (statement.Condition?.['ForAllValues:StringEquals'] as Record<string, unknown> | undefined)?.[
    'dynamodb:Attributes'
  ];
}

describe('snapshot markers in template.yaml', () => {
  test('the message function may put items carrying only a marker’s attributes, and no longer Query the data', () => {
    const statements = statementsOf('OnMessageLambdaFunction').filter(onDataTable);
    const puts = statements.filter((s) => s.Effect === 'Allow' && actionsOf(s).includes('dynamodb:PutItem'));
    // Two puts: the user's activity history (under activity:* only, above) and the markers.
    const markerPuts = puts.filter((s) => leadingKeys(s) === undefined);
    expect(markerPuts).toHaveLength(1);
    const put = markerPuts[0] as Statement;
    expect(actionsOf(put)).toEqual(['dynamodb:PutItem']);
    expect(markerAttributes(put)).toEqual([{ Ref: 'RealTimeItemKey' }, 'itemId', 'connectionId', 'expiresAt']);
    expect(statements.flatMap(actionsOf)).not.toContain('dynamodb:Query');
  });

  test('the fan-out may Query the data (snapshots) and GetItem a subscription row', () => {
    const statements = statementsOf('OnReceiveRealTimeItem');
    expect(statements.filter(onDataTable).flatMap(actionsOf)).toContain('dynamodb:Query');
    const onConnections = statements.filter((s) =>
      JSON.stringify(s.Resource).includes('WebSocketConnectionManagerTable'),
    );
    expect(onConnections.flatMap(actionsOf)).toContain('dynamodb:GetItem');
  });

  test('the fan-out reads each shard as one ordered sequence of batches (ParallelizationFactor 1)', () => {
    const fanout = template.Resources?.OnReceiveRealTimeItem?.Properties as {
      Events: Record<string, { Properties: { ParallelizationFactor?: number } }>;
    };
    for (const event of Object.values(fanout.Events)) expect(event.Properties.ParallelizationFactor ?? 1).toBe(1);
  });

  test('devices cannot write reserved "$" itemIds through the IoT rule', () => {
    const rule = template.Resources?.IotIngestRule?.Properties as { TopicRulePayload: { Sql: unknown } };
    expect(JSON.stringify(rule.TopicRulePayload.Sql)).toContain("NOT startswith(itemId, '$')");
  });
});
