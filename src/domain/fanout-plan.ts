/**
 * The fan-out plan of one stream batch: changes grouped by key in stream order, and the bookkeeping that turns
 * "this delivery failed" into the sequence numbers Lambda must re-deliver. Lambda checkpoints at the lowest
 * reported sequence number, so reporting a failed record *and every later record of its key* is what keeps each
 * key's order for every subscriber across retries.
 */

export interface Sequenced {
  key: string;
  seq: string;
}

/** One batch's changes by key, plus which of them must be re-delivered. */
export class FanoutPlan<C extends Sequenced> {
  /** Changes per key, each list in stream order. Map order = first appearance in the batch. */
  readonly byKey = new Map<string, C[]>();
  readonly #batchIndex = new Map<C, number>();
  readonly #position = new Map<C, number>();
  readonly #failedFrom = new Map<string, number>();

  constructor(changes: readonly C[]) {
    changes.forEach((change, index) => {
      this.#batchIndex.set(change, index);
      const list = this.byKey.get(change.key);
      this.#position.set(change, list?.length ?? 0);
      if (list === undefined) this.byKey.set(change.key, [change]);
      else list.push(change);
    });
  }

  /** The change's place in the batch (stream order across keys). */
  batchIndexOf(change: C): number {
    return this.#batchIndex.get(change) ?? 0;
  }

  /** The change's place among its key's changes (what failFrom and isFailed take). */
  positionOf(change: C): number {
    return this.#position.get(change) ?? 0;
  }

  /** Whether the change will be re-delivered anyway (it or an earlier change of its key failed). */
  hasFailed(change: C): boolean {
    return this.isFailed(change.key, this.positionOf(change));
  }

  /** Marks the change, and every later change of its key, as not delivered. */
  fail(change: C): void {
    this.failFrom(change.key, this.positionOf(change));
  }

  /** Keys ordered by their number of changes, longest first: the longest per-subscriber chains start first. */
  keysLongestFirst(): string[] {
    return [...this.byKey.keys()].sort((a, b) => (this.byKey.get(b)?.length ?? 0) - (this.byKey.get(a)?.length ?? 0));
  }

  /** Marks the key's change at `position` (and so every later one) as not delivered. */
  failFrom(key: string, position = 0): void {
    const current = this.#failedFrom.get(key);
    if (current === undefined || position < current) this.#failedFrom.set(key, position);
  }

  /** True when the change at `position` of `key` will be re-delivered anyway, so posting it now is wasted. */
  isFailed(key: string, position: number): boolean {
    const from = this.#failedFrom.get(key);
    return from !== undefined && position >= from;
  }

  /** The changes to report in `batchItemFailures`, in stream order. */
  failedChanges(): C[] {
    const failed: C[] = [];
    for (const [key, from] of this.#failedFrom) failed.push(...(this.byKey.get(key) ?? []).slice(from));
    return failed.sort((a, b) => (this.#batchIndex.get(a) ?? 0) - (this.#batchIndex.get(b) ?? 0));
  }
}
