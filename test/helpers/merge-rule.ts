import { compareSeq } from '@real-time-platform/protocol';
import type { Frame } from '@real-time-platform/test-support';

/**
 * The README's merge rule for one key, as a client follows it (packages/protocol/README.md): live frames are kept
 * aside until the snapshot's last page, the snapshot replaces the items and sets the position, the frames kept aside
 * with a greater seq are applied, and from then on each live frame with a seq greater than the last applied one.
 * Fed the frames a socket received, in order (batches already unwrapped).
 */
export class MergedKey {
  readonly items = new Map<string, Record<string, unknown>>();
  synced = false;
  position: string | undefined;
  /** Items of the snapshot being collected; a page 0 starts it afresh. */
  #collecting: Record<string, unknown>[] | undefined;
  #aside: Frame[] = [];
  #last: string | undefined;

  constructor(readonly key: string) {}

  handle(frame: Frame): void {
    if (frame.key !== this.key) return;
    if (frame.type === 'snapshot') {
      if (frame.page === 0) this.#collecting = [];
      this.#collecting?.push(...(frame.items as Record<string, unknown>[]));
      if (frame.more === true) return;
      if (frame.complete !== true) throw new Error('a partial snapshot: page the rest with GET /items/{key}');
      this.items.clear();
      for (const item of this.#collecting ?? []) this.items.set(item.itemId as string, item);
      this.#collecting = undefined;
      this.position = frame.position as string;
      this.#last = this.position;
      this.synced = true;
      const aside = this.#aside;
      this.#aside = [];
      for (const kept of aside) this.#apply(kept);
      return;
    }
    if (frame.type !== 'item') return;
    if (!this.synced || this.#collecting !== undefined) this.#aside.push(frame);
    else this.#apply(frame);
  }

  #apply(frame: Frame): void {
    const seq = frame.seq as string;
    if (this.#last !== undefined && compareSeq(seq, this.#last) <= 0) return;
    this.#last = seq;
    if (frame.event === 'REMOVE') this.items.delete(frame.itemId as string);
    else this.items.set(frame.itemId as string, frame.item as Record<string, unknown>);
  }
}
