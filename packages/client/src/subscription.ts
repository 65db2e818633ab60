import { compareSeq, type ItemEvent, PRESENCE_ITEM_ID } from '@real-time-platform/protocol';
import { asRealtimeError } from './as-realtime-error';
import { Emitter } from './emitter';
import { type RealtimeError, RealtimeError as RealtimeErrorClass } from './errors';
import { sameJson } from './json';

/** An item as plain JSON. */
export type Item = Record<string, unknown>;

/** A change the platform pushed: one `item` (or `presence`) frame, applied once. */
export interface LiveChange {
  source: 'live';
  event: ItemEvent;
  key: string;
  itemId: string;
  /** The new image; the last known state for REMOVE; a `{itemId, truncated: true}` placeholder when too large to fetch. */
  item?: Item;
  /** The stream sequence number: strictly increasing per key across the changes a subscription emits. */
  seq: string;
  /** When the change happened, epoch ms. */
  at: number;
  /** The item was too large for a message (fetched over HTTP when the client has `httpUrl`). */
  truncated?: true;
  /** This change replaced this many older changes of the same item, which were not sent. */
  conflated?: number;
  /** For `presence:` keys: what the change meant. */
  presence?: 'join' | 'leave' | 'update';
}

/**
 * A difference found when a snapshot replaced the subscription's items after a (re)subscribe: a change that
 * happened while no socket was there to see it. `seq` is the snapshot's position.
 */
export interface SnapshotChange {
  source: 'snapshot';
  event: ItemEvent;
  key: string;
  itemId: string;
  item?: Item;
  seq: string;
}

/** What `sub.on('change')` receives. Applied in order, changes turn an empty map into `sub.items`. */
export type Change = LiveChange | SnapshotChange;

export type SubscriptionStatus = 'subscribing' | 'synced' | 'failed' | 'unsubscribed';

export interface SubscriptionEvents extends Record<string, unknown[]> {
  change: [Change];
  /** The catch-up after a (re)subscribe is complete: `items` is the key's current state. */
  synced: [];
  /** This subscription's own troubles: refused (status `failed`), an item that could not be fetched … */
  error: [RealtimeError];
}

/** A change as received, before it is applied: a live change's fields, with presence changes not yet mapped. */
export type IncomingChange = Omit<LiveChange, 'source' | 'event' | 'key'> & { event: ItemEvent | 'PRESENCE' };

/** A snapshot page as received. */
export interface SnapshotPage {
  items: Item[];
  /** The stream sequence number the snapshot was read at (every page of one snapshot carries the same). */
  position: string;
  /** From 0; a page 0 starts the snapshot afresh (a re-delivered stream batch can send it again). */
  page?: number;
  more?: true;
  complete?: boolean;
  nextToken?: string;
}

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  /** The item over HTTP; undefined when it no longer exists. Rejects when it cannot be fetched. */
  fetchItem?(key: string, itemId: string): Promise<Item | undefined>;
  /** The items after a partial snapshot, over HTTP. */
  fetchRemaining?(key: string, nextToken: string): Promise<Item[]>;
  /** The app asked to unsubscribe. */
  release(subscription: Subscription): void;
  /** A listener threw. */
  listenerFailed(error: unknown): void;
  /** The subscription caught up on a connection. */
  synced(subscription: Subscription): void;
}

interface CatchUp {
  connection: number;
  /** The server said `subscribed`: snapshot pages before that answer an earlier subscribe of the key. */
  confirmed: boolean;
  /** Live changes of the key from this connection, kept until the snapshot is in. */
  kept: IncomingChange[];
  pages: Item[];
}

type Task = () => void | Promise<void>;

const placeholder = (itemId: string): Item => ({ itemId, truncated: true });

/**
 * One key's live state. It merges snapshots and live frames by the protocol's merge rule, per connection:
 *
 * - from a (re)subscribe on a connection, live changes of the key from that connection are kept aside;
 * - when the snapshot is in, it replaces the items unless the subscription already applied changes past its
 *   `position` (then its own state is newer);
 * - then the kept changes, and every later one, apply when their `seq` is above the last applied: the rest are
 *   repeats (at-least-once delivery, or the same change from the old and the new socket).
 *
 * Everything that touches the state runs through one queue, in arrival order, so that fetching a truncated item
 * over HTTP holds back the changes after it instead of reordering them.
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  readonly #current = new Map<string, Item>();
  #state: SubscriptionStatus = 'subscribing';
  #lastSeq: string | undefined;
  #catchUp: CatchUp | undefined;
  /** The connection whose live frames keep this subscription up to date, once synced on it. */
  #liveOn: number | undefined;
  readonly #tasks: Task[] = [];
  readonly #host: SubscriptionHost;
  #running = false;

  constructor(
    readonly key: string,
    readonly snapshot: boolean,
    host: SubscriptionHost,
  ) {
    super((error) => host.listenerFailed(error));
    this.#host = host;
  }

  /** The key's current items by itemId (kept up to date in place). */
  get items(): ReadonlyMap<string, Item> {
    return this.#current;
  }

  get status(): SubscriptionStatus {
    return this.#state;
  }

  /** Whether the items are the key's current state, kept live. */
  get synced(): boolean {
    return this.#state === 'synced';
  }

  /** Stops receiving changes of the key; `items` keeps its last state. */
  unsubscribe(): void {
    if (this.#state === 'unsubscribed') return;
    this.#state = 'unsubscribed';
    this.#tasks.length = 0;
    this.#catchUp = undefined;
    this.#host.release(this);
  }

  // ------------------------------------------------------------------------------------ driven by the client

  /** @internal A (re)subscribe starts on `connection`. */
  beginCatchUp(connection: number): void {
    this.#run(() => {
      this.#catchUp = { connection, confirmed: false, kept: [], pages: [] };
      if (this.#liveOn === undefined && this.#state === 'synced') this.#state = 'subscribing';
    });
  }

  /** @internal The server confirmed the subscription on `connection`. */
  confirmed(connection: number): void {
    this.#run(() => {
      if (this.#catchUp?.connection !== connection) return;
      this.#catchUp.confirmed = true;
      if (!this.snapshot) return this.#finish(this.#catchUp, undefined);
    });
  }

  /** @internal An `item` or `presence` frame of the key. */
  receive(change: IncomingChange, connection: number): void {
    this.#run(() => {
      if (this.#catchUp?.connection === connection) {
        this.#catchUp.kept.push(change);
        return;
      }
      return this.#apply(change);
    });
  }

  /** @internal A `snapshot` frame of the key. */
  receiveSnapshot(page: SnapshotPage, connection: number): void {
    this.#run(() => {
      const catchUp = this.#catchUp;
      if (this.snapshot && catchUp?.connection === connection && catchUp.confirmed) {
        if (page.page === 0) catchUp.pages = [];
        catchUp.pages.push(...page.items);
        if (page.more === true) return;
        const remaining = page.complete === false ? page.nextToken : undefined;
        return this.#withFullItems(catchUp.pages, remaining, (items) => this.#finish(catchUp, { items, page }));
      }
      // Otherwise it answers an earlier subscribe (one sent again after a timeout, or before an unsubscribe) or comes
      // from a connection being replaced: the catch-up that counts has its own, and live frames keep the items.
    });
  }

  /** @internal The connection is gone: what it kept live is no longer live. */
  connectionLost(connection: number): void {
    this.#run(() => {
      if (this.#catchUp?.connection === connection) this.#catchUp = undefined;
      if (this.#liveOn === connection) {
        this.#liveOn = undefined;
        if (this.#state === 'synced') this.#state = 'subscribing';
      }
    });
  }

  /** @internal The server refused the subscription for good. */
  refuse(error: RealtimeError): void {
    if (this.#state === 'unsubscribed') return;
    this.#state = 'failed';
    this.#tasks.length = 0;
    this.#catchUp = undefined;
    this.emit('error', error);
  }

  /** @internal The connection the subscription is synced on. */
  get liveConnection(): number | undefined {
    return this.#liveOn;
  }

  /** @internal */
  get active(): boolean {
    return this.#state === 'subscribing' || this.#state === 'synced';
  }

  // ------------------------------------------------------------------------------------------------ merging

  #finish(catchUp: CatchUp, snapshot: { items: Item[]; page: SnapshotPage } | undefined): void | Promise<void> {
    if (this.#catchUp !== catchUp) return;
    this.#catchUp = undefined;
    const position = snapshot?.page.position;
    if (snapshot !== undefined && position !== undefined) {
      // Changes past the position already applied (on a connection kept live) make the subscription's state newer.
      if (this.#lastSeq === undefined || compareSeq(this.#lastSeq, position) < 0) {
        this.#replaceWith(snapshot.items, position);
        this.#lastSeq = position;
      }
    }
    for (let index = 0; index < catchUp.kept.length; index++) {
      // A truncated change fetches its item: the changes after it wait for it.
      const fetching = this.#apply(catchUp.kept[index] as IncomingChange);
      if (fetching !== undefined) {
        const rest = catchUp.kept.slice(index + 1);
        return fetching.then(async () => {
          for (const change of rest) await this.#apply(change);
          this.#markSynced(catchUp.connection);
        });
      }
    }
    this.#markSynced(catchUp.connection);
  }

  #markSynced(connection: number): void {
    if (!this.active) return;
    this.#liveOn = connection;
    this.#state = 'synced';
    this.#host.synced(this);
    this.emit('synced');
  }

  /** Makes `items` the snapshot's: emits a snapshot change for each difference, at the snapshot's position. */
  #replaceWith(items: Item[], seq: string): void {
    const next = new Map<string, Item>();
    for (const item of items) {
      if (typeof item.itemId === 'string') next.set(item.itemId, item);
    }
    for (const [itemId, old] of [...this.#current]) {
      if (next.has(itemId)) continue;
      this.#current.delete(itemId);
      this.emit('change', { source: 'snapshot', event: 'REMOVE', key: this.key, itemId, item: old, seq });
    }
    for (const [itemId, item] of next) {
      const old = this.#current.get(itemId);
      if (old !== undefined && sameJson(old, item)) continue;
      this.#current.set(itemId, item);
      const event = old === undefined ? 'INSERT' : 'MODIFY';
      this.emit('change', { source: 'snapshot', event, key: this.key, itemId, item, seq });
    }
  }

  /** Applies a live change unless it is a repeat; returns a promise when its item must be fetched first. */
  #apply(change: IncomingChange): Promise<void> | undefined {
    if (!this.active) return undefined;
    if (this.#lastSeq !== undefined && compareSeq(change.seq, this.#lastSeq) <= 0) return undefined;
    if (change.truncated === true && change.event !== 'REMOVE' && this.#host.fetchItem !== undefined) {
      return this.#host.fetchItem(this.key, change.itemId).then(
        (item) => this.#commit(change, item ?? placeholder(change.itemId)),
        (error: unknown) => {
          this.#report(
            error,
            `item ${JSON.stringify(change.itemId)} of ${JSON.stringify(this.key)} could not be fetched`,
          );
          this.#commit(change, placeholder(change.itemId));
        },
      );
    }
    const item = change.truncated === true && change.event !== 'REMOVE' ? placeholder(change.itemId) : change.item;
    this.#commit(change, item);
    return undefined;
  }

  #commit(change: IncomingChange, item: Item | undefined): void {
    if (!this.active) return;
    // A fetch may have raced a repeat of the same change; the seq check is the one that counts.
    if (this.#lastSeq !== undefined && compareSeq(change.seq, this.#lastSeq) <= 0) return;
    this.#lastSeq = change.seq;
    const event: ItemEvent =
      change.event === 'PRESENCE' ? (this.#current.has(change.itemId) ? 'MODIFY' : 'INSERT') : change.event;
    if (event === 'REMOVE') this.#current.delete(change.itemId);
    else if (item !== undefined) this.#current.set(change.itemId, item);
    const emitted: LiveChange = {
      source: 'live',
      event,
      key: this.key,
      itemId: change.itemId,
      seq: change.seq,
      at: change.at,
    };
    if (item !== undefined) emitted.item = item;
    if (change.truncated) emitted.truncated = true;
    if (change.conflated !== undefined) emitted.conflated = change.conflated;
    if (change.presence !== undefined) emitted.presence = change.presence;
    this.emit('change', emitted);
  }

  /** Runs `then` with the snapshot's items once truncated entries and the pages after a partial one are fetched. */
  #withFullItems(
    items: Item[],
    nextToken: string | undefined,
    then: (items: Item[]) => void | Promise<void>,
  ): void | Promise<void> {
    const fetchItem = this.#host.fetchItem;
    const fetchRemaining = this.#host.fetchRemaining;
    const truncated = items.some((item) => item.truncated === true);
    if ((!truncated || fetchItem === undefined) && (nextToken === undefined || fetchRemaining === undefined)) {
      if (nextToken !== undefined) {
        this.#report(undefined, `the snapshot of ${JSON.stringify(this.key)} is partial and the client has no httpUrl`);
      }
      return then(items);
    }
    return (async () => {
      let all = items;
      if (nextToken !== undefined && fetchRemaining !== undefined) {
        try {
          all = [...items, ...(await fetchRemaining(this.key, nextToken))];
        } catch (error) {
          this.#report(error, `the rest of the partial snapshot of ${JSON.stringify(this.key)} could not be fetched`);
        }
      }
      const full = await Promise.all(
        all.map(async (item) => {
          if (item.truncated !== true || fetchItem === undefined || typeof item.itemId !== 'string') return item;
          try {
            return (await fetchItem(this.key, item.itemId)) ?? item;
          } catch (error) {
            this.#report(
              error,
              `item ${JSON.stringify(item.itemId)} of ${JSON.stringify(this.key)} could not be fetched`,
            );
            return item;
          }
        }),
      );
      await then(full);
    })();
  }

  #report(cause: unknown, message: string): void {
    const error =
      cause === undefined
        ? new RealtimeErrorClass(message, { retryable: false })
        : asRealtimeError(
            cause,
            (text, original) => new RealtimeErrorClass(`${message}: ${text}`, { retryable: true, cause: original }),
          );
    this.emit('error', error);
  }

  #run(task: Task): void {
    this.#tasks.push(task);
    if (!this.#running) this.#drain();
  }

  #drain(): void {
    this.#running = true;
    for (let task = this.#tasks.shift(); task !== undefined; task = this.#tasks.shift()) {
      let pending: void | Promise<void>;
      try {
        pending = task();
      } catch (error) {
        this.#host.listenerFailed(error);
        continue;
      }
      if (pending instanceof Promise) {
        pending.catch((error: unknown) => this.#host.listenerFailed(error)).finally(() => this.#drain());
        return;
      }
    }
    this.#running = false;
  }
}

/** The IncomingChange of a presence frame: the user's presence item, changed. */
export function presenceChange(frame: {
  event: 'join' | 'leave' | 'update';
  userId: string;
  presence: Record<string, unknown>;
  seq: string;
  at: number;
}): IncomingChange {
  return {
    event: 'PRESENCE',
    itemId: PRESENCE_ITEM_ID,
    item: { itemId: PRESENCE_ITEM_ID, userId: frame.userId, ...frame.presence },
    seq: frame.seq,
    at: frame.at,
    presence: frame.event,
  };
}
