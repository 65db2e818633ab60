import type {
  ConnectionRepository,
  NewConnection,
  SilentConnection,
  StoredConnection,
  SubscribeResult,
} from '../../src/adapters/connection-repository';
import type { ConnectionSender, PostResult } from '../../src/adapters/connection-sender';
import type { RealTimeDataReader } from '../../src/adapters/real-time-data-reader';
import type { SnapshotRequester } from '../../src/adapters/snapshot-markers';
import type { GuardedKey } from '../../src/domain/key-access';
import type { Log } from '../../src/lib/logging';

/** In-memory stand-ins for the adapters, for unit tests of the handler logic. */

/** A ConnectionRepository over a Map: connectionId → set of keys (the connection's own row is `connections`). */
export class MemoryConnections implements ConnectionRepository {
  readonly connections = new Map<string, NewConnection>();
  readonly subscriptions = new Map<string, Set<string>>();
  readonly deleted: string[] = [];
  lookups = 0;
  /** Set to make the named operation throw this error. */
  failOn: Partial<Record<keyof ConnectionRepository, unknown>> = {};
  /** Per-key lookup failures. */
  failLookupOf = new Set<string>();

  async saveConnection(connection: NewConnection, keys: readonly string[]) {
    this.maybeFail('saveConnection');
    this.connections.set(connection.connectionId, connection);
    this.subscriptions.set(connection.connectionId, new Set(keys));
  }
  /** Grant rows (`<key>/<itemId>`) taken back: a subscribe whose requirements name one stores nothing. */
  readonly grantsGone = new Set<string>();
  async subscribe(
    connectionId: string,
    keys: readonly string[],
    requirements: readonly GuardedKey[] = [],
  ): Promise<SubscribeResult> {
    this.maybeFail('subscribe');
    const refused = requirements.find((g) => this.grantsGone.has(`${g.requires.key}/${g.requires.itemId}`));
    if (refused !== undefined) return { subscribed: false, refusedKey: refused.key };
    const set = this.subscriptions.get(connectionId) ?? new Set();
    for (const key of keys) set.add(key);
    this.subscriptions.set(connectionId, set);
    return { subscribed: true };
  }
  async unsubscribe(connectionId: string, keys: readonly string[]) {
    this.maybeFail('unsubscribe');
    for (const key of keys) this.subscriptions.get(connectionId)?.delete(key);
  }
  async touch(connectionId: string) {
    this.maybeFail('touch');
    return this.connections.has(connectionId);
  }
  async subscriptionsOf(connectionId: string) {
    this.maybeFail('subscriptionsOf');
    return [...(this.subscriptions.get(connectionId) ?? [])];
  }
  async subscribersOf(key: string) {
    this.lookups++;
    this.maybeFail('subscribersOf');
    if (this.failLookupOf.has(key)) throw new Error(`lookup of ${key} failed`);
    return [...this.subscriptions].filter(([, keys]) => keys.has(key)).map(([id]) => id);
  }
  async isSubscribed(connectionId: string, key: string) {
    this.maybeFail('isSubscribed');
    return this.subscriptions.get(connectionId)?.has(key) === true;
  }
  async deleteConnection(connectionId: string) {
    this.maybeFail('deleteConnection');
    this.deleted.push(connectionId);
    const rows = (this.subscriptions.get(connectionId)?.size ?? 0) + (this.connections.has(connectionId) ? 1 : 0);
    this.subscriptions.delete(connectionId);
    this.connections.delete(connectionId);
    return rows;
  }
  async connectionOf(connectionId: string): Promise<StoredConnection | undefined> {
    this.maybeFail('connectionOf');
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return undefined;
    return {
      connectionId,
      ...(connection.userId === undefined ? {} : { userId: connection.userId }),
      ...(this.timedOut.has(connectionId) ? { endReason: 'TIMEOUT' as const } : {}),
      ...(connection.tokenExpiresAt === undefined ? {} : { tokenExpiresAt: connection.tokenExpiresAt }),
    };
  }
  /** Connections the sweep marked timed out (this fake keeps no lastSeenAt: every live row can be marked). */
  readonly timedOut = new Set<string>();
  async markTimedOut(connectionId: string) {
    this.maybeFail('markTimedOut');
    if (!this.connections.has(connectionId)) return false;
    this.timedOut.add(connectionId);
    return true;
  }
  async connectionsOfUser(userId: string) {
    this.maybeFail('connectionsOfUser');
    return [...this.connections.values()].filter((c) => c.userId === userId).map((c) => c.connectionId);
  }
  async silentConnections(): Promise<SilentConnection[]> {
    this.maybeFail('silentConnections');
    return [];
  }
  async expiredTokenConnections(_shard: string, beforeSeconds: number): Promise<string[]> {
    this.maybeFail('expiredTokenConnections');
    // One shard holds them all here: the sweep asks shard "0" first.
    if (_shard !== '0') return [];
    return [...this.connections.values()]
      .filter((c) => c.tokenExpiresAt !== undefined && c.tokenExpiresAt < beforeSeconds)
      .map((c) => c.connectionId);
  }
  /** Subscribes each connection to the keys. */
  seed(entries: Record<string, string[]>) {
    for (const [id, keys] of Object.entries(entries)) {
      this.connections.set(id, { connectionId: id });
      this.subscriptions.set(id, new Set(keys));
    }
    return this;
  }
  private maybeFail(operation: keyof ConnectionRepository) {
    if (operation in this.failOn) throw this.failOn[operation];
  }
}

/**
 * A sender that records what each connection received and answers from a script per connection. `posts` keeps each
 * post as it was sent; `messagesTo` unwraps `batch` frames, so tests read frames as a client handles them.
 */
export class RecordingSender implements ConnectionSender {
  readonly received = new Map<string, unknown[]>();
  inFlight = 0;
  maxInFlight = 0;
  /** Per connection: results to return in turn (the last one repeats); default "sent". */
  script = new Map<string, PostResult['status'][]>();
  delayMs = 0;

  async post(connectionId: string, data: Uint8Array): Promise<PostResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      const steps = this.script.get(connectionId);
      const status = steps && steps.length > 1 ? (steps.shift() as PostResult['status']) : (steps?.[0] ?? 'sent');
      if (status === 'sent') {
        const list = this.received.get(connectionId) ?? [];
        list.push(JSON.parse(Buffer.from(data).toString('utf8')));
        this.received.set(connectionId, list);
        return { status, attempts: 1 };
      }
      if (status === 'failed') return { status, attempts: 3, retryable: true, error: new Error('throttled') };
      return { status, attempts: 1 };
    } finally {
      this.inFlight--;
    }
  }
  /** The posts a connection received, as sent (a batch is one post). */
  postsTo(connectionId: string): Record<string, unknown>[] {
    return (this.received.get(connectionId) ?? []) as Record<string, unknown>[];
  }
  /** The frames a connection received, `batch` frames unwrapped, in order. */
  messagesTo(connectionId: string): Record<string, unknown>[] {
    return this.postsTo(connectionId).flatMap((post) =>
      post.type === 'batch' ? (post.messages as Record<string, unknown>[]) : [post],
    );
  }
}

/** A RealTimeDataReader over fixed items per key (kept in itemId order, as DynamoDB returns them). */
export function memoryData(
  items: Record<string, Record<string, unknown>[]>,
  failing: string[] = [],
): RealTimeDataReader & { reads: number } {
  const reader = {
    reads: 0,
    async page(key: string, { limit, after }: { limit: number; after?: string }) {
      reader.reads++;
      if (failing.includes(key)) throw new Error('read failed');
      const sorted = [...(items[key] ?? [])].sort((a, b) => (String(a.itemId) < String(b.itemId) ? -1 : 1));
      const rest = after === undefined ? sorted : sorted.filter((item) => String(item.itemId) > after);
      const page = rest.slice(0, limit);
      return page.length === limit && rest.length > limit
        ? { items: page, after: String(page.at(-1)?.itemId) }
        : { items: page };
    },
  };
  return reader;
}

/** A SnapshotRequester that records the markers it was asked to write; keys in `failing` throw. */
export function recordingSnapshotRequests(failing: string[] = []): SnapshotRequester & {
  requests: { connectionId: string; key: string; requestId: string }[];
} {
  const requests: { connectionId: string; key: string; requestId: string }[] = [];
  return {
    requests,
    async request(request) {
      if (failing.includes(request.key)) throw new Error('ProvisionedThroughputExceededException: secret detail');
      requests.push(request);
    },
  };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** A Log that keeps its lines for assertions. */
export function captureLog(): Log & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: unknown, ...extra: unknown[]) => {
      const fields = Object.assign({}, ...extra.filter((e) => typeof e === 'object' && e !== null)) as Record<
        string,
        unknown
      >;
      lines.push({ level, message: String(message), fields });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Log & {
    lines: LogLine[];
  };
}
