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
      .filter((s) => actionsOf(s).some((a) => a === 'dynamodb:PutItem' || a === 'dynamodb:DeleteItem'));
    expect(writes.length).toBeGreaterThan(0);
    for (const statement of writes) expect(leadingKeys(statement)).toEqual(['activity:*']);
  });
});
