import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalPlatform } from '../platform';
import type { Overview, ServiceHealth } from './admin-api';

const CONNECTION_ROW_PREFIX = '$connection#';
const PROBE_TIMEOUT_MS = 2000;

/** Reads what the Overview shows from the running platform and its connection table. */
export class PlatformView {
  constructor(
    private readonly platform: LocalPlatform,
    private readonly documents: DynamoDBDocumentClient,
    private readonly connectionTable: string | undefined,
  ) {}

  async overview(): Promise<Overview> {
    const now = Date.now();
    const [dynamodb, rows] = await Promise.all([this.probeDynamoDb(), this.connectionRows()]);
    const open = this.platform.connections();
    const connections = open.map((connection) => {
      const own = rows.filter((row) => row.connectionId === connection.id);
      const userId = own.find((row) => typeof row.userId === 'string')?.userId;
      return {
        connectionId: connection.id,
        keys: own.map((row) => row.realTimeItemKey).filter((key) => !key.startsWith(CONNECTION_ROW_PREFIX)),
        ...(typeof userId === 'string' ? { userId } : {}),
        connectedAt: connection.connectedAt,
        idleMs: now - connection.lastActiveAt,
        sourceIp: connection.sourceIp,
      };
    });
    const counts = new Map<string, number>();
    for (const connection of connections) {
      for (const key of connection.keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const { urls } = this.platform;
    const services: ServiceHealth[] = [
      { name: 'WebSocket API', url: urls.webSocket, status: 'up', detail: `${open.length} connection(s)` },
      { name: '@connections', url: `${urls.management}/@connections/{id}`, status: 'up' },
      { name: 'HTTP API', url: urls.httpApi, status: 'up' },
      { name: 'DynamoDB Local', url: urls.dynamodb, ...dynamodb },
      ...(urls.s3 ? [{ name: 'S3', url: urls.s3, status: 'up' as const }] : []),
      ...(urls.mqtt ? [{ name: 'MQTT (IoT rules)', url: urls.mqtt, status: 'up' as const }] : []),
      ...(urls.eventBridge ? [{ name: 'EventBridge', url: urls.eventBridge, status: 'up' as const }] : []),
    ];
    return {
      at: now,
      services,
      connections: connections.sort((a, b) => a.connectedAt - b.connectedAt),
      keys: [...counts].map(([key, subscribers]) => ({ key, subscribers })).sort((a, b) => a.key.localeCompare(b.key)),
      streams: this.platform.streams.map((source) => {
        const stats = source.stats();
        return {
          function: source.functionId,
          event: source.eventId,
          invocations: stats.invocations,
          failedInvocations: stats.failedInvocations,
          retries: stats.retries,
        };
      }),
    };
  }

  private async probeDynamoDb(): Promise<Pick<ServiceHealth, 'status' | 'detail'>> {
    try {
      const { TableNames = [] } = await this.documents.send(new ListTablesCommand({}), {
        abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      return { status: 'up', detail: `${TableNames.length} table(s)` };
    } catch (error) {
      return { status: 'down', detail: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Every row of the connection table. A Scan is right here and nowhere else: a local table with a developer's
   * connections, read once a second while a console page is open (the platform finds subscribers with its GSI).
   */
  private async connectionRows(): Promise<{ connectionId: string; realTimeItemKey: string; userId?: unknown }[]> {
    if (this.connectionTable === undefined) return [];
    const rows: { connectionId: string; realTimeItemKey: string; userId?: unknown }[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.documents.send(
          new ScanCommand({
            TableName: this.connectionTable,
            ProjectionExpression: 'connectionId, realTimeItemKey, userId',
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          rows.push(item as { connectionId: string; realTimeItemKey: string; userId?: unknown });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch {
      // DynamoDB being down shows in the services' health; the gateway's list still shows.
    }
    return rows;
  }
}
