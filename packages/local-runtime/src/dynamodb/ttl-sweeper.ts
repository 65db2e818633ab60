/**
 * DynamoDB's Time to Live, which DynamoDB Local does not apply: every `intervalMs` the sweeper scans each table that
 * has a TTL attribute and deletes the items whose attribute (a Number, epoch seconds) is at or before now. An item
 * is deleted within one interval of its expiry plus the time one sweep takes (DynamoDB itself promises "typically
 * within a few days", so code must never rely on the exact moment; locally it is just much sooner).
 *
 * Like DynamoDB it ignores items whose attribute is not a Number, and values more than five years in the past (they
 * are usually milliseconds or mistakes, not expiries). The delete is conditional on the attribute still holding the
 * value that was read: an item renewed between the Scan and the delete stays.
 *
 * The REMOVE records of these deletes carry the TTL service's identity, `userIdentity: {type: "Service",
 * principalId: "dynamodb.amazonaws.com"}`, as on AWS. DynamoDB Local writes the records itself and knows nothing of
 * that, so the sweeper logs each delete (table, keys, expiry) in a TtlDeletionLog the stream readers consult.
 *
 * DynamoDB Local 2.x also expires items on its own, some seconds after their expiry, with a stream record the
 * readers turn into the same REMOVE (streams/records.ts). Whichever comes first deletes the item; the other finds it
 * gone (the conditional delete fails, quietly). The sweeper stays: it bounds the delay (`intervalMs`) and covers a
 * DynamoDB Local that does not expire items.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { LocalLogger, TableSpec } from '../types';

/** How often the sweeper looks for expired items, unless told otherwise. */
export const DEFAULT_TTL_SWEEP_INTERVAL_MS = 10_000;
/** DynamoDB leaves alone items whose expiry is more than five years in the past. */
const FIVE_YEARS_SECONDS = 5 * 365 * 24 * 3600;
/** How long a TTL delete is remembered for its stream record: DynamoDB Streams' 24-hour retention. */
const REMEMBER_MS = 24 * 3600 * 1000;
/** Memory bound of the log; past it the oldest deletes are forgotten first. */
const REMEMBER_AT_MOST = 100_000;

/** The identity DynamoDB puts on the stream records of TTL deletes. */
export const TTL_SERVICE_IDENTITY = Object.freeze({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });

type KeyImage = Record<string, unknown>;

/** The deletes the sweeper made, so that their REMOVE stream records can be told from everyone else's. */
export class TtlDeletionLog {
  private readonly entries = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers a TTL delete of the item with these keys (low-level AttributeValues) and this expiry. */
  add(tableName: string, keys: KeyImage, expiry: string): void {
    const id = entryId(tableName, keys, expiry);
    this.entries.delete(id);
    this.entries.set(id, this.now() + REMEMBER_MS);
    this.trim();
  }

  /** Forgets a delete that did not happen (the item changed in between). */
  remove(tableName: string, keys: KeyImage, expiry: string): void {
    this.entries.delete(entryId(tableName, keys, expiry));
  }

  /**
   * The TTL identity when `record` is the REMOVE of a delete in the log: same table, same keys, and (when the
   * record has an old image) the same expiry, so a later user delete of a re-created item is not mistaken for one.
   */
  identityOf(tableName: string, record: DynamoDBRecord, ttlAttribute: string): DynamoDBRecord['userIdentity'] {
    if (record.eventName !== 'REMOVE' || !record.dynamodb?.Keys) return undefined;
    const expiry = record.dynamodb.OldImage?.[ttlAttribute]?.N;
    const keys = record.dynamodb.Keys as KeyImage;
    const found =
      expiry === undefined
        ? [...this.entries.keys()].some((id) => id.startsWith(entryPrefix(tableName, keys)))
        : this.entries.has(entryId(tableName, keys, expiry));
    return found ? { ...TTL_SERVICE_IDENTITY } : undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  private trim(): void {
    const now = this.now();
    for (const [id, until] of this.entries) {
      if (until > now && this.entries.size <= REMEMBER_AT_MOST) break;
      this.entries.delete(id);
    }
  }
}

/** The stream readers' userIdentityOf for one table: the TTL identity for the sweeper's deletes. */
export function ttlIdentityOf(
  log: TtlDeletionLog,
  table: TableSpec | undefined,
): ((record: DynamoDBRecord) => DynamoDBRecord['userIdentity']) | undefined {
  const ttlAttribute = table?.ttlAttribute;
  if (table === undefined || ttlAttribute === undefined) return undefined;
  return (record) => log.identityOf(table.tableName, record, ttlAttribute);
}

function entryPrefix(tableName: string, keys: KeyImage): string {
  // Key attributes in name order: Keys of a stream record and of a Scan item may list them in different orders.
  const ordered = Object.keys(keys)
    .sort()
    .map((name) => [name, keys[name]]);
  return `${JSON.stringify(tableName)}${JSON.stringify(ordered)}`;
}

function entryId(tableName: string, keys: KeyImage, expiry: string): string {
  return `${entryPrefix(tableName, keys)}@${expiry}`;
}

export interface TtlSweeperOptions {
  client: DynamoDBClient;
  tables: TableSpec[];
  log: TtlDeletionLog;
  logger: LocalLogger;
  /** Pause between sweeps (default 10 s); 0 sweeps only when sweep() is called. */
  intervalMs?: number;
  /** Epoch ms; the tests' clock. */
  now?: () => number;
}

export interface TtlSweeper {
  /** One sweep of every TTL table now; resolves with the number of items deleted. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts sweeping the tables whose template has a TimeToLiveSpecification. */
export function startTtlSweeper(options: TtlSweeperOptions): TtlSweeper {
  const { client, log, logger } = options;
  const now = options.now ?? Date.now;
  const tables = options.tables.filter((table) => table.ttlAttribute !== undefined);
  let running: Promise<number> | undefined;
  let failing = false;

  const sweepTable = async (table: TableSpec, ttlAttribute: string): Promise<number> => {
    const nowSeconds = Math.floor(now() / 1000);
    const keyNames = table.keySchema.map((key) => key.AttributeName);
    let deleted = 0;
    let startKey: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: table.tableName,
          FilterExpression: '#ttl BETWEEN :oldest AND :now',
          ProjectionExpression: [...keyNames, ttlAttribute].map((_, i) => `#a${i}`).join(', '),
          ExpressionAttributeNames: {
            '#ttl': ttlAttribute,
            ...Object.fromEntries([...keyNames, ttlAttribute].map((name, i) => [`#a${i}`, name])),
          },
          ExpressionAttributeValues: {
            ':oldest': { N: String(nowSeconds - FIVE_YEARS_SECONDS) },
            ':now': { N: String(nowSeconds) },
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const expiry = item[ttlAttribute]?.N;
        if (expiry === undefined) continue;
        const keys = Object.fromEntries(keyNames.map((name) => [name, item[name]]));
        // Logged before the delete: a stream reader may see the REMOVE before DeleteItem has even answered.
        log.add(table.tableName, keys, expiry);
        try {
          await client.send(
            new DeleteItemCommand({
              TableName: table.tableName,
              Key: keys as Record<string, NonNullable<(typeof item)[string]>>,
              ConditionExpression: '#ttl = :expiry',
              ExpressionAttributeNames: { '#ttl': ttlAttribute },
              ExpressionAttributeValues: { ':expiry': { N: expiry } },
            }),
          );
          deleted++;
        } catch (error) {
          log.remove(table.tableName, keys, expiry);
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return deleted;
  };

  const sweepAll = async (): Promise<number> => {
    let deleted = 0;
    for (const table of tables) {
      if (table.ttlAttribute) deleted += await sweepTable(table, table.ttlAttribute);
    }
    return deleted;
  };

  const sweep = (): Promise<number> => {
    // One sweep at a time: a slow Scan must not stack up sweeps behind it.
    running ??= sweepAll().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = () => {
    sweep().then(
      (deleted) => {
        if (failing) logger.info('TTL sweep works again');
        failing = false;
        if (deleted > 0) logger.debug(`TTL: ${deleted} expired item(s) deleted`);
      },
      (error: unknown) => {
        // DynamoDB Local down or restarting: one warning, then quiet until it works again.
        if (!failing) logger.warn(`TTL sweep failed: ${error instanceof Error ? error.message : String(error)}`);
        failing = true;
      },
    );
  };
  const intervalMs = options.intervalMs ?? DEFAULT_TTL_SWEEP_INTERVAL_MS;
  const timer = tables.length > 0 && intervalMs > 0 ? setInterval(tick, intervalMs) : undefined;
  timer?.unref();

  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
