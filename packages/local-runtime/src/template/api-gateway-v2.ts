/** What raw AWS::ApiGatewayV2 HTTP and WebSocket APIs share: their resources, Ref lookups and Lambda integrations. */
import type { FunctionSpec } from '../types';
import { resourcesOfType, type TemplateContext } from './context';
import type { TemplateError } from './errors';

/** A resource with its properties resolved. */
export interface ApiResource {
  logicalId: string;
  props: Record<string, unknown>;
}

/** The template's APIs of one protocol and every route, integration, authorizer and stage; undefined without APIs. */
export function apiGatewayV2Resources(ctx: TemplateContext, protocol: 'HTTP' | 'WEBSOCKET') {
  const byType = (type: string) => resourcesOfType(ctx, `AWS::ApiGatewayV2::${type}`);
  const apis = byType('Api').filter((api) => api.props.ProtocolType === protocol);
  if (apis.length === 0) return undefined;
  return {
    apis,
    routes: byType('Route'),
    integrations: byType('Integration'),
    authorizers: byType('Authorizer'),
    stages: byType('Stage'),
  };
}

/** The resource a Ref (or a plain logical id) names. */
export function findByRef<T extends ApiResource>(ctx: TemplateContext, resources: T[], ref: unknown): T | undefined {
  return resources.find((resource) => ctx.ref(resource.logicalId) === ref || resource.logicalId === ref);
}

/** The function a Lambda proxy integration invokes; any other integration is refused, as the runtime cannot run it. */
export function proxiedFunctionId(
  ctx: TemplateContext,
  integration: ApiResource,
  functions: Map<string, FunctionSpec>,
  fail: (what: string) => TemplateError,
): string {
  const { IntegrationType: type, IntegrationSubtype: subtype, IntegrationUri: uri } = integration.props;
  if (type !== 'AWS_PROXY') {
    throw fail(
      `integration ${integration.logicalId} has IntegrationType ${JSON.stringify(type)}; the local runtime runs ` +
        'Lambda proxy integrations only (IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt <Function>.Arn).',
    );
  }
  if (subtype !== undefined) {
    throw fail(
      `integration ${integration.logicalId} is an AWS service integration (IntegrationSubtype ` +
        `${JSON.stringify(subtype)}), which is not emulated locally.`,
    );
  }
  const functionId = ctx.functionIdOf(uri, functions);
  if (!functionId) {
    throw fail(
      `integration ${integration.logicalId} has IntegrationUri ${JSON.stringify(uri)}, which is not a function of ` +
        'this template. Use !GetAtt <Function>.Arn.',
    );
  }
  return functionId;
}
