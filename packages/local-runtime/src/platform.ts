import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DEFAULT_REGION, LOCAL_ACCOUNT_ID } from './arns';
import { type DeadLetterSink, deadLetterSink } from './dead-letters';
import { localCredentials } from './dynamodb/dynamodb-local';
import { type DynamoDbStatus, type SupervisedDynamoDbLocal, superviseDynamoDbLocal } from './dynamodb/supervisor';
import { ensureTables } from './dynamodb/tables';
import { startTtlSweeper, TtlDeletionLog, ttlIdentityOf } from './dynamodb/ttl-sweeper';
import { startLocalEventBridge } from './eventbridge';
import { createFunctionRunner, type FunctionRunner } from './functions';
import { awsHostRoutes } from './functions/aws-hosts';
import { type RunningHttpApi, startHttpApi } from './http';
import { type InvocationObserver, observedInvoker } from './invocations';
import { startIotBroker } from './iot/broker';
import { type LocalMessaging, startLocalMessaging } from './messaging';
import { assertPortsFree, DEFAULT_HOST, freePort, loopbackOf, PORTS, publicUrl } from './ports';
import { startLocalS3 } from './s3';
import { type RunningSchedules, startSchedules } from './schedules';
import {
  type OnFailureDestination,
  type OnFailureMessage,
  type StreamEventSource,
  startStreamEventSource,
} from './streams';
import { loadPlatformModel } from './template';
import type { LocalLogger, PlatformModel, StreamSourceSpec } from './types';
import {
  type OpenConnection,
  startWebSocketGateway,
  type WebSocketGateway,
  type WebSocketGatewayLimits,
} from './websocket';

export interface LocalPlatformOptions {
  templatePath: string;
  /** SAM's env.json (per-function variables); skipped when absent. */
  envJsonPath?: string;
  parameterOverrides?: Record<string, string>;
  /**
   * Variables forced into single functions, by logical id, e.g. `{JwtAuthorizerFunction: {JWT_SECRET: '…'}}` for
   * AuthMode=jwt (on AWS the secret comes from Secrets Manager). They need not be declared in the template.
   */
  functionEnvironment?: Record<string, Record<string, string>>;
  /**
   * Source files that replace single functions' code, by logical id (tests only: e.g. a wrapper that injects faults
   * around the real handler). The file must export the template's handler name; the function keeps everything else
   * (environment, events, timeout), so the template itself stays what is deployed.
   */
  functionEntryPoints?: Record<string, string>;
  /** Interface the WebSocket and HTTP servers listen on (default 127.0.0.1). */
  host?: string;
  wsPort: number;
  httpPort: number;
  /** Port for DynamoDB Local; ignored with dynamodbEndpoint. */
  dynamodbPort: number;
  /** The local S3 (path-style) for the template's buckets; 0 picks a free port. */
  s3Port?: number;
  /** The local SQS and SNS (one endpoint) for the template's queues and topics; 0 picks a free port. */
  sqsPort?: number;
  /** The MQTT broker that applies the template's IoT topic rules; 0 picks a free port. */
  mqttPort?: number;
  /**
   * The local EventBridge (PutEvents, logged), started when a function publishes events (EVENT_BUS_NAME, e.g.
   * PresenceEventsFunction with PresenceEventBusName set); 0 (the default) picks a free port.
   */
  eventBridgePort?: number;
  /** Virtual clock speed of the schedules, for tests and demos: 60 runs `rate(1 minute)` every second. Default 1. */
  scheduleSpeed?: number;
  /** Use a DynamoDB that already runs (e.g. the tests' shared DynamoDB Local) instead of starting one. */
  dynamodbEndpoint?: string;
  /** Keep DynamoDB Local's data in this folder (in memory otherwise). */
  persistDir?: string;
  /** Start DynamoDB Local's jar as shipped (every interface) instead of the loopback launcher (tests). */
  plainDynamoDbLaunch?: boolean;
  /** How long DynamoDB Local's JVM may take to answer, at start and after a restart (default 30 s). */
  dynamodbStartTimeoutMs?: number;
  region?: string;
  accountId?: string;
  stackName?: string;
  /** Put before every table's name, so that runtimes sharing a DynamoDB Local keep apart (template/load-model.ts). */
  tableNamePrefix?: string;
  /** Shorter WebSocket limits, for tests. */
  limits?: Partial<WebSocketGatewayLimits>;
  /**
   * How often expired items (the template's TimeToLiveSpecification) are deleted; default 10 s, 0 = never. DynamoDB
   * Local does not apply TTL itself (dynamodb/ttl-sweeper.ts).
   */
  ttlSweepIntervalMs?: number;
  /** Drop the functions' own output (console, Powertools). */
  quietFunctions?: boolean;
  /** Told of every function invocation and its outcome (the console's live tail of the fan-out). */
  onInvocation?: InvocationObserver;
  /** Told of every line a function writes to stdout (its log), even with quietFunctions. */
  onFunctionLog?: (functionId: string, line: string) => void;
  /** Where local data goes: bundles, dead letters (default .local). */
  workDir?: string;
  /**
   * Where bundles are kept for the next start to reuse while their sources are unchanged (functions/build-cache.ts);
   * `npm start` uses `<workDir>/build-cache`. Default: none, every start bundles.
   */
  buildCacheDir?: string;
  logger: LocalLogger;
}

export interface LocalPlatform {
  model: PlatformModel;
  urls: {
    webSocket: string;
    management: string;
    httpApi: string;
    dynamodb: string;
    s3?: string;
    sqs?: string;
    mqtt?: string;
    eventBridge?: string;
  };
  /**
   * Where dead letters (stream OnFailure, failed S3 events, IoT error actions) are appended, one JSON document a line,
   * by destination, when the destination is not a queue of the template (those go to the local SQS).
   */
  deadLetterDir: string;
  /** Where dead letters go; also the ones sent to the local SQS, which the console lists. */
  deadLetters: DeadLetterSink;
  runner: FunctionRunner;
  /** The running stream event sources; replaced in place when a DynamoDB Local restart changes a stream ARN. */
  streams: StreamEventSource[];
  /** The WebSocket connections open now (the console's Overview). */
  connections(): OpenConnection[];
  /** The DynamoDB Local this platform started and supervises (absent with dynamodbEndpoint). */
  dynamodb?: SupervisedDynamoDbLocal;
  /** What GET /health answers: every part, and `status: "degraded"` (HTTP 503) when one is down. */
  health(): PlatformHealth;
  startupMs: number;
  /** Closes sockets with 1001, stops event sources and schedules, the functions and DynamoDB Local. */
  stop(): Promise<void>;
}

/** The GET /health document. */
export interface PlatformHealth {
  status: 'ok' | 'degraded';
  /** Parts that are down, by name (e.g. "dynamodb", "stream OnReceiveRealTimeItem.RealTimeDataStream"). */
  down: string[];
  dynamodb: DynamoDbStatus | { state: 'external'; endpoint: string };
  connections: number;
  streams: ({ function: string; event: string } & ReturnType<StreamEventSource['stats']>)[];
}

/**
 * Starts the whole platform of a template on this machine: DynamoDB Local and the tables, the functions, the
 * WebSocket API with @connections, the DynamoDB Streams event sources, the HTTP API and the schedules.
 */
export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const started = performance.now();
  const { logger } = options;
  const host = options.host ?? DEFAULT_HOST;
  const region = options.region ?? DEFAULT_REGION;
  const accountId = options.accountId ?? LOCAL_ACCOUNT_ID;
  const workDir = resolve(options.workDir ?? '.local');
  const stoppers: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (error) {
        logger.warn(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    stoppers.length = 0;
  };

  try {
    const dynamodbEndpoint = options.dynamodbEndpoint ?? publicUrl('127.0.0.1', options.dynamodbPort);
    // A free port is picked now when 0 is asked for: the functions' AWS_ENDPOINT_URL_S3 must name the real one.
    const s3Port = options.s3Port === 0 ? await freePort(host) : (options.s3Port ?? PORTS.s3.defaultPort);
    const sqsPort = options.sqsPort === 0 ? await freePort(host) : (options.sqsPort ?? PORTS.sqs.defaultPort);
    const mqttPort = options.mqttPort ?? PORTS.mqtt.defaultPort;
    const eventBridgePort = options.eventBridgePort ? options.eventBridgePort : await freePort(host);
    const model = loadPlatformModel({
      templatePath: options.templatePath,
      envJsonPath: options.envJsonPath,
      parameterOverrides: options.parameterOverrides,
      functionEnvironment: options.functionEnvironment,
      region,
      accountId,
      stackName: options.stackName,
      tableNamePrefix: options.tableNamePrefix,
      endpoints: {
        dynamodb: dynamodbEndpoint,
        webSocketManagement: publicUrl(host, options.wsPort),
        s3: publicUrl(host, s3Port),
        eventbridge: publicUrl(host, eventBridgePort),
        sqs: publicUrl(host, sqsPort),
      },
      logger,
    });
    replaceEntryPoints(model, options.functionEntryPoints ?? {});
    for (const part of model.skipped) logger.warn(`not run locally: ${part.id} (${part.type}): ${part.reason}`);
    // Only the services this template needs: a template without IoT rules must not fail on a mosquitto on 1883.
    await assertPortsFree([
      { host, port: options.wsPort, setting: PORTS.webSocket },
      { host, port: options.httpPort, setting: PORTS.httpApi },
      ...(model.buckets.length > 0 ? [{ host, port: s3Port, setting: PORTS.s3 }] : []),
      ...(model.iotRules.length > 0 ? [{ host, port: mqttPort, setting: PORTS.mqtt }] : []),
      ...(hasMessaging(model) ? [{ host, port: sqsPort, setting: PORTS.sqs }] : []),
    ]);

    // The functions bundle while DynamoDB Local's JVM starts: both take a moment, neither needs the other.
    const runnerPromise = createFunctionRunner(model.functions.values(), {
      logger,
      quiet: options.quietFunctions,
      ...(options.onFunctionLog ? { onOutputLine: options.onFunctionLog } : {}),
      buildDir: join(workDir, 'build'),
      ...(options.buildCacheDir === undefined ? {} : { buildCacheDir: options.buildCacheDir }),
      // A function's requests to AWS hosts (execute-api URLs, SDK v2 clients) reach these instead of AWS.
      awsRoutes: awsHostRoutes(model, {
        webSocket: publicUrl(loopbackOf(host), options.wsPort),
        httpApi: publicUrl(loopbackOf(host), options.httpPort),
        services: {
          dynamodb: dynamodbEndpoint,
          ...(model.buckets.length > 0 ? { s3: publicUrl(loopbackOf(host), s3Port) } : {}),
          events: publicUrl(loopbackOf(host), eventBridgePort),
          ...(hasMessaging(model)
            ? { sqs: publicUrl(loopbackOf(host), sqsPort), sns: publicUrl(loopbackOf(host), sqsPort) }
            : {}),
        },
      }),
    });
    // Closed last (stoppers run in reverse): the gateway's $disconnect invocations need the functions.
    stoppers.push(async () => (await runnerPromise.catch(() => undefined))?.close());
    let dynamodb: SupervisedDynamoDbLocal | undefined;
    // Set once the services exist: a restart during start-up has nothing to recover yet.
    let recover: (dataLost: boolean) => Promise<void> = async () => undefined;
    if (!options.dynamodbEndpoint) {
      dynamodb = await superviseDynamoDbLocal({
        port: options.dynamodbPort,
        persistDir: options.persistDir,
        plainLaunch: options.plainDynamoDbLaunch,
        ...(options.dynamodbStartTimeoutMs === undefined ? {} : { startTimeoutMs: options.dynamodbStartTimeoutMs }),
        logger,
        onRestart: ({ dataLost }) => recover(dataLost),
      });
      stoppers.push(() => dynamodb?.stop());
      if (!dynamodb.status().loopback) {
        logger.warn(
          `DynamoDB Local listens on every interface: ${dynamodb.status().exposedBecause}. Anyone who can reach ` +
            `port ${options.dynamodbPort} of this machine can read and write the tables with any credentials.`,
        );
      }
    }
    const runner = await runnerPromise;
    const invoker = options.onInvocation ? observedInvoker(runner, options.onInvocation) : runner;

    const clientConfig = { endpoint: dynamodbEndpoint, region, credentials: localCredentials };
    const ddb = new DynamoDBClient(clientConfig);
    const streamsClient = new DynamoDBStreamsClient(clientConfig);
    stoppers.push(() => {
      ddb.destroy();
      streamsClient.destroy();
    });
    const tables = await ensureTables(ddb, model.tables, logger);
    const ttlDeletions = new TtlDeletionLog();
    const ttlSweeper = startTtlSweeper({
      client: ddb,
      tables: model.tables,
      log: ttlDeletions,
      logger,
      intervalMs: options.ttlSweepIntervalMs,
    });
    stoppers.push(() => ttlSweeper.stop());

    // The local SQS starts before anything that can fail asynchronously: dead letters go to its queues.
    let messaging: LocalMessaging | undefined;
    if (hasMessaging(model)) {
      messaging = await startLocalMessaging({
        model,
        host,
        port: sqsPort,
        baseUrl: publicUrl(host, sqsPort),
        invoker,
        logger,
      });
      const running = messaging;
      stoppers.push(() => running.close());
    }
    const deadLetters = deadLetterSink({
      dir: join(workDir, 'dead-letters'),
      queues: () => messaging?.queues,
      queueNames: Object.fromEntries(model.queues.map((queue) => [queue.logicalId, queue.queueName])),
    });
    const onFailure = async (destination: OnFailureDestination, message: OnFailureMessage) => {
      const name = destination?.destinationLogicalId ?? 'no-destination';
      const where = await deadLetters.send({
        ...(destination?.type === 'SQS' ? { queue: { logicalId: destination.destinationLogicalId } } : {}),
        fileName: name,
        body: message,
      });
      logger.warn(
        `stream batch discarded (${message.requestContext.condition}): ${message.DDBStreamBatchInfo.batchSize} record(s) ` +
          `${message.DDBStreamBatchInfo.startSequenceNumber}…${message.DDBStreamBatchInfo.endSequenceNumber}; metadata sent to ${name} (${where})`,
      );
    };

    const gateways: WebSocketGateway[] = [];
    for (const api of model.webSocketApis) {
      if (gateways.length > 0) {
        logger.warn(`WebSocket API ${api.logicalId} not served: the local runtime serves one WebSocket API per port`);
        continue;
      }
      const gateway = await startWebSocketGateway({
        host,
        port: options.wsPort,
        api,
        region,
        accountId,
        invoker,
        logger,
        limits: options.limits,
      });
      gateways.push(gateway);
      // Registered after the runner's close, so it runs before it: sockets close (and $disconnect runs) first.
      stoppers.push(() => gateway.close());
    }

    const streams: StreamEventSource[] = [];
    const startStream = (spec: StreamSourceSpec, streamArn: string) =>
      startStreamEventSource({
        spec,
        streamArn,
        streamsClient,
        region,
        accountId,
        invoker,
        logger,
        onFailure,
        functionArn: model.functions.get(spec.functionId)?.functionArn,
        userIdentityOf: ttlIdentityOf(
          ttlDeletions,
          model.tables.find((t) => t.logicalId === spec.tableLogicalId),
        ),
      });
    for (const spec of model.streamSources) {
      if (!spec.enabled) continue;
      const streamArn = tables.get(spec.tableLogicalId)?.latestStreamArn;
      if (!streamArn) {
        logger.warn(
          `${spec.functionId}.${spec.eventId}: table ${spec.tableName} has no stream; event source not started`,
        );
        continue;
      }
      streams.push(startStream(spec, streamArn));
    }
    stoppers.push(async () => {
      await Promise.all(streams.map((source) => source.stop()));
    });

    // After DynamoDB Local restarts: tables back (in memory they are gone), every stream resumed. With --persist the
    // stream ARNs stay and each source carries on from its checkpoint; a new ARN (an in-memory restart, or a table
    // that had to be created again) is a new stream, read from its beginning so nothing written since is missed.
    recover = async (dataLost) => {
      const found = await ensureTables(ddb, model.tables, logger);
      for (const [index, source] of [...streams.entries()]) {
        const spec = model.streamSources.find(
          (s) => s.functionId === source.functionId && s.eventId === source.eventId,
        );
        const streamArn = spec ? found.get(spec.tableLogicalId)?.latestStreamArn : undefined;
        if (!spec || !streamArn || streamArn === source.streamArn) continue;
        await source.stop();
        streams[index] = startStream({ ...spec, startingPosition: 'TRIM_HORIZON' }, streamArn);
        logger.warn(
          `${spec.functionId}.${spec.eventId}: the table's stream changed; reading ${streamArn} from its start`,
        );
      }
      if (dataLost) {
        const closed = gateways.reduce((sum, g) => sum + g.closeAll(1012, 'Service Restart'), 0);
        if (closed > 0) logger.warn(`closed ${closed} WebSocket(s) with 1012 so their clients reconnect`);
      }
    };

    const schedules: RunningSchedules = startSchedules({
      speed: options.scheduleSpeed,
      schedules: model.schedules,
      invoker,
      logger,
      region,
      accountId,
      stackName: model.stackName,
    });
    stoppers.push(() => schedules.stop());

    const httpApi: RunningHttpApi = await startHttpApi({
      host,
      port: options.httpPort,
      routes: model.httpRoutes,
      invoker,
      logger,
      region,
      accountId,
      health: () => health() as unknown as Record<string, unknown>,
    });
    stoppers.push(() => httpApi.close());

    let s3Url: string | undefined;
    if (model.buckets.length > 0) {
      const s3 = await startLocalS3({
        host,
        port: s3Port,
        dataDir: join(workDir, 's3'),
        buckets: model.buckets,
        s3Events: model.s3Events,
        invoker,
        logger,
        region,
        accountId,
        deadLetters,
        deadLetterQueues: model.asyncDeadLetterQueues,
      });
      stoppers.push(() => s3.close());
      s3Url = s3.url;
    }

    let eventBridgeUrl: string | undefined;
    if ([...model.functions.values()].some((fn) => (fn.environment.EVENT_BUS_NAME ?? '') !== '')) {
      const eventBridge = await startLocalEventBridge({ host, port: eventBridgePort, logger });
      stoppers.push(() => eventBridge.close());
      eventBridgeUrl = eventBridge.url;
    }

    let mqttUrl: string | undefined;
    if (model.iotRules.length > 0) {
      const broker = await startIotBroker({
        host,
        port: mqttPort,
        rules: model.iotRules,
        dynamodb: ddb,
        invoker,
        logger,
        deadLetterDir: deadLetters.dir,
        deadLetters,
        queueOf: (logicalId) => {
          const name = model.queues.find((queue) => queue.logicalId === logicalId)?.queueName;
          return name === undefined ? undefined : messaging?.queues.get(name);
        },
      });
      stoppers.push(() => broker.close());
      mqttUrl = broker.url;
    }

    // Cold starts now, once every table, queue and bucket exists: on AWS a function's init runs at its first
    // invocation, after CloudFormation created them, so an init that reads one (top-level await) must find it.
    await runner.warm();

    const gateway = gateways[0];
    // Declared here, called only once the HTTP API serves /health (the services above all exist by then).
    function health(): PlatformHealth {
      const streamHealth = streams.map((s) => ({ function: s.functionId, event: s.eventId, ...s.stats() }));
      const down: string[] = [];
      const database = dynamodb?.status() ?? { state: 'external' as const, endpoint: dynamodbEndpoint };
      if (database.state !== 'up' && database.state !== 'external') down.push('dynamodb');
      for (const stream of streamHealth) {
        if (stream.status !== 'ok') down.push(`stream ${stream.function}.${stream.event}`);
      }
      return {
        status: down.length === 0 ? 'ok' : 'degraded',
        down,
        dynamodb: database,
        connections: gateways.reduce((sum, g) => sum + g.connectionCount(), 0),
        streams: streamHealth,
      };
    }
    return {
      model,
      urls: {
        webSocket: gateway?.url ?? '',
        management: gateway?.managementEndpoint ?? '',
        httpApi: httpApi.url,
        dynamodb: dynamodbEndpoint,
        ...(s3Url ? { s3: s3Url } : {}),
        ...(messaging ? { sqs: messaging.url } : {}),
        ...(mqttUrl ? { mqtt: mqttUrl } : {}),
        ...(eventBridgeUrl ? { eventBridge: eventBridgeUrl } : {}),
      },
      deadLetterDir: deadLetters.dir,
      deadLetters,
      runner,
      streams,
      connections: () => gateways.flatMap((g) => g.listConnections()),
      ...(dynamodb ? { dynamodb } : {}),
      health,
      startupMs: Math.round(performance.now() - started),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function hasMessaging(model: PlatformModel): boolean {
  return model.queues.length > 0 || model.topics.length > 0;
}

function replaceEntryPoints(model: PlatformModel, entryPoints: Record<string, string>): void {
  for (const [logicalId, entryPoint] of Object.entries(entryPoints)) {
    const spec = model.functions.get(logicalId);
    if (!spec) throw new Error(`functionEntryPoints: the template has no function ${logicalId}`);
    if (!existsSync(entryPoint))
      throw new Error(`functionEntryPoints: ${logicalId}'s file ${entryPoint} does not exist`);
    spec.entryPoint = entryPoint;
  }
}
