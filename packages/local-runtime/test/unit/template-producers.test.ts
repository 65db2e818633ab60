import { loadPlatformModel } from '../../src/template';
import { appTemplate as realTemplate } from '../helpers/paths';
import { recordingLogger } from '../helpers/recording-logger';
import { errorOf, modelOf, rawHttpApiRoute } from '../helpers/template-models';

const FN = `
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../functions
      Handler: echo.handler
      Runtime: nodejs22.x`;

describe('the producers of the real template.yaml', () => {
  // The producers' handlers are being written elsewhere; the model's shape does not depend on them.
  const load = (parameterOverrides: Record<string, string> = {}) =>
    loadPlatformModel({ templatePath: realTemplate, verifyEntryPoints: false, parameterOverrides });
  const model = load();

  test('the raw ApiGatewayV2 HTTP API gives four routes to ItemsApiFunction, with AWS_IAM authorization', () => {
    const routes = model.httpRoutes.filter((route) => route.functionId === 'ItemsApiFunction');
    expect(routes).toEqual(
      [
        { functionId: 'ItemsApiFunction', eventId: 'PostItemsRoute', method: 'POST', path: '/items' },
        { functionId: 'ItemsApiFunction', eventId: 'ListItemsRoute', method: 'GET', path: '/items/{key}' },
        { functionId: 'ItemsApiFunction', eventId: 'GetItemRoute', method: 'GET', path: '/items/{key}/{itemId}' },
        { functionId: 'ItemsApiFunction', eventId: 'DeleteItemRoute', method: 'DELETE', path: '/items/{key}/{itemId}' },
      ].map((route) => ({ ...route, payloadFormatVersion: '2.0', authorizationType: 'AWS_IAM' })),
    );
  });

  test('ItemsApiAuth=NONE turns the authorization off, and CORS origins (a CommaDelimitedList) resolve', () => {
    const open = load({ ItemsApiAuth: 'NONE', CorsAllowOrigins: 'https://a.example.com,https://b.example.com' });
    const routes = open.httpRoutes.filter((route) => route.functionId === 'ItemsApiFunction');
    expect(routes).toHaveLength(4);
    expect(routes.every((route) => route.authorizationType === 'NONE')).toBe(true);
  });

  test('the SQS, SNS and S3 events, and the bucket with its !Sub name', () => {
    expect(model.sqsEvents).toEqual([
      {
        functionId: 'SqsIngestFunction',
        eventId: 'IngestQueueMessages',
        queueLogicalId: 'IngestQueue',
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        reportBatchItemFailures: true,
        enabled: true,
      },
    ]);
    expect(model.snsEvents).toEqual([
      { functionId: 'SnsIngestFunction', eventId: 'IngestTopicMessages', topicLogicalId: 'IngestTopic' },
    ]);
    expect(model.s3Events).toEqual([
      {
        functionId: 'S3IngestFunction',
        eventId: 'IncomingObjects',
        bucketLogicalId: 'IngestBucket',
        bucketName: 'rtp-ingest-develop-123456789012-us-east-1',
        events: ['s3:ObjectCreated:*'],
        prefix: 'incoming/',
      },
    ]);
    expect(model.buckets).toEqual([
      { logicalId: 'IngestBucket', bucketName: 'rtp-ingest-develop-123456789012-us-east-1' },
    ]);
    expect(load({ Environment: 'prod' }).buckets[0]?.bucketName).toBe('rtp-ingest-prod-123456789012-us-east-1');
  });

  test('every function is pointed at the local S3 (path-style clients read AWS_ENDPOINT_URL_S3)', () => {
    expect(model.functions.get('S3IngestFunction')?.environment.AWS_ENDPOINT_URL_S3).toBe('http://localhost:4569');
    const moved = loadPlatformModel({
      templatePath: realTemplate,
      verifyEntryPoints: false,
      endpoints: { s3: 'http://127.0.0.1:9999' },
    });
    expect(moved.functions.get('S3IngestFunction')?.environment.AWS_ENDPOINT_URL_S3).toBe('http://127.0.0.1:9999');
  });

  test('the IoT topic rule: SQL with the key attribute substituted, the DynamoDBv2 action and the SQS error action', () => {
    expect(model.iotRules).toHaveLength(1);
    const [rule] = model.iotRules;
    expect(rule).toMatchObject({ logicalId: 'IotIngestRule', ruleName: 'rtp_items_develop', disabled: false });
    expect(rule?.sql).toContain("FROM 'rtp/items/#'");
    expect(rule?.sql).toContain('CASE isUndefined(realTimeItemKey) WHEN true THEN topic(3) ELSE realTimeItemKey END');
    expect(rule?.sql).not.toContain('${');
    expect(rule?.actions).toEqual([{ type: 'DynamoDBv2', tableName: 'RealTimeData-develop' }]);
    expect(rule?.errorAction).toEqual({
      type: 'Sqs',
      queueUrl: expect.stringMatching(/^http:\/\/localhost:9324\/123456789012\/local-IngestDeadLetterQueue-/),
      queueLogicalId: 'IngestDeadLetterQueue',
    });
    const vehicles = load({ RealTimeItemKey: 'vehicleId' }).iotRules[0];
    expect(vehicles?.sql).toContain('ELSE vehicleId END AS vehicleId');
  });
});

describe('HTTP APIs', () => {
  const rawApi = (integration: string, routeExtra = '') => `
Resources:
${FN}
${rawHttpApiRoute('ANY /things/{proxy+}', `      Target: !Join [/, [integrations, !Ref Integration]]\n${routeExtra}`)}
  Fallback:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/\${Integration}" }
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
${integration}`;

  test('an invocation-URI integration with payload 1.0, $default and ANY routes; AuthorizationType defaults to NONE', () => {
    const model = modelOf(
      rawApi(`      IntegrationType: AWS_PROXY
      PayloadFormatVersion: '1.0'
      IntegrationUri: !Sub arn:aws:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${Fn.Arn}/invocations`),
    );
    expect(model.httpRoutes).toEqual([
      {
        functionId: 'Fn',
        eventId: 'Route',
        method: 'ANY',
        path: '/things/{proxy+}',
        payloadFormatVersion: '1.0',
        authorizationType: 'NONE',
      },
      {
        functionId: 'Fn',
        eventId: 'Fallback',
        method: 'ANY',
        path: '$default',
        payloadFormatVersion: '1.0',
        authorizationType: 'NONE',
      },
    ]);
  });

  test('an HTTP_PROXY or MOCK integration stops the load naming the route and the fix', () => {
    for (const type of ['HTTP_PROXY', 'MOCK']) {
      const error = errorOf(() =>
        modelOf(rawApi(`      IntegrationType: ${type}\n      IntegrationUri: https://example.com/`)),
      );
      expect(error.resource).toBe('Route');
      expect(error.message).toMatch(
        new RegExp(
          `HTTP API Api, route Route \\(ANY /things/\\{proxy\\+\\}\\): .*IntegrationType "${type}".*AWS_PROXY`,
        ),
      );
    }
  });

  test('a route without a Target, a bad RouteKey or an unknown AuthorizationType is refused', () => {
    const integration = '      IntegrationType: AWS_PROXY\n      IntegrationUri: !GetAtt Fn.Arn';
    const noTarget = rawApi(integration).replace('      Target: !Join [/, [integrations, !Ref Integration]]\n', '');
    expect(errorOf(() => modelOf(noTarget)).message).toMatch(/route Route .*Target must be integrations\//);
    const badKey = rawApi(integration).replace('ANY /things/{proxy+}', 'things');
    expect(errorOf(() => modelOf(badKey)).message).toMatch(/RouteKey must be "\$default" or "METHOD \/path"/);
    const badAuth = rawApi(integration, '      AuthorizationType: COGNITO');
    expect(errorOf(() => modelOf(badAuth)).message).toMatch(/AuthorizationType "COGNITO" is not one of/);
  });

  test('SAM HttpApi events take their authorization from the event, the API default or its authorizers', () => {
    const model = modelOf(`
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        EnableIamAuthorizer: true
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt: { JwtConfiguration: { issuer: https://issuer.example.com, audience: [a] }, IdentitySource: $request.header.Authorization }
          Lambda: { FunctionArn: !GetAtt Fn.Arn, AuthorizerPayloadFormatVersion: '2.0' }
${FN}
      Events:
        Default: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /a, Method: GET } }
        Iam: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /b, Method: GET, Auth: { Authorizer: AWS_IAM } } }
        Open: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /c, Method: GET, Auth: { Authorizer: NONE } } }
        Custom: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /d, Method: GET, Auth: { Authorizer: Lambda } } }
        Implicit: { Type: HttpApi, Properties: { Path: /e, Method: GET } }`);
    expect(Object.fromEntries(model.httpRoutes.map((r) => [r.eventId, r.authorizationType]))).toEqual({
      Default: 'JWT',
      Iam: 'AWS_IAM',
      Open: 'NONE',
      Custom: 'CUSTOM',
      Implicit: 'NONE',
    });
    const unknown = errorOf(() =>
      modelOf(`
Resources:
${FN}
      Events:
        Api: { Type: HttpApi, Properties: { Path: /a, Method: GET, Auth: { Authorizer: Nope } } }`),
    );
    expect(unknown.message).toMatch(/authorizer "Nope" is not in ServerlessHttpApi's Auth.Authorizers/);
  });
});

describe('SQS, SNS and S3 events, buckets and topic rules', () => {
  test('S3 events: Events as a list, prefix and suffix rules (any case), a generated DNS-safe bucket name', () => {
    const model = modelOf(
      `
Resources:
  Uploads:
    Type: AWS::S3::Bucket
${FN}
      Events:
        Csv:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: [s3:ObjectCreated:Put, s3:ObjectCreated:CompleteMultipartUpload]
            Filter: { S3Key: { Rules: [{ Name: Prefix, Value: in/ }, { Name: suffix, Value: .csv }] } }
        Queue: { Type: SQS, Properties: { Queue: !GetAtt Q.Arn } }
        Topic: { Type: SNS, Properties: { Topic: !Ref T } }
  Q:
    Type: AWS::SQS::Queue
  T:
    Type: AWS::SNS::Topic`,
      { stackName: 'My_Stack' },
    );
    const bucketName = model.buckets[0]?.bucketName ?? '';
    expect(bucketName).toMatch(/^my-stack-uploads-[a-z0-9]{12}$/);
    expect(model.s3Events).toEqual([
      {
        functionId: 'Fn',
        eventId: 'Csv',
        bucketLogicalId: 'Uploads',
        bucketName,
        events: ['s3:ObjectCreated:Put', 's3:ObjectCreated:CompleteMultipartUpload'],
        prefix: 'in/',
        suffix: '.csv',
      },
    ]);
    expect(model.sqsEvents).toEqual([
      {
        functionId: 'Fn',
        eventId: 'Queue',
        queueLogicalId: 'Q',
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        reportBatchItemFailures: false,
        enabled: true,
      },
    ]);
    expect(model.snsEvents).toEqual([{ functionId: 'Fn', eventId: 'Topic', topicLogicalId: 'T' }]);
  });

  test('an S3 event on a bucket outside the template, or an invalid BucketName, stops the load', () => {
    const external = errorOf(() =>
      modelOf(`
Resources:
${FN}
      Events:
        Up: { Type: S3, Properties: { Bucket: some-bucket, Events: s3:ObjectCreated:* } }`),
    );
    expect(external.message).toMatch(/event Up \(S3\): Bucket must be !Ref <Bucket> of an AWS::S3::Bucket/);
    const invalid = errorOf(() =>
      modelOf(`
Resources:
  B:
    Type: AWS::S3::Bucket
    Properties: { BucketName: Not_Valid }`),
    );
    expect(invalid.resource).toBe('B');
    expect(invalid.message).toMatch(/BucketName "Not_Valid" is not a valid S3 bucket name/);
  });

  test('SQS and SNS events on queues and topics of other stacks are skipped with a warning', () => {
    const logger = recordingLogger();
    const model = modelOf(
      `
Resources:
${FN}
      Events:
        Q: { Type: SQS, Properties: { Queue: arn:aws:sqs:us-east-1:123456789012:elsewhere, BatchSize: 5 } }
        T: { Type: SNS, Properties: { Topic: arn:aws:sns:us-east-1:123456789012:elsewhere } }`,
      { logger },
    );
    expect(model.sqsEvents).toEqual([]);
    expect(model.snsEvents).toEqual([]);
    expect(logger.messages('warn').join('\n')).toMatch(
      /event Q \(SQS\): Queue .*elsewhere.* is not a queue of this template/,
    );
    expect(logger.messages('warn').join('\n')).toMatch(
      /event T \(SNS\): Topic .*elsewhere.* is not a topic of this template/,
    );
  });

  test('topic rules: Lambda and unsupported actions, a generated rule name, RuleDisabled as a string', () => {
    const model = modelOf(`
Resources:
${FN}
  Rule:
    Type: AWS::IoT::TopicRule
    Properties:
      TopicRulePayload:
        Sql: !Sub "SELECT * FROM 'devices/\${AWS::Region}/#'"
        RuleDisabled: 'true'
        Actions:
          - Lambda: { FunctionArn: !GetAtt Fn.Arn }
          - Kinesis: { StreamName: s, RoleArn: arn:aws:iam::1:role/r }
        ErrorAction:
          Sqs: { QueueUrl: https://sqs.us-east-1.amazonaws.com/1/other, RoleArn: arn:aws:iam::1:role/r }`);
    expect(model.iotRules).toEqual([
      {
        logicalId: 'Rule',
        ruleName: 'local_Rule',
        sql: "SELECT * FROM 'devices/us-east-1/#'",
        disabled: true,
        actions: [
          { type: 'Lambda', functionId: 'Fn' },
          { type: 'Unsupported', name: 'Kinesis' },
        ],
        errorAction: { type: 'Sqs', queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/other' },
      },
    ]);
    const badLambda = errorOf(() =>
      modelOf(`
Resources:
  Rule:
    Type: AWS::IoT::TopicRule
    Properties:
      TopicRulePayload: { Sql: "SELECT * FROM 'a'", Actions: [{ Lambda: { FunctionArn: arn:aws:lambda:us-east-1:1:function:x } }] }`),
    );
    expect(badLambda.message).toMatch(/Topic rule Rule, Actions\[0\]: Lambda.FunctionArn must be/);
  });
});
