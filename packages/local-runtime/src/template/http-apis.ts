import type { FunctionSpec, HttpAuthorizerSpec, HttpRouteSpec } from '../types';
import { type ApiResource, apiGatewayV2Resources, findByRef, proxiedFunctionId } from './api-gateway-v2';
import type { TemplateContext } from './context';
import { show, TemplateError } from './errors';

type AuthorizationType = NonNullable<HttpRouteSpec['authorizationType']>;
const AUTHORIZATION_TYPES: readonly string[] = ['NONE', 'AWS_IAM', 'CUSTOM', 'JWT'];

/**
 * Routes of HTTP APIs declared with raw AWS::ApiGatewayV2 resources (Api with ProtocolType HTTP, Route, Integration).
 * Each route becomes an HttpRouteSpec whose eventId is the route's logical id.
 */
export function rawHttpApiRoutes(ctx: TemplateContext, functions: Map<string, FunctionSpec>): HttpRouteSpec[] {
  const resources = apiGatewayV2Resources(ctx, 'HTTP');
  if (!resources) return [];
  const { apis, routes, integrations, authorizers } = resources;
  const out: HttpRouteSpec[] = [];
  for (const api of apis) {
    const apiId = ctx.ref(api.logicalId);
    if (api.props.Target !== undefined) {
      // Quick create: the API's Target makes a "$default" route and integration that are not resources.
      const functionId = ctx.functionIdOf(api.props.Target, functions);
      if (!functionId) {
        throw new TemplateError(
          `HTTP API ${api.logicalId}: Target ${JSON.stringify(api.props.Target)} is not a function of this template.`,
          api.logicalId,
        );
      }
      out.push({
        functionId,
        eventId: api.logicalId,
        method: 'ANY',
        path: '$default',
        payloadFormatVersion: '2.0',
        authorizationType: 'NONE',
      });
    }
    for (const route of routes.filter((r) => r.props.ApiId === apiId)) {
      const fail = (what: string) =>
        new TemplateError(
          `HTTP API ${api.logicalId}, route ${route.logicalId} (${show(route.props.RouteKey)}): ${what}`,
          route.logicalId,
        );
      const { method, path } = parseRouteKey(route.props.RouteKey, fail);
      const target = typeof route.props.Target === 'string' ? route.props.Target : undefined;
      const integrationRef = target && /^integrations\/(.+)$/.exec(target)?.[1];
      if (!integrationRef) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the message shows the template's !Sub syntax.
        throw fail('Target must be integrations/<IntegrationId> (Target: !Sub integrations/${MyIntegration}).');
      }
      const integration = findByRef(ctx, integrations, integrationRef);
      if (!integration) throw fail(`Target ${target} is not an AWS::ApiGatewayV2::Integration of this template.`);
      const functionId = proxiedFunctionId(ctx, integration, functions, fail);
      // API Gateway requires PayloadFormatVersion on HTTP API Lambda integrations; 2.0 is what the console picks.
      const version =
        integration.props.PayloadFormatVersion === undefined ? '2.0' : String(integration.props.PayloadFormatVersion);
      if (version !== '1.0' && version !== '2.0') {
        throw fail(`its integration ${integration.logicalId} has PayloadFormatVersion ${version}; use "1.0" or "2.0".`);
      }
      const authorization = route.props.AuthorizationType === undefined ? 'NONE' : route.props.AuthorizationType;
      if (typeof authorization !== 'string' || !AUTHORIZATION_TYPES.includes(authorization)) {
        throw fail(
          `AuthorizationType ${JSON.stringify(authorization)} is not one of ${AUTHORIZATION_TYPES.join(', ')}.`,
        );
      }
      const authorizer =
        authorization === 'CUSTOM'
          ? lambdaAuthorizer(ctx, functions, route.props.AuthorizerId, apiId, authorizers, fail)
          : undefined;
      out.push({
        functionId,
        eventId: route.logicalId,
        method,
        path,
        payloadFormatVersion: version,
        authorizationType: authorization as AuthorizationType,
        ...(authorizer ? { authorizer } : {}),
      });
    }
  }
  return out;
}

function parseRouteKey(routeKey: unknown, fail: (what: string) => TemplateError): { method: string; path: string } {
  if (routeKey === '$default') return { method: 'ANY', path: '$default' };
  const match = typeof routeKey === 'string' ? /^([A-Za-z]+) (\/\S*)$/.exec(routeKey) : null;
  if (!match?.[1] || !match[2]) throw fail('RouteKey must be "$default" or "METHOD /path", e.g. "GET /items/{key}".');
  return { method: match[1].toUpperCase(), path: match[2] };
}

/**
 * The AWS::ApiGatewayV2::Authorizer a CUSTOM route names. Checked as API Gateway checks it at deploy time: a REQUEST
 * authorizer of the same API, invoking a function of this template, with an explicit AuthorizerPayloadFormatVersion
 * (HTTP APIs require one) and simple responses only with format 2.0.
 */
function lambdaAuthorizer(
  ctx: TemplateContext,
  functions: Map<string, FunctionSpec>,
  authorizerId: unknown,
  apiId: unknown,
  authorizers: ApiResource[],
  fail: (what: string) => TemplateError,
): HttpAuthorizerSpec {
  if (authorizerId === undefined) {
    throw fail('AuthorizationType CUSTOM needs an AuthorizerId (!Ref <an AWS::ApiGatewayV2::Authorizer>).');
  }
  const found = findByRef(ctx, authorizers, authorizerId);
  if (!found || found.props.ApiId !== apiId) {
    throw fail(`AuthorizerId ${show(authorizerId)} is not an AWS::ApiGatewayV2::Authorizer of this API.`);
  }
  const where = `authorizer ${found.logicalId}`;
  if (found.props.AuthorizerType !== 'REQUEST') {
    throw fail(
      `${where} has AuthorizerType ${show(found.props.AuthorizerType)}; a CUSTOM route needs a Lambda (REQUEST) ` +
        'authorizer (JWT authorizers go with AuthorizationType: JWT).',
    );
  }
  const functionId = ctx.functionIdOf(found.props.AuthorizerUri, functions);
  if (!functionId) {
    throw fail(
      `${where}: AuthorizerUri ${show(found.props.AuthorizerUri)} does not invoke a function of this template ` +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the message shows the template's !Sub syntax.
        '(!Sub arn:…:apigateway:…:lambda:path/2015-03-31/functions/${Function.Arn}/invocations).',
    );
  }
  const version = found.props.AuthorizerPayloadFormatVersion;
  if (version === undefined) throw fail(`${where} needs AuthorizerPayloadFormatVersion ("1.0" or "2.0").`);
  if (String(version) !== '1.0' && String(version) !== '2.0') {
    throw fail(`${where}: AuthorizerPayloadFormatVersion ${show(version)} must be "1.0" or "2.0".`);
  }
  const simple = found.props.EnableSimpleResponses === true || found.props.EnableSimpleResponses === 'true';
  if (simple && String(version) !== '2.0') {
    throw fail(`${where}: EnableSimpleResponses needs AuthorizerPayloadFormatVersion "2.0".`);
  }
  const source = found.props.IdentitySource;
  return {
    logicalId: found.logicalId,
    functionId,
    identitySource: Array.isArray(source) ? source.map(String) : typeof source === 'string' ? [source] : [],
    payloadFormatVersion: String(version) as '1.0' | '2.0',
    enableSimpleResponses: simple,
  };
}
