import { compileIotRule, IotSqlError } from '../iot/sql';
import type { FunctionSpec, IotActionSpec, IotRuleSpec } from '../types';
import type { TemplateContext } from './context';
import { TemplateError } from './errors';
import { logicalIdOf } from './events';
import { parseProperties, topicRuleProperties } from './schemas';

/** AWS::IoT::TopicRule resources: the SQL (intrinsics resolved), whether the rule is enabled and its actions. */
export function iotRules(ctx: TemplateContext, functions: Map<string, FunctionSpec>): IotRuleSpec[] {
  const out: IotRuleSpec[] = [];
  for (const [logicalId, resource] of ctx.active) {
    if (resource.Type !== 'AWS::IoT::TopicRule') continue;
    const resolved = ctx.resolver.resolve(resource.Properties ?? {}, `${logicalId}.Properties`);
    const p = parseProperties(topicRuleProperties, resolved, `Topic rule ${logicalId}`, logicalId);
    const payload = p.TopicRulePayload;
    const action = (raw: Record<string, unknown>, where: string) => iotAction(ctx, functions, logicalId, raw, where);
    try {
      // Checked now, so SQL the local broker cannot run is reported before anything starts.
      compileIotRule(payload.Sql);
    } catch (error) {
      if (!(error instanceof IotSqlError)) throw error;
      ctx.skip(logicalId, 'AWS::IoT::TopicRule', `its SQL is outside what the local broker runs: ${error.message}`);
      continue;
    }
    out.push({
      logicalId,
      // IoT rule names allow letters, digits and underscores only; CloudFormation's generated name is like this.
      ruleName: p.RuleName ?? `${ctx.stackName}_${logicalId}`.replace(/[^A-Za-z0-9_]/g, '_'),
      sql: payload.Sql,
      disabled: payload.RuleDisabled ?? false,
      actions: payload.Actions.map((raw, i) => action(raw, `Actions[${i}]`)),
      ...(payload.ErrorAction ? { errorAction: action(payload.ErrorAction, 'ErrorAction') } : {}),
    });
  }
  return out;
}

function iotAction(
  ctx: TemplateContext,
  functions: Map<string, FunctionSpec>,
  ruleId: string,
  raw: Record<string, unknown>,
  where: string,
): IotActionSpec {
  const fail = (what: string) => new TemplateError(`Topic rule ${ruleId}, ${where}: ${what}`, ruleId);
  const names = Object.keys(raw);
  const [name] = names;
  if (names.length !== 1 || !name) throw fail('each action must have exactly one key, e.g. DynamoDBv2 or Sqs.');
  const body = (raw[name] ?? {}) as Record<string, unknown>;
  switch (name) {
    case 'DynamoDBv2': {
      const tableName = (body.PutItem as { TableName?: unknown } | undefined)?.TableName;
      if (typeof tableName !== 'string') throw fail('DynamoDBv2.PutItem.TableName is required.');
      return { type: 'DynamoDBv2', tableName };
    }
    case 'Sqs': {
      const queueUrl = body.QueueUrl;
      if (typeof queueUrl !== 'string') throw fail('Sqs.QueueUrl is required.');
      const queueLogicalId = logicalIdOf(ctx, 'AWS::SQS::Queue', (id) => ctx.ref(id), queueUrl);
      const useBase64 = body.UseBase64 === true || body.UseBase64 === 'true';
      return {
        type: 'Sqs',
        queueUrl,
        ...(queueLogicalId ? { queueLogicalId } : {}),
        ...(useBase64 ? { useBase64 } : {}),
      };
    }
    case 'Lambda': {
      const functionId = ctx.functionIdOf(body.FunctionArn, functions);
      if (!functionId) throw fail('Lambda.FunctionArn must be !GetAtt <Function>.Arn of a function in this template.');
      return { type: 'Lambda', functionId };
    }
    default:
      return { type: 'Unsupported', name };
  }
}
