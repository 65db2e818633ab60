import { join } from 'node:path';
import { buildPlatformModel, loadPlatformModel, parseCfnTemplate } from '../../src/template';
import { attributeDefinitions, globalIndex, keySchema } from '../helpers/key-schema';
import { appTemplate, fixtures, repoRoot } from '../helpers/paths';
import { recordingLogger } from '../helpers/recording-logger';
import { STREAM_DEFAULTS } from '../helpers/stream-fixtures';
import { errorOf, modelOf } from '../helpers/template-models';

const root = repoRoot;
const realTemplate = appTemplate;
const templates = join(fixtures, 'templates');

const fn = (extra = '') => `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../functions
      Handler: echo.handler
      Runtime: nodejs22.x
${extra}`;

describe('the real template.yaml', () => {
  // Handlers are written by other parts of the project; the model's shape does not depend on them.
  const model = loadPlatformModel({ templatePath: realTemplate, verifyEntryPoints: false });

  test('has its functions (the conditional ones only when enabled) with entry points, timeouts and memory', () => {
    // JwtAuthorizerFunction (AuthMode=jwt) and PresenceEventsFunction (PresenceEventBusName) are off by default.
    expect([...model.functions.keys()].sort()).toEqual([
      'CalendarApiFunction',
      'ChatApiFunction',
      'ChatMessageFunction',
      'ItemsApiFunction',
      'OnConnectLambdaFunction',
      'OnDisconnectLambdaFunction',
      'OnMessageLambdaFunction',
      'OnReceiveRealTimeItem',
      'PresenceApiFunction',
      'PresenceSweepFunction',
      'S3IngestFunction',
      'SnsIngestFunction',
      'SqsIngestFunction',
    ]);
    const enabled = loadPlatformModel({
      templatePath: realTemplate,
      verifyEntryPoints: false,
      parameterOverrides: { AuthMode: 'jwt', PresenceEventBusName: 'presence' },
    });
    expect(enabled.functions.has('JwtAuthorizerFunction')).toBe(true);
    expect(enabled.functions.has('PresenceEventsFunction')).toBe(true);
    const connect = model.functions.get('OnConnectLambdaFunction');
    expect(connect).toMatchObject({
      handler: 'on-connect.handler',
      exportName: 'handler',
      entryPoint: join(root, 'src/handlers/on-connect.ts'),
      timeoutSeconds: 10,
      memoryMb: 256,
      runtime: 'nodejs22.x',
    });
    expect(model.functions.get('OnReceiveRealTimeItem')).toMatchObject({
      entryPoint: join(root, 'src/handlers/on-receive-real-time-item.ts'),
      timeoutSeconds: 60,
      memoryMb: 1024,
    });
  });

  test('resolves the environment to local values and points the SDKs at the local services', () => {
    const env = model.functions.get('OnMessageLambdaFunction')?.environment;
    expect(env).toMatchObject({
      TABLE_NAME: 'WebSocketConnectionManager-develop',
      DATA_TABLE_NAME: 'RealTimeData-develop',
      REAL_TIME_ITEM_KEY: 'realTimeItemKey',
      IS_QUERY_PARAM: 'true',
      CONNECTION_TTL_SECONDS: '7800',
      FANOUT_CONCURRENCY: '64',
      POWERTOOLS_SERVICE_NAME: 'real-time-platform',
      WS_ENDPOINT: 'http://localhost:3001/develop',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://localhost:8000',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'OnMessageLambdaFunction',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_LEVEL: 'INFO',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    expect(env?.AWS_ACCESS_KEY_ID).toMatch(/^[A-Za-z0-9]+$/);
    expect(env?.AWS_SECRET_ACCESS_KEY).toMatch(/^[A-Za-z0-9]+$/);
  });

  test('has both tables with keys, the GSI, the stream and TTL', () => {
    const keysOnly = { ProjectionType: 'KEYS_ONLY' } as const;
    expect(model.tables).toEqual([
      {
        logicalId: 'RealTimeDataTable',
        tableName: 'RealTimeData-develop',
        attributeDefinitions: attributeDefinitions({ realTimeItemKey: 'S', itemId: 'S', startsAt: 'S' }),
        keySchema: keySchema('realTimeItemKey', 'itemId'),
        globalSecondaryIndexes: [
          globalIndex('itemsByStart', ['realTimeItemKey', 'startsAt'], { ProjectionType: 'ALL' }),
        ],
        streamViewType: 'NEW_AND_OLD_IMAGES',
        ttlAttribute: 'expiresAt',
      },
      {
        logicalId: 'WebSocketConnectionManagerTable',
        tableName: 'WebSocketConnectionManager-develop',
        attributeDefinitions: attributeDefinitions({
          connectionId: 'S',
          realTimeItemKey: 'S',
          userId: 'S',
          sweepShard: 'S',
          lastSeenAt: 'N',
          tokenExpiresAt: 'N',
        }),
        keySchema: keySchema('connectionId', 'realTimeItemKey'),
        globalSecondaryIndexes: [
          globalIndex('subscribersByKey', ['realTimeItemKey', 'connectionId'], keysOnly),
          globalIndex('connectionsByUser', ['userId', 'connectionId'], keysOnly),
          globalIndex('silentConnections', ['sweepShard', 'lastSeenAt'], {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['userId'],
          }),
          globalIndex('expiringConnections', ['sweepShard', 'tokenExpiresAt'], keysOnly),
        ],
        ttlAttribute: 'expiresAt',
      },
    ]);
  });

  test('has the WebSocket API with its nine routes, stage develop and an AWS-looking id', () => {
    expect(model.webSocketApis).toHaveLength(1);
    const [api] = model.webSocketApis;
    expect(api).toMatchObject({
      logicalId: 'WebSocketApi',
      stage: 'develop',
      routeSelectionExpression: '$request.body.action',
    });
    expect(api?.apiId).toMatch(/^[a-z0-9]{10}$/);
    expect(api?.authorizer).toBeUndefined();
    expect(api?.routes).toEqual([
      { routeKey: '$connect', functionId: 'OnConnectLambdaFunction' },
      { routeKey: '$disconnect', functionId: 'OnDisconnectLambdaFunction' },
      { routeKey: '$default', functionId: 'OnMessageLambdaFunction' },
      { routeKey: 'subscribe', functionId: 'OnMessageLambdaFunction' },
      { routeKey: 'unsubscribe', functionId: 'OnMessageLambdaFunction' },
      { routeKey: 'heartbeat', functionId: 'OnMessageLambdaFunction' },
      { routeKey: 'update-presence', functionId: 'OnMessageLambdaFunction' },
      { routeKey: 'send-message', functionId: 'ChatMessageFunction' },
      { routeKey: 'read-messages', functionId: 'ChatMessageFunction' },
    ]);
    // AuthMode=jwt puts the JWT authorizer on $connect, with the token from the query string.
    const jwt = loadPlatformModel({
      templatePath: realTemplate,
      verifyEntryPoints: false,
      parameterOverrides: { AuthMode: 'jwt' },
    });
    expect(jwt.webSocketApis[0]?.authorizer).toEqual({
      functionId: 'JwtAuthorizerFunction',
      identitySource: ['route.request.querystring.token'],
    });
    // Deterministic: the same stack gives the same id on every start.
    expect(loadPlatformModel({ templatePath: realTemplate, verifyEntryPoints: false }).webSocketApis[0]?.apiId).toBe(
      api?.apiId,
    );
  });

  test('has the stream source with every setting, including the OnFailure queue', () => {
    expect(model.streamSources).toEqual([
      {
        functionId: 'OnReceiveRealTimeItem',
        eventId: 'RealTimeDataStream',
        tableLogicalId: 'RealTimeDataTable',
        tableName: 'RealTimeData-develop',
        startingPosition: 'LATEST',
        batchSize: 100,
        maximumBatchingWindowSeconds: 0,
        parallelizationFactor: 1,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: -1,
        maximumRecordAgeSeconds: 7200,
        reportBatchItemFailures: true,
        filterPatterns: [],
        onFailure: { type: 'SQS', destinationLogicalId: 'FanoutDeadLetterQueue' },
        enabled: true,
      },
    ]);
    expect(model.queues).toEqual(
      ['FanoutDeadLetterQueue', 'IngestQueue', 'IngestDeadLetterQueue'].map((logicalId) =>
        expect.objectContaining({
          logicalId,
          queueName: expect.stringMatching(new RegExp(`^local-${logicalId}-[A-Z0-9]{12}$`)),
        }),
      ),
    );
    // The settings the local SQS honours, from the template: the visibility timeout, retention and the redrive.
    const dlq = model.queues.find((q) => q.logicalId === 'IngestDeadLetterQueue');
    expect(model.queues.find((q) => q.logicalId === 'IngestQueue')).toMatchObject({
      visibilityTimeoutSeconds: 180,
      messageRetentionSeconds: 345_600,
      redrive: { deadLetterQueueName: dlq?.queueName, maxReceiveCount: 5 },
    });
    expect(dlq).toMatchObject({ visibilityTimeoutSeconds: 30, messageRetentionSeconds: 1_209_600 });
    expect(model.topics).toEqual([expect.objectContaining({ logicalId: 'IngestTopic' })]);
    expect(model.asyncDeadLetterQueues).toEqual({
      SnsIngestFunction: dlq?.queueName,
      S3IngestFunction: dlq?.queueName,
    });
  });

  test('parameter overrides flow into table names, the stage and the environment', () => {
    const prod = loadPlatformModel({
      templatePath: realTemplate,
      verifyEntryPoints: false,
      parameterOverrides: { Environment: 'prod', RealTimeItemKey: 'vehicleId' },
      region: 'eu-west-1',
      endpoints: { dynamodb: 'http://127.0.0.1:9000', webSocketManagement: 'http://localhost:4001' },
    });
    expect(prod.parameters).toMatchObject({ Environment: 'prod', RealTimeItemKey: 'vehicleId' });
    expect(prod.tables[0]?.tableName).toBe('RealTimeData-prod');
    expect(prod.tables[0]?.keySchema[0]).toEqual({ AttributeName: 'vehicleId', KeyType: 'HASH' });
    expect(prod.webSocketApis[0]?.stage).toBe('prod');
    expect(prod.functions.get('OnConnectLambdaFunction')?.environment).toMatchObject({
      REAL_TIME_ITEM_KEY: 'vehicleId',
      WS_ENDPOINT: 'http://localhost:4001/prod',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-west-1',
    });
  });

  test('a tableNamePrefix renames every table, and every reference follows: environment, stream source', () => {
    const prefixed = loadPlatformModel({
      templatePath: realTemplate,
      verifyEntryPoints: false,
      tableNamePrefix: 't1-',
    });
    expect(prefixed.tables.map((table) => table.tableName).sort()).toEqual([
      't1-RealTimeData-develop',
      't1-WebSocketConnectionManager-develop',
    ]);
    expect(prefixed.functions.get('OnConnectLambdaFunction')?.environment).toMatchObject({
      TABLE_NAME: 't1-WebSocketConnectionManager-develop',
      DATA_TABLE_NAME: 't1-RealTimeData-develop',
    });
    expect(prefixed.streamSources[0]?.tableName).toBe('t1-RealTimeData-develop');
  });

  test('env.json overrides the template, and the local endpoints override env.json', () => {
    const logger = recordingLogger();
    const withEnv = loadPlatformModel({
      templatePath: realTemplate,
      verifyEntryPoints: false,
      envJsonPath: join(templates, 'real-env.json'),
      extraEnvironment: { EXTRA: 'added-by-caller' },
      logger,
    });
    expect(withEnv.functions.get('OnConnectLambdaFunction')?.environment).toMatchObject({
      TABLE_NAME: 'custom-connections',
      FANOUT_CONCURRENCY: '8',
      WS_ENDPOINT: 'http://localhost:3001/develop',
      EXTRA: 'added-by-caller',
    });
    expect(withEnv.functions.get('OnDisconnectLambdaFunction')?.environment).toMatchObject({
      TABLE_NAME: 'WebSocketConnectionManager-develop',
      FANOUT_CONCURRENCY: '8',
    });
  });

  test('an AllowedValues violation names the parameter and its allowed values', () => {
    const error = errorOf(() =>
      loadPlatformModel({
        templatePath: realTemplate,
        verifyEntryPoints: false,
        parameterOverrides: { Environment: 'qa' },
      }),
    );
    expect(error.resource).toBe('Environment');
    expect(error.message).toMatch(/Environment="qa" is not one of the AllowedValues \(develop, staging, prod\)/);
  });

  test('a missing handler file makes that function unavailable, named with the reason; the rest loads', () => {
    // verifyEntryPoints defaults to true; here the entry of each function is checked on disk.
    const model = buildPlatformModel(parseCfnTemplate(fn().replace('echo.handler', 'missing-file.handler')), {
      templatePath: join(templates, 'inline.yaml'),
    });
    expect(model.functions.get('Fn')?.unavailable).toMatch(
      /^Function Fn cannot run locally: no source file for Handler module .*missing-file/,
    );
    expect(model.skipped).toEqual([
      { id: 'Fn', type: 'AWS::Serverless::Function', reason: expect.stringMatching(/^no source file/) },
    ]);
  });
});

describe('intrinsic functions, conditions and parameters (fixture)', () => {
  const load = (parameterOverrides: Record<string, string> = {}) =>
    loadPlatformModel({
      templatePath: join(templates, 'intrinsics.yaml'),
      stackName: 'demo',
      accountId: '000000000000',
      region: 'eu-central-1',
      parameterOverrides,
    });

  test('resolves Sub, Join, Select, Split, If, FindInMap, Base64, GetAZs, GetAtt and pseudo parameters', () => {
    const model = load();
    const worker = model.functions.get('Worker');
    const tableName = model.tables[0]?.tableName;
    expect(tableName).toMatch(/^demo-Things-[A-Z0-9]{12}$/);
    expect(worker?.memoryMb).toBe(256);
    expect(worker?.timeoutSeconds).toBe(7);
    expect(worker?.external).toEqual(['@aws-sdk/*']);
    expect(worker?.entryPoint).toBe(join(fixtures, 'functions/echo.ts'));
    expect(worker?.environment).toMatchObject({
      FROM_GLOBALS: 'yes',
      OVERRIDDEN: 'function',
      SUB: `demo-dev-${tableName}`,
      SUB_LIST: `${tableName}@eu-central-1`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub's ${!Literal} escape yields this literal text.
      SUB_ESCAPED: '${Literal}-000000000000',
      SUB_ATTR: `arn:aws:dynamodb:eu-central-1:000000000000:table/${tableName}`,
      JOINED: 'aws:amazonaws.com:b',
      SPLIT_SELECT: 'z',
      IF_PROD: 'dev-value',
      ANY: 'true',
      BASE64: 'aGVsbG8=',
      AZ: 'eu-central-1a',
      ARN_LIST_FORM: expect.stringMatching(/^demo-Topic-/),
      STREAM: `arn:aws:dynamodb:eu-central-1:000000000000:table/${tableName}/stream/1970-01-01T00:00:00.000`,
      LEVEL: 'DEBUG',
      RETRIES: '3',
      QUEUE: 'none',
      SELF_NAME: 'Worker',
    });
    expect(worker?.environment).not.toHaveProperty('MAYBE');
    expect(model.queues).toEqual([]);
  });

  test('conditions follow parameter overrides: the prod-only queue appears, NoValue branches fill in', () => {
    const model = load({ Stage: 'prod', Retries: '0' });
    const env = model.functions.get('Worker')?.environment;
    expect(env).toMatchObject({ IF_PROD: 'prod-value', MAYBE: 'present', ANY: 'true', LEVEL: 'WARN' });
    expect(env?.QUEUE).toMatch(/^http:\/\/localhost:9324\/000000000000\/demo-ProdOnlyQueue-/);
    expect(model.functions.get('Worker')?.memoryMb).toBe(1024);
    expect(model.queues.map((q) => q.logicalId)).toEqual(['ProdOnlyQueue']);
    expect(load({ Retries: '0' }).functions.get('Worker')?.environment.ANY).toBe('false');
  });

  test('finds stream, HTTP and schedule events with their defaults, and skips an SQS queue of another stack', () => {
    const logger = recordingLogger();
    const model = loadPlatformModel({ templatePath: join(templates, 'intrinsics.yaml'), logger });
    expect(model.streamSources).toEqual([
      expect.objectContaining({
        functionId: 'Worker',
        eventId: 'Changes',
        tableLogicalId: 'Things',
        ...STREAM_DEFAULTS,
        filterPatterns: ['{"eventName":["INSERT"]}'],
      }),
    ]);
    expect(model.streamSources[0]?.onFailure).toBeUndefined();
    expect(model.httpRoutes).toEqual([
      {
        functionId: 'Worker',
        eventId: 'Api',
        method: 'GET',
        path: '/things/{id}',
        payloadFormatVersion: '2.0',
        authorizationType: 'NONE',
      },
      {
        functionId: 'Worker',
        eventId: 'Catchall',
        method: 'ANY',
        path: '$default',
        payloadFormatVersion: '2.0',
        authorizationType: 'NONE',
      },
    ]);
    expect(model.schedules).toEqual([
      { functionId: 'Worker', eventId: 'Tick', expression: 'rate(1 minute)', input: { tick: true }, enabled: true },
      { functionId: 'Worker', eventId: 'TickV2', expression: 'cron(0/5 * * * ? *)', enabled: false },
    ]);
    expect(model.sqsEvents).toEqual([]);
    expect(logger.messages('warn').join('\n')).toMatch(
      /Worker, event FromQueue \(SQS\): Queue .*elsewhere.* is not a queue/,
    );
  });

  test('env.json applies only to variables the template declares (as SAM does) and says what it ignored', () => {
    const logger = recordingLogger();
    const model = loadPlatformModel({
      templatePath: join(templates, 'intrinsics.yaml'),
      envJsonPath: join(templates, 'env.json'),
      logger,
    });
    const env = model.functions.get('Worker')?.environment;
    expect(env).toMatchObject({ OVERRIDDEN: 'from-env-json-parameters', FROM_GLOBALS: 'from-env-json' });
    expect(env).not.toHaveProperty('NOT_IN_TEMPLATE');
    expect(env).not.toHaveProperty('WS_ENDPOINT');
    expect(logger.messages('warn').join('\n')).toMatch(/NOT_IN_TEMPLATE ignored for Worker/);
  });

  test('rejects parameter values outside their constraints and unknown overrides', () => {
    expect(errorOf(() => load({ Stage: 'qa' })).message).toMatch(/Stage="qa" is not one of the AllowedValues/);
    expect(errorOf(() => load({ Retries: '11' })).message).toMatch(/Retries="11" is above MaxValue 10/);
    expect(errorOf(() => load({ Retries: 'many' })).message).toMatch(/is not a number/);
    expect(errorOf(() => load({ Nope: 'x' })).message).toMatch(/Parameter override Nope does not exist/);
  });
});

describe('template errors that stop the start', () => {
  test('unsupported parts are skipped and listed — event types, resource types, raw Lambda functions, other runtimes — and the rest loads', () => {
    const model = modelOf(
      `${fn(`      Events:
        Records:
          Type: Kinesis
          Properties: { Stream: arn:aws:kinesis:us-east-1:1:stream/x, StartingPosition: LATEST }`)}
  Stream:
    Type: AWS::Kinesis::Stream
    Properties: { ShardCount: 1 }
  Role:
    Type: AWS::IAM::Role
    Properties: { AssumeRolePolicyDocument: {} }
  Raw:
    Type: AWS::Lambda::Function
    Properties: { Handler: index.handler, Runtime: nodejs22.x, Code: { ZipFile: x } }
  Py:
    Type: AWS::Serverless::Function
    Properties: { CodeUri: ../functions, Handler: app.handler, Runtime: python3.12 }
  Gone:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { EntryPoints: [src/nowhere.ts] } }
    Properties: { CodeUri: ., Handler: nowhere.handler, Runtime: nodejs22.x }`,
    );
    expect(model.functions.get('Fn')?.unavailable).toBeUndefined();
    expect(model.skipped).toEqual([
      {
        id: 'Fn.Events.Records',
        type: 'Kinesis event',
        reason: expect.stringMatching(/^not emulated locally \(supported: DynamoDB, HttpApi/),
      },
      { id: 'Stream', type: 'AWS::Kinesis::Stream', reason: 'not emulated locally' },
      {
        id: 'Raw',
        type: 'AWS::Lambda::Function',
        reason: expect.stringMatching(/runs AWS::Serverless::Function only/),
      },
      {
        id: 'Py',
        type: 'AWS::Serverless::Function',
        reason: expect.stringMatching(/^Runtime "python3\.12"; the local runtime runs Node\.js functions only/),
      },
      {
        id: 'Gone',
        type: 'AWS::Serverless::Function',
        reason: expect.stringMatching(/its entry point .*src\/nowhere\.ts .*does not exist/),
      },
    ]);
    expect(model.functions.get('Py')?.unavailable).toMatch(/^Function Py cannot run locally: Runtime "python3\.12"/);
  });

  test('an unsupported WebSocket integration names the API and the fix', () => {
    const yaml = `
Resources:
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties: { Name: ws, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action }
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: { ApiId: !Ref Ws, RouteKey: $default, Target: !Sub "integrations/\${Mock}" }
  Mock:
    Type: AWS::ApiGatewayV2::Integration
    Properties: { ApiId: !Ref Ws, IntegrationType: MOCK }
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: { ApiId: !Ref Ws, StageName: s }`;
    const error = errorOf(() => modelOf(yaml));
    expect(error.resource).toBe('Ws');
    expect(error.message).toMatch(
      /^template\.yaml:\d+: WebSocket API Ws: route \$default: integration Mock has IntegrationType "MOCK".*AWS_PROXY/,
    );

    const notAFunction = errorOf(() =>
      modelOf(
        yaml.replace('IntegrationType: MOCK', 'IntegrationType: AWS_PROXY, IntegrationUri: https://example.com/'),
      ),
    );
    expect(notAFunction.message).toContain(
      'integration Mock has IntegrationUri "https://example.com/", which is not a function of this template. Use !GetAtt <Function>.Arn.',
    );
  });

  test('a stream without StartingPosition and Fn::ImportValue are explained', () => {
    const stream = `
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{ AttributeName: k, AttributeType: S }]
      KeySchema: [{ AttributeName: k, KeyType: HASH }]
      StreamSpecification: { StreamViewType: NEW_IMAGE }`;
    const noStart = `${fn(`      Events:
        S:
          Type: DynamoDB
          Properties: { Stream: !GetAtt T.StreamArn }`)}${stream}`;
    expect(errorOf(() => modelOf(noStart)).message).toMatch(/event S \(DynamoDB\): StartingPosition is required/);
    const imported = fn(`      Environment:
        Variables:
          X: !ImportValue other-stack-export`);
    expect(errorOf(() => modelOf(imported)).message).toMatch(/imports an export of another stack/);
  });

  test('a template that is not YAML, or has no Resources, is refused with the file, the line and the reason', () => {
    expect(() => parseCfnTemplate('a: [', 'bad.yaml')).toThrow(
      /^bad\.yaml:1:5: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a \]$/,
    );
    const duplicate = 'Resources:\n  A:\n    Type: AWS::SQS::Queue\n  A:\n    Type: AWS::SNS::Topic\n';
    expect(() => parseCfnTemplate(duplicate, 'dup.yaml')).toThrow(
      /^dup\.yaml:4:3: not valid YAML: Map keys must be unique/,
    );
    // A resource the runtime cannot read is named with the line it starts on.
    const untyped = 'Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n  Broken:\n    Properties: {}\n';
    expect(
      errorOf(() => buildPlatformModel(parseCfnTemplate(untyped, 'x.yaml'), { templatePath: 'x.yaml' })).message,
    ).toBe('x.yaml:4: Resources.Broken has no Type.');
    expect(() => parseCfnTemplate('Parameters: {}', 'empty.yaml')).toThrow(/empty\.yaml has no Resources/);
  });
});

describe('raw AWS::ApiGatewayV2 WebSocket resources (fixture)', () => {
  test('routes, integrations, the REQUEST authorizer and the stage become the WebSocket API model', () => {
    const model = loadPlatformModel({ templatePath: join(templates, 'raw-websocket.yaml') });
    expect(model.webSocketApis).toEqual([
      {
        logicalId: 'Api',
        apiId: expect.stringMatching(/^[a-z0-9]{10}$/),
        name: 'raw-ws',
        stage: 'live',
        routeSelectionExpression: '$request.body.type',
        routes: [{ routeKey: '$connect', functionId: 'Handler' }],
        authorizer: { functionId: 'Auth', identitySource: ['route.request.querystring.token'] },
      },
    ]);
    expect(model.functions.get('Handler')?.environment.WS_ENDPOINT).toBe('http://localhost:3001/live');
  });

  test('the SAM WebSocketApi Auth (CUSTOM) becomes the authorizer, and the stage defaults to "default"', () => {
    const model = modelOf(`
Resources:
  Ws:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      RouteSelectionExpression: $request.body.action
      Auth: { AuthType: CUSTOM, AuthArn: !GetAtt Authorizer.Arn, IdentitySource: [route.request.querystring.token] }
      Routes:
        $connect: { FunctionArn: !GetAtt Fn.Arn }
  Fn:
    Type: AWS::Serverless::Function
    Properties: { CodeUri: ../functions, Handler: echo.handler, Runtime: nodejs22.x }
  Authorizer:
    Type: AWS::Serverless::Function
    Properties: { CodeUri: ../functions, Handler: echo.handler, Runtime: nodejs22.x, FunctionName: my-authorizer }`);
    expect(model.webSocketApis[0]).toMatchObject({
      stage: 'default',
      routes: [{ routeKey: '$connect', functionId: 'Fn' }],
      authorizer: { functionId: 'Authorizer', identitySource: ['route.request.querystring.token'] },
    });
    expect(model.functions.get('Authorizer')).toMatchObject({
      functionName: 'my-authorizer',
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:my-authorizer',
    });
  });
});
