import type { FunctionSpec, WebSocketApiSpec } from '../types';
import { apiGatewayV2Resources, findByRef, proxiedFunctionId } from './api-gateway-v2';
import type { TemplateContext } from './context';
import { show, TemplateError } from './errors';
import { mergeGlobals } from './globals';
import { parseProperties, webSocketApiProperties } from './schemas';

type Props = Record<string, unknown>;

/** WebSocket APIs declared as AWS::Serverless::WebSocketApi (Routes, Auth, StageName). */
export function samWebSocketApis(ctx: TemplateContext, functions: Map<string, FunctionSpec>): WebSocketApiSpec[] {
  const out: WebSocketApiSpec[] = [];
  for (const [logicalId, resource] of ctx.active) {
    if (resource.Type !== 'AWS::Serverless::WebSocketApi') continue;
    const merged = mergeGlobals(
      (ctx.template.Globals?.WebSocketApi ?? {}) as Props,
      resource.Properties ?? {},
    ) as Props;
    const resolved = ctx.resolver.resolve(merged, `${logicalId}.Properties`);
    const p = parseProperties(webSocketApiProperties, resolved, `WebSocket API ${logicalId}`, logicalId);
    const routeSpecs = Object.entries(p.Routes ?? {}).map(([routeKey, route]) => {
      const functionId = ctx.functionIdOf(route?.FunctionArn, functions);
      if (!functionId) {
        throw new TemplateError(
          `WebSocket API ${logicalId}: route ${routeKey} integrates ${JSON.stringify(route?.FunctionArn)}, which is ` +
            'not a function of this template. Use FunctionArn: !GetAtt <Function>.Arn.',
          logicalId,
        );
      }
      return { routeKey, functionId };
    });
    const auth = p.Auth;
    let authorizer: WebSocketApiSpec['authorizer'];
    if (auth && auth.AuthType !== 'NONE') {
      if (auth.AuthType !== 'CUSTOM') {
        throw new TemplateError(
          `WebSocket API ${logicalId}: Auth.AuthType ${JSON.stringify(auth.AuthType)} is not emulated locally; use CUSTOM (a Lambda REQUEST authorizer) or NONE.`,
          logicalId,
        );
      }
      const functionId = ctx.functionIdOf(auth.AuthArn, functions);
      if (!functionId) {
        throw new TemplateError(
          `WebSocket API ${logicalId}: Auth.AuthArn must be !GetAtt <Function>.Arn of a function in this template.`,
          logicalId,
        );
      }
      authorizer = { functionId, identitySource: identitySources(auth.IdentitySource) };
    }
    out.push({
      logicalId,
      apiId: String(ctx.ref(logicalId)),
      name: typeof p.Name === 'string' ? p.Name : `${ctx.stackName}-${logicalId}`,
      // SAM's WebSocket generator names the stage "default" when StageName is absent.
      stage: typeof p.StageName === 'string' ? p.StageName : 'default',
      routeSelectionExpression:
        typeof p.RouteSelectionExpression === 'string' ? p.RouteSelectionExpression : '$request.body.action',
      routes: routeSpecs,
      ...(authorizer ? { authorizer } : {}),
    });
  }
  return out;
}

/** WebSocket APIs declared with raw AWS::ApiGatewayV2 Api / Route / Integration / Authorizer / Stage resources. */
export function rawWebSocketApis(ctx: TemplateContext, functions: Map<string, FunctionSpec>): WebSocketApiSpec[] {
  const resources = apiGatewayV2Resources(ctx, 'WEBSOCKET');
  if (!resources) return [];
  const { apis, routes, integrations, authorizers, stages } = resources;

  return apis.map(({ logicalId, props }) => {
    const apiId = String(ctx.ref(logicalId));
    const mine = <T extends { props: Props }>(list: T[]) => list.filter((item) => item.props.ApiId === apiId);
    const fail = (what: string) => new TemplateError(`WebSocket API ${logicalId}: ${what}`, logicalId);
    const functionOfIntegration = (integrationRef: unknown, routeKey: string) => {
      const integration = findByRef(ctx, integrations, integrationRef);
      if (!integration)
        throw fail(`route ${routeKey} has no integration of this template (Target: integrations/<Ref>).`);
      return proxiedFunctionId(ctx, integration, functions, (what) => fail(`route ${routeKey}: ${what}`));
    };
    let authorizer: WebSocketApiSpec['authorizer'];
    const routeSpecs = mine(routes).map((route) => {
      const routeKey = String(route.props.RouteKey);
      const target = typeof route.props.Target === 'string' ? route.props.Target : '';
      const functionId = functionOfIntegration(target.replace(/^integrations\//, ''), routeKey);
      if (route.props.AuthorizationType === 'CUSTOM') {
        const found = findByRef(ctx, authorizers, route.props.AuthorizerId);
        if (found?.props.AuthorizerType !== 'REQUEST') {
          throw fail(`route ${routeKey} needs a REQUEST authorizer of this template (AuthorizerId).`);
        }
        const authFunction = ctx.functionIdOf(found.props.AuthorizerUri, functions);
        if (!authFunction) throw fail(`authorizer ${found.logicalId} does not invoke a function of this template.`);
        authorizer = { functionId: authFunction, identitySource: identitySources(found.props.IdentitySource) };
      } else if (route.props.AuthorizationType !== undefined && route.props.AuthorizationType !== 'NONE') {
        throw fail(
          `route ${routeKey} has AuthorizationType ${show(route.props.AuthorizationType)}; use CUSTOM or NONE.`,
        );
      }
      return { routeKey, functionId };
    });
    const [stage] = mine(stages);
    if (!stage || typeof stage.props.StageName !== 'string') {
      throw fail('it has no AWS::ApiGatewayV2::Stage; add one (StageName) so clients have a URL to connect to.');
    }
    return {
      logicalId,
      apiId,
      name: typeof props.Name === 'string' ? props.Name : logicalId,
      stage: stage.props.StageName,
      routeSelectionExpression:
        typeof props.RouteSelectionExpression === 'string' ? props.RouteSelectionExpression : '$request.body.action',
      routes: routeSpecs,
      ...(authorizer ? { authorizer } : {}),
    };
  });
}

function identitySources(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return [];
}
