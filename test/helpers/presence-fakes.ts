import type { PageInfo, Presence } from '@real-time-platform/protocol';
import type { CloseResult, OpenResult, PresenceStore, SetPageResult } from '../../src/adapters/presence-store';
import { createKeyAccessPolicy, type KeyAccessPolicy } from '../../src/domain/key-access';
import { connectTransition, disconnectTransition, samePage } from '../../src/domain/presence';
import type { MemoryConnections } from './fakes';

/** A key access policy with no rules: every key is public (the behaviour before per-key authorization). */
export const publicKeys: KeyAccessPolicy = createKeyAccessPolicy([]);

/** An in-memory PresenceStore over MemoryConnections, applying the same transitions as the DynamoDB one. */
export class MemoryPresence implements PresenceStore {
  readonly states = new Map<string, Presence>();
  /** The connection that set each user's page (the store's internal pageConnectionId). */
  readonly pageConnectionIds = new Map<string, string>();
  constructor(
    private readonly connections: MemoryConnections,
    private readonly now: () => number = () => 1763800000000,
  ) {}

  async openConnection(
    connection: Parameters<PresenceStore['openConnection']>[0],
    keys: readonly string[],
  ): Promise<OpenResult> {
    if (this.connections.connections.has(connection.connectionId)) return { opened: false };
    await this.connections.saveConnection(connection, keys);
    const current = this.states.get(connection.userId);
    const transition = connectTransition(current);
    const at = this.now();
    this.states.set(
      connection.userId,
      transition === 'come-online' || current === undefined
        ? {
            userId: connection.userId,
            status: 'online',
            connections: 1,
            since: at,
            lastSeenAt: at,
            ...(current?.latestPage ? { latestPage: current.latestPage } : {}),
          }
        : { ...current, connections: current.connections + 1, lastSeenAt: at },
    );
    return { opened: true, transition };
  }

  async closeConnection(connectionId: string, userId: string): Promise<CloseResult> {
    if (!this.connections.connections.has(connectionId)) return { closed: false };
    this.connections.connections.delete(connectionId);
    const current = this.states.get(userId);
    const transition = disconnectTransition(current);
    const at = this.now();
    if (current !== undefined && transition === 'go-offline') {
      const { page: _page, ...rest } = current;
      this.states.set(userId, { ...rest, status: 'offline', connections: 0, since: at, lastSeenAt: at });
      this.pageConnectionIds.delete(userId);
    } else if (current !== undefined && transition === 'remove-connection') {
      // The closing tab's page goes with it; another tab's page stays.
      const setThePage = this.pageConnectionIds.get(userId) === connectionId;
      const { page, ...rest } = current;
      const kept = setThePage || page === undefined ? rest : { ...rest, page };
      this.states.set(userId, { ...kept, connections: current.connections - 1, lastSeenAt: at });
      if (setThePage) this.pageConnectionIds.delete(userId);
    }
    return { closed: true, transition };
  }

  async get(userId: string) {
    return this.states.get(userId);
  }

  async getMany(userIds: readonly string[]) {
    return new Map(userIds.flatMap((id) => (this.states.has(id) ? [[id, this.states.get(id) as Presence]] : [])));
  }

  async setPage(userId: string, connectionId: string, page: PageInfo | undefined): Promise<SetPageResult> {
    const current = this.states.get(userId);
    if (current?.status !== 'online' || !this.connections.connections.has(connectionId)) return 'offline';
    if (page !== undefined) this.pageConnectionIds.set(userId, connectionId);
    else this.pageConnectionIds.delete(userId);
    if (samePage(current.page, page)) return 'unchanged';
    const { page: _old, ...rest } = current;
    this.states.set(userId, page === undefined ? rest : { ...rest, page, latestPage: page });
    return 'changed';
  }
}
