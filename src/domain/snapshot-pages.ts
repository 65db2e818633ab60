import { MAX_MESSAGE_BYTES, MAX_SNAPSHOT_ITEMS, type PlainItem } from '@real-time-platform/protocol';

/**
 * Packs a key's items into `snapshot` pages as they are read, each page's JSON at most `maxBytes` (API Gateway's
 * 128 KB), so a 10,000-item snapshot is never held in memory at once: the fan-out reads a Query page, adds its items,
 * posts the pages that filled up, and reads on.
 *
 * Pages are written as JSON text directly (the items are stringified once, for their size and for the page) and
 * their fields come in this order: type, key, items, position, page, then `"more":true` or `"complete":…`
 * (+ `nextToken`). The size of that tail is reserved before an item is added, so the last page can always say
 * "complete" or "partial" without moving items around.
 */

export interface SnapshotPage {
  /** The page's JSON, UTF-8, at most maxBytes. */
  data: Uint8Array;
  /** How many items it carries. */
  items: number;
}

export interface SnapshotPagerOptions {
  key: string;
  /** The stream sequence number the snapshot was read at. */
  position: string;
  /** The GET /items/{key} token that continues after `itemId` (item-store.ts encodeToken). */
  nextTokenOf: (itemId: string) => string;
  maxBytes?: number;
  maxItems?: number;
}

const MORE_TAIL = ',"more":true';
const COMPLETE_TAIL = ',"complete":true';

/** Builds the pages of one snapshot; `add` items in order, then `finish`. */
export class SnapshotPager {
  readonly maxItems: number;
  readonly #options: Required<Omit<SnapshotPagerOptions, 'maxItems'>>;
  readonly #keyJson: string;
  readonly #positionJson: string;
  #page = 0;
  #texts: string[] = [];
  #bytes = 0;
  #added = 0;
  #lastItemId: string | undefined;
  #finished = false;

  constructor(options: SnapshotPagerOptions) {
    this.#options = { maxBytes: MAX_MESSAGE_BYTES, ...options };
    this.maxItems = options.maxItems ?? MAX_SNAPSHOT_ITEMS;
    this.#keyJson = JSON.stringify(options.key);
    this.#positionJson = JSON.stringify(options.position);
  }

  /** Items added so far. */
  get count(): number {
    return this.#added;
  }

  /**
   * Adds the next item (in itemId order); returns the page it closed, if the item did not fit on the current one.
   * At most maxItems items may be added.
   */
  add(item: PlainItem): SnapshotPage[] {
    if (this.#finished || this.#added >= this.maxItems) throw new Error('the snapshot is full or finished');
    this.#added++;
    const itemId = typeof item.itemId === 'string' ? item.itemId : String(item.itemId);
    this.#lastItemId = itemId;
    // Only the maxItems-th item can end a partial snapshot, so only it reserves room for a nextToken.
    const tail = this.#tailReserve(this.#added === this.maxItems ? itemId : undefined);
    let text = JSON.stringify(item);
    let size = utf8(text);
    if (this.#overhead() + size + tail > this.#options.maxBytes) {
      // Too large even alone: the client learns the item exists and fetches it with GET /items/{key}/{itemId}.
      text = JSON.stringify({ itemId, truncated: true });
      size = utf8(text);
    }
    const closed: SnapshotPage[] = [];
    const separator = this.#texts.length === 0 ? 0 : 1;
    if (this.#texts.length > 0 && this.#overhead() + this.#bytes + separator + size + tail > this.#options.maxBytes) {
      closed.push(this.#close(MORE_TAIL));
    }
    this.#bytes += (this.#texts.length === 0 ? 0 : 1) + size;
    this.#texts.push(text);
    return closed;
  }

  /**
   * The last page: `complete: true`, or with `partial` (the key had more items than were added) `complete: false`
   * and the nextToken after the last item. An empty snapshot is one page with no items.
   */
  finish(partial: boolean): SnapshotPage {
    if (this.#finished) throw new Error('the snapshot is already finished');
    // Only the maxItems-th item reserved room for the nextToken (see add).
    if (partial && this.#added !== this.maxItems) throw new Error('a snapshot is partial only past maxItems items');
    this.#finished = true;
    if (!partial || this.#lastItemId === undefined) return this.#close(COMPLETE_TAIL);
    return this.#close(`,"complete":false,"nextToken":${JSON.stringify(this.#options.nextTokenOf(this.#lastItemId))}`);
  }

  /**
   * Bytes of a page without its items and tail: `{"type":"snapshot","key":…,"items":[],"position":…,"page":N}`,
   * counted with the next page's number, so an item that moves to a new page (9 → 10) still fits there.
   */
  #overhead(): number {
    return utf8(this.#head()) + utf8(`],"position":${this.#positionJson},"page":${this.#page + 1}}`);
  }

  #head(): string {
    return `{"type":"snapshot","key":${this.#keyJson},"items":[`;
  }

  #tailReserve(partialAfter: string | undefined): number {
    const partial =
      partialAfter === undefined
        ? 0
        : utf8(`,"complete":false,"nextToken":${JSON.stringify(this.#options.nextTokenOf(partialAfter))}`);
    return Math.max(MORE_TAIL.length, COMPLETE_TAIL.length, partial);
  }

  #close(tail: string): SnapshotPage {
    const text = `${this.#head()}${this.#texts.join(',')}],"position":${this.#positionJson},"page":${this.#page}${tail}}`;
    const page = { data: Buffer.from(text, 'utf8'), items: this.#texts.length };
    this.#page++;
    this.#texts = [];
    this.#bytes = 0;
    return page;
  }
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
