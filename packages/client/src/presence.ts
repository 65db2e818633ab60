import {
  type PageInfo,
  PRESENCE_ITEM_ID,
  type Presence,
  type PresenceStatus,
  presenceKey,
} from '@real-time-platform/protocol';
import type { RealtimeClient } from './client';
import { Emitter } from './emitter';
import type { RealtimeError } from './errors';
import type { Item, Subscription } from './subscription';

/**
 * Presence on top of the client: a live map of the users one watches, and the page one shares. Watching needs a
 * signed-in client (AuthMode=jwt); see the platform README's Presence section.
 */

export type { PageInfo, Presence, PresenceStatus };

export interface PresenceWatchEvents extends Record<string, unknown[]> {
  change: [Presence];
  error: [RealtimeError];
}

/** A live map userId → Presence of the watched users (offline until the platform says otherwise). */
export class PresenceWatch extends Emitter<PresenceWatchEvents> {
  readonly #users = new Map<string, Presence>();
  readonly #subscriptions: Subscription[] = [];

  constructor(client: RealtimeClient, userIds: readonly string[]) {
    super((error) => console.error(error));
    for (const userId of new Set(userIds)) {
      this.#users.set(userId, { userId, status: 'offline', connections: 0 });
      const subscription = client.subscribe(presenceKey(userId));
      subscription.on('change', (change) => {
        if (change.itemId !== PRESENCE_ITEM_ID) return;
        const presence = presenceOf(userId, change.event === 'REMOVE' ? undefined : change.item);
        this.#users.set(userId, presence);
        this.emit('change', presence);
      });
      subscription.on('error', (error) => this.emit('error', error));
      this.#subscriptions.push(subscription);
    }
  }

  get users(): ReadonlyMap<string, Presence> {
    return this.#users;
  }

  stop(): void {
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
  }
}

/** Watches the presence of these users. */
export function watchPresence(client: RealtimeClient, userIds: readonly string[]): PresenceWatch {
  return new PresenceWatch(client, userIds);
}

const shared = new WeakMap<RealtimeClient, { page: { url: string; title?: string } }>();

/**
 * Shares the page this tab shows (`null` hides it). The platform ties the page to the connection, so it is sent
 * again on every new connection until the next call.
 */
export function setPage(client: RealtimeClient, page: { url: string; title?: string } | null): void {
  const current = { url: page?.url ?? '', ...(page?.title === undefined ? {} : { title: page.title }) };
  const entry = shared.get(client);
  if (entry === undefined) {
    const created = { page: current };
    shared.set(client, created);
    client.on('open', () => {
      if (created.page.url !== '') client.send({ action: 'update-presence', ...created.page });
    });
  } else entry.page = current;
  client.send({ action: 'update-presence', ...current });
}

/** A presence item (from a snapshot or a frame) as a Presence; offline when there is none. */
export function presenceOf(userId: string, item: Item | undefined): Presence {
  if (item === undefined) return { userId, status: 'offline', connections: 0 };
  const presence: Presence = {
    userId,
    status: item.status === 'online' ? 'online' : 'offline',
    connections: typeof item.connections === 'number' ? item.connections : 0,
  };
  if (typeof item.since === 'number') presence.since = item.since;
  if (typeof item.lastSeenAt === 'number') presence.lastSeenAt = item.lastSeenAt;
  if (isPage(item.page) && presence.status === 'online') presence.page = item.page;
  if (isPage(item.latestPage)) presence.latestPage = item.latestPage;
  return presence;
}

function isPage(value: unknown): value is PageInfo {
  const page = value as PageInfo | undefined;
  return typeof page?.url === 'string' && typeof page.title === 'string' && typeof page.domain === 'string';
}
