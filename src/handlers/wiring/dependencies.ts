import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import { ACTIVITY_PREFIX, FRIENDS_PREFIX, INBOX_PREFIX } from '@real-time-platform/protocol';
import type { Context } from 'aws-lambda';
import { createActivityStore } from '../../adapters/activity-store';
import { createDynamoDbClients, createManagementApiClient } from '../../adapters/aws-clients';
import {
  createCalendarAccessRule,
  createCalendarEventStore,
  createCalendarShareStore,
} from '../../adapters/calendar-store';
import { createChatStore } from '../../adapters/chat-store';
import { createConnectionRepository } from '../../adapters/connection-repository';
import { createConnectionSender } from '../../adapters/connection-sender';
import { createFriendStore } from '../../adapters/friend-store';
import { createItemIngestor, createItemReader } from '../../adapters/item-store';
import { createPresenceStore } from '../../adapters/presence-store';
import { createRealTimeDataReader } from '../../adapters/real-time-data-reader';
import { createSignedPoster } from '../../adapters/signed-poster';
import { createSnapshotRequester } from '../../adapters/snapshot-markers';
import type { ConfigFor } from '../../config/env';
import { createKeyAccessPolicy, type KeyAccessPolicy, ownerOnlyRule } from '../../domain/key-access';
import { presenceAccessRule, presenceOrItemMessage, snapshotItemOf } from '../../domain/presence';
import type { Log } from '../../lib/logging';
import { type ActivityLog, createActivityLog } from '../logic/activity';
import { chatKeyAccessRule, createChatAudience } from '../logic/chat-membership';
import { createConnectionEnder } from '../logic/end-connection';

/**
 * The one place where the functions' dependencies are built from their configuration: the SDK clients (once per
 * container), the stores, the per-key authorization and the @connections clients. Each handler entry passes the
 * configuration it loaded; the types say which variables each dependency needs.
 */

type DataTableConfig = ConfigFor<'DATA_TABLE_NAME' | 'REAL_TIME_ITEM_KEY'>;
type ConnectionsConfig = ConfigFor<'TABLE_NAME' | 'CONNECTION_TTL_SECONDS'>;
type ActivityConfig = DataTableConfig & ConfigFor<'ACTIVITY_RETENTION_DAYS'>;

let clients: ReturnType<typeof createDynamoDbClients> | undefined;
/** The DynamoDB clients, created on first use and reused by every warm invocation of the container. */
function dynamo(): ReturnType<typeof createDynamoDbClients> {
  clients ??= createDynamoDbClients();
  return clients;
}

/** RealTimeData as the document-client stores address it. */
function dataTable(config: DataTableConfig) {
  return { ddb: dynamo().documents, tableName: config.dataTableName, keyAttribute: config.realTimeItemKey };
}

export const stores = {
  /**
   * WebSocketConnectionManager. Given the data table too, subscriptions to shared calendars and friends' presence
   * ConditionCheck their granting row in the same transaction.
   */
  connections: (config: ConnectionsConfig & Partial<DataTableConfig>) =>
    createConnectionRepository({
      ddb: dynamo().documents,
      tableName: config.tableName,
      ttlSeconds: config.connectionTtlSeconds,
      ...(config.dataTableName === undefined || config.realTimeItemKey === undefined
        ? {}
        : { dataTable: { tableName: config.dataTableName, keyAttribute: config.realTimeItemKey } }),
    }),
  presence: (config: ConnectionsConfig & DataTableConfig) =>
    createPresenceStore({
      ddb: dynamo().documents,
      connectionsTable: config.tableName,
      dataTable: config.dataTableName,
      keyAttribute: config.realTimeItemKey,
      ttlSeconds: config.connectionTtlSeconds,
    }),
  friends: (config: DataTableConfig) =>
    createFriendStore({
      ddb: dynamo().documents,
      dataTable: config.dataTableName,
      keyAttribute: config.realTimeItemKey,
    }),
  chat: (config: DataTableConfig) => createChatStore(dataTable(config)),
  /** Users' activity histories (activity:<userId>), kept ACTIVITY_RETENTION_DAYS. */
  activity: (config: ActivityConfig) =>
    createActivityStore({ ...dataTable(config), retentionDays: config.activityRetentionDays }),
  calendarEvents: (config: DataTableConfig) => createCalendarEventStore(dataTable(config)),
  calendarShares: (config: DataTableConfig) => createCalendarShareStore(dataTable(config)),
  itemIngestor: (config: DataTableConfig) => createItemIngestor(dataTable(config)),
  itemReader: (config: DataTableConfig) => createItemReader(dataTable(config)),
  /** `subscribe` with `"snapshot":true`: the marker the fan-out answers with the key's items. */
  snapshotRequests: (config: DataTableConfig) => createSnapshotRequester(dataTable(config)),
  /** The fan-out's snapshot reads, with the plain client for lossless unmarshalling of big numbers, sets and binary. */
  snapshotReader: (config: DataTableConfig) =>
    createRealTimeDataReader({
      ddb: dynamo().dynamodb,
      tableName: config.dataTableName,
      keyAttribute: config.realTimeItemKey,
    }),
};

/**
 * The platform's per-key authorization, used by $connect, `subscribe` and the REST reads. Each domain contributes
 * the rule for its key prefix; keys of no domain are public.
 */
export function createPlatformKeyAccess(deps: {
  documents: DynamoDBDocumentClient;
  dataTableName: string;
  /** REAL_TIME_ITEM_KEY: the data table's partition key attribute. */
  keyAttribute: string;
  presenceVisibility: 'all' | 'friends';
}): KeyAccessPolicy {
  const table = { ddb: deps.documents, tableName: deps.dataTableName, keyAttribute: deps.keyAttribute };
  return createKeyAccessPolicy([
    // A user's own feeds: chat messages of their conversations, their friend requests and their activity history.
    ownerOnlyRule(INBOX_PREFIX),
    ownerOnlyRule(FRIENDS_PREFIX),
    ownerOnlyRule(ACTIVITY_PREFIX),
    // calendar:<ownerId>: the owner and the users the owner shared the calendar with.
    createCalendarAccessRule(table),
    // presence:<userId>: any signed-in user (PresenceVisibility=all), or the user and accepted friends (friends).
    presenceAccessRule({
      visibility: deps.presenceVisibility,
      areFriends: createFriendStore({
        ddb: deps.documents,
        dataTable: deps.dataTableName,
        keyAttribute: deps.keyAttribute,
      }).areFriends,
    }),
    // chat:<conversationId>: its participants only (unknown conversations are refused the same way).
    chatKeyAccessRule(createChatStore(table)),
  ]);
}

/** createPlatformKeyAccess over the function's own client and configuration. */
export function keyAccess(config: DataTableConfig & ConfigFor<'PRESENCE_VISIBILITY'>): KeyAccessPolicy {
  return createPlatformKeyAccess({
    documents: dynamo().documents,
    dataTableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
    presenceVisibility: config.presenceVisibility,
  });
}

/**
 * The @connections management API at WS_ENDPOINT, keeping `maxSockets` connections alive: at least the posts in
 * flight, or they queue behind the SDK's default agent.
 */
export function managementApi(config: ConfigFor<'WS_ENDPOINT'>, maxSockets: number) {
  return createManagementApiClient({ endpoint: config.wsEndpoint, maxSockets });
}

/** Posts to connections, retrying throttling and 5xx within the invocation's deadline. */
export function connectionSender(config: ConfigFor<'WS_ENDPOINT'>, maxSockets: number) {
  return createConnectionSender({ client: managementApi(config, maxSockets) });
}

/** Users' activity histories as the connection lifecycle writes them: failures logged and dropped, never thrown. */
export function activityLog(config: ActivityConfig, logger: Log): ActivityLog {
  return createActivityLog({ store: stores.activity(config), logger });
}

/**
 * Ends a connection as $disconnect does — its rows, its user's presence and their activity history — for
 * $disconnect, the fan-out (410) and the sweep.
 */
export function connectionEnder(config: ConnectionsConfig & ActivityConfig, logger: Log) {
  return createConnectionEnder({
    connections: stores.connections(config),
    presence: stores.presence(config),
    activity: activityLog(config, logger),
  });
}

/**
 * The fan-out's sender: the same retries, each attempt a request signed with the SDK's SigV4 signer on a keep-alive
 * agent instead of an SDK call — under half the CPU per post (signed-poster.ts), which is the fan-out's throughput.
 * The SDK client only lends its credentials, region and hashing.
 */
export function fanoutSender(config: ConfigFor<'WS_ENDPOINT'>, maxSockets: number) {
  const poster = createSignedPoster({ client: managementApi(config, 1), endpoint: config.wsEndpoint, maxSockets });
  return createConnectionSender({ poster });
}

/**
 * The fan-out's platform hooks: how a change becomes a frame, who else hears it, how a gone connection ends, where
 * snapshots are read and which keys are conflated.
 */
export function fanoutHooks(
  config: ConnectionsConfig &
    ActivityConfig &
    DataTableConfig &
    ConfigFor<'CONFLATE_CHANGES' | 'CONFLATE_KEY_PREFIXES'>,
  logger: Log,
) {
  return {
    // ConflateChanges / ConflateKeyPrefixes; the platform's own domains are never conflated (domain/conflation.ts).
    conflation: { enabled: config.conflateChanges, prefixes: config.conflateKeyPrefixes },
    // Presence items carry internal bookkeeping (pageConnectionId) that snapshots leave out.
    snapshots: { reader: stores.snapshotReader(config), visibleItem: snapshotItemOf },
    // presence:<userId> changes reach watchers as `presence` join / leave / update frames.
    messageOf: presenceOrItemMessage,
    // chat:<conversationId> changes also reach each participant's inbox:<userId> subscribers (every signed-in
    // connection), so nobody subscribes to conversations one by one.
    audienceOf: createChatAudience(stores.chat(config)),
    // A connection found gone (410) is ended like a $disconnect: its user's presence is settled too.
    endConnection: connectionEnder(config, logger),
  };
}

/**
 * A Lambda entry: `build` receives the function's Powertools logger and metrics and returns the handler, which runs
 * with the logger's Lambda context. With `publishMetrics`, the metrics are published after every invocation
 * (namespace and service from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME, set in the template's Globals).
 */
export function lambdaEntry<E, R>(
  build: (tools: { logger: Logger; metrics: Metrics }) => (event: E, context: Context) => Promise<R>,
  options: { publishMetrics?: boolean } = {},
) {
  const logger = new Logger();
  const metrics = new Metrics();
  const entry = middy(build({ logger, metrics })).use(injectLambdaContext(logger));
  return options.publishMetrics === true ? entry.use(logMetrics(metrics)) : entry;
}
