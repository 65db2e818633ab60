import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { identityValues, type RunningHttpApi, startHttpApi } from '../../src/http';
import { buildPlatformModel, parseCfnTemplate, TemplateError } from '../../src/template';
import { type HttpAuthorizerSpec, type HttpRouteSpec, silentLogger } from '../../src/types';
import { FakeInvoker } from '../helpers/fake-invoker';
import { appTemplate } from '../helpers/paths';
import { rawHttpApiRoute } from '../helpers/template-models';

const templates = resolve(__dirname, '../fixtures/templates');

/** A raw HTTP API with one CUSTOM route; `authorizer` is the Authorizer resource's extra properties. */
function rawApi(authorizer: string, route = '      AuthorizationType: CUSTOM\n      AuthorizerId: !Ref Auth') {
  return `
Resources:
${rawHttpApiRoute('GET /me', `${route}\n      Target: !Sub integrations/\${Integration}`)}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: { ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn, PayloadFormatVersion: '2.0' }
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      Name: auth
      AuthorizerUri: !Sub arn:aws:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${Authorizer.Arn}/invocations
      IdentitySource: [$request.header.Authorization]
${authorizer}
  Fn:
    Type: AWS::Serverless::Function
    Properties: { CodeUri: ../functions, Handler: echo.handler, Runtime: nodejs22.x }
  Authorizer:
    Type: AWS::Serverless::Function
    Properties: { CodeUri: ../functions, Handler: echo.handler, Runtime: nodejs22.x }
`;
}

function routesOf(yaml: string): HttpRouteSpec[] {
  return buildPlatformModel(parseCfnTemplate(yaml), { templatePath: join(templates, 'inline.yaml') }).httpRoutes;
}

function loadError(yaml: string): string {
  try {
    routesOf(yaml);
  } catch (error) {
    if (error instanceof TemplateError) return error.message;
    throw error;
  }
  throw new Error('expected a TemplateError');
}

describe('the template loader: CUSTOM routes of raw HTTP APIs', () => {
  test('a CUSTOM route carries its REQUEST authorizer', () => {
    const [route] = routesOf(
      rawApi(`      AuthorizerType: REQUEST
      AuthorizerPayloadFormatVersion: '2.0'
      EnableSimpleResponses: true`),
    );
    expect(route?.authorizer).toEqual({
      logicalId: 'Auth',
      functionId: 'Authorizer',
      identitySource: ['$request.header.Authorization'],
      payloadFormatVersion: '2.0',
      enableSimpleResponses: true,
    });
  });

  test('what API Gateway would refuse at deploy time stops the load, naming the route', () => {
    expect(loadError(rawApi('      AuthorizerType: REQUEST', '      AuthorizationType: CUSTOM'))).toMatch(
      /route Route \(GET \/me\): AuthorizationType CUSTOM needs an AuthorizerId/,
    );
    expect(loadError(rawApi('      AuthorizerType: REQUEST'))).toMatch(
      /authorizer Auth needs AuthorizerPayloadFormatVersion/,
    );
    expect(
      loadError(
        rawApi(
          `      AuthorizerType: REQUEST\n      AuthorizerPayloadFormatVersion: '1.0'\n      EnableSimpleResponses: true`,
        ),
      ),
    ).toMatch(/EnableSimpleResponses needs AuthorizerPayloadFormatVersion "2.0"/);
    expect(loadError(rawApi(`      AuthorizerType: JWT\n      AuthorizerPayloadFormatVersion: '2.0'`))).toMatch(
      /has AuthorizerType JWT; a CUSTOM route needs a Lambda \(REQUEST\) authorizer/,
    );
  });
});

describe('the local HTTP API runs the authorizer before the route', () => {
  let api: RunningHttpApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  const simple: HttpAuthorizerSpec = {
    logicalId: 'Auth',
    functionId: 'Authorizer',
    identitySource: ['$request.header.Authorization'],
    payloadFormatVersion: '2.0',
    enableSimpleResponses: true,
  };

  async function serve(authorizer: HttpAuthorizerSpec, decide: (event: Record<string, unknown>) => unknown) {
    const invoker = new FakeInvoker({
      Authorizer: async (event) => decide(event),
      Fn: async (event) => ({ statusCode: 200, body: JSON.stringify({ authorizer: event.requestContext.authorizer }) }),
    });
    api = await startHttpApi({
      host: '127.0.0.1',
      port: 0,
      routes: [
        {
          functionId: 'Fn',
          eventId: 'Route',
          method: 'GET',
          path: '/me/{id}',
          authorizationType: 'CUSTOM',
          authorizer,
        },
      ],
      invoker,
      logger: silentLogger,
      region: 'us-east-1',
      accountId: '123456789012',
      apiId: 'api1234567',
    });
    const url = api.url;
    const call = async (headers: Record<string, string> = {}) => {
      const response = await fetch(`${url}/me/u1?x=1`, { headers });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    return { invoker, call };
  }

  test('no Authorization header: 401 without calling the authorizer; isAuthorized false: 403; true: the route runs', async () => {
    const { invoker, call } = await serve(simple, (event) =>
      event.identitySource && (event.identitySource as string[])[0] === 'Bearer good'
        ? { isAuthorized: true, context: { userId: 'u1' } }
        : { isAuthorized: false },
    );
    expect(await call()).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    expect(invoker.callsTo('Authorizer')).toHaveLength(0);
    expect(await call({ authorization: 'Bearer bad' })).toEqual({ status: 403, body: { message: 'Forbidden' } });
    expect(invoker.callsTo('Fn')).toHaveLength(0);
    expect(await call({ authorization: 'Bearer good' })).toEqual({
      status: 200,
      body: { authorizer: { lambda: { userId: 'u1' } } },
    });
    const [first] = invoker.callsTo('Authorizer');
    expect(first?.event).toMatchObject({
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:us-east-1:123456789012:api1234567/$default/GET/me/u1',
      identitySource: ['Bearer bad'],
      routeKey: 'GET /me/{id}',
      rawPath: '/me/u1',
      pathParameters: { id: 'u1' },
      queryStringParameters: { x: '1' },
    });
    expect(first?.event).not.toHaveProperty('body');
  });

  test('an authorizer that fails or answers another shape: 500, and the route never runs', async () => {
    const answers: unknown[] = [
      new Error('boom'),
      { isAuthorized: 'yes' },
      'true',
      { isAuthorized: true, context: 'u1' },
    ];
    let next = 0;
    const { invoker, call } = await serve(simple, () => {
      const answer = answers[next++];
      if (answer instanceof Error) throw answer;
      return answer;
    });
    for (const _ of answers) {
      expect(await call({ authorization: 'Bearer x' })).toEqual({
        status: 500,
        body: { message: 'Internal Server Error' },
      });
    }
    expect(invoker.callsTo('Fn')).toHaveLength(0);
  });

  test('IAM policy answers (format 1.0 or 2.0 without simple responses): Allow on the routeArn runs the route', async () => {
    const iam: HttpAuthorizerSpec = { ...simple, payloadFormatVersion: '1.0', enableSimpleResponses: false };
    const { invoker, call } = await serve(iam, (event) => ({
      principalId: 'u1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: event.authorizationToken === 'Bearer good' ? 'Allow' : 'Deny',
            Resource: event.methodArn,
          },
        ],
      },
      context: { userId: 'u1' },
    }));
    expect((await call({ authorization: 'Bearer good' })).status).toBe(200);
    expect((await call({ authorization: 'Bearer bad' })).status).toBe(403);
    expect(invoker.callsTo('Authorizer')[0]?.event).toMatchObject({
      version: '1.0',
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:123456789012:api1234567/$default/GET/me/u1',
      identitySource: 'Bearer good',
      httpMethod: 'GET',
    });
  });

  test('identity sources: headers (any case) and query parameters must be present and non-empty', () => {
    const event = {
      headers: { authorization: 'Bearer t', 'x-empty': '' },
      queryStringParameters: { token: 't2' },
      requestContext: { routeKey: 'GET /me' },
    } as unknown as Parameters<typeof identityValues>[1];
    expect(identityValues(['$request.header.Authorization', '$request.querystring.token'], event)).toEqual([
      'Bearer t',
      't2',
    ]);
    expect(identityValues(['$request.header.X-Empty'], event)).toBeUndefined();
    expect(identityValues(['$request.querystring.missing'], event)).toBeUndefined();
    expect(identityValues(['$context.routeKey'], event)).toEqual(['GET /me']);
    expect(identityValues([], event)).toEqual([]);
  });
});

describe('template.yaml under AuthMode none and jwt', () => {
  const load = (AuthMode: string) =>
    buildPlatformModel(parseCfnTemplate(readFileSync(appTemplate, 'utf8')), {
      templatePath: appTemplate,
      parameterOverrides: { AuthMode },
      verifyEntryPoints: false,
      functionEnvironment: AuthMode === 'jwt' ? { JwtAuthorizerFunction: { JWT_SECRET: 's'.repeat(32) } } : {},
    });

  test('none: no authorizer function, and none on $connect or on any HTTP route', () => {
    const model = load('none');
    expect(model.functions.has('JwtAuthorizerFunction')).toBe(false);
    expect(model.webSocketApis[0]?.authorizer).toBeUndefined();
    expect(model.webSocketApis[0]?.routes.map((route) => route.routeKey)).toContain('$connect');
    expect(model.httpRoutes.filter((route) => route.authorizer !== undefined)).toEqual([]);
  });

  test('jwt: $connect (?token=) and every user route (Authorization) go through JwtAuthorizerFunction', () => {
    const model = load('jwt');
    expect(model.webSocketApis[0]?.authorizer).toEqual({
      functionId: 'JwtAuthorizerFunction',
      identitySource: ['route.request.querystring.token'],
    });
    // Public holidays are public data: their routes take no caller, whatever AuthMode (template.yaml says why).
    const isHolidays = (route: { path: string }) => route.path.startsWith('/holidays');
    const userRoutes = model.httpRoutes.filter(
      (route) => route.functionId !== 'ItemsApiFunction' && !isHolidays(route),
    );
    expect(userRoutes.length).toBeGreaterThan(10);
    expect(model.httpRoutes.filter(isHolidays).map((route) => route.authorizer)).toEqual([undefined, undefined]);
    for (const route of userRoutes) {
      expect(route.authorizer).toEqual({
        logicalId: 'HttpJwtAuthorizer',
        functionId: 'JwtAuthorizerFunction',
        identitySource: ['$request.header.Authorization'],
        payloadFormatVersion: '2.0',
        enableSimpleResponses: true,
      });
    }
    expect(model.httpRoutes.filter((route) => route.functionId === 'ItemsApiFunction' && route.authorizer)).toEqual([]);
    expect(model.functions.get('JwtAuthorizerFunction')?.environment).toMatchObject({
      JWT_SECRET: 's'.repeat(32),
      JWT_SECRET_ARN: '',
      JWT_USER_ID_CLAIM: 'sub',
    });
  });
});
