/**
 * Which connections a record had already reached when the fan-out reported it in `batchItemFailures`.
 *
 * A record fails as a whole: when one subscriber's post gives up (throttled past the sender's retries, say), the
 * record goes back to the stream for every subscriber, and those it had reached would get it twice. Lambda re-delivers
 * it with the same sequence number, and one shard's batches run one at a time, usually in the same warm container:
 * there this ledger lets the fan-out skip the connections the record already reached. In another container it is
 * sent to all again — at least once, as streams deliver, and a client drops a `seq` it has already seen.
 *
 * Bounded: past `maxPairs` (record, connection) pairs the oldest records are forgotten, which again only means a
 * possible repeat.
 */
export class RedeliveryLedger {
  private readonly reached = new Map<string, Set<string>>();
  private pairs = 0;

  constructor(private readonly maxPairs = 100_000) {}

  /** Whether any connection is remembered for the record `seq`. */
  knows(seq: string): boolean {
    return this.reached.has(seq);
  }

  /** Whether the record `seq` has already reached `connectionId`. */
  reachedBefore(seq: string, connectionId: string): boolean {
    return this.reached.get(seq)?.has(connectionId) === true;
  }

  /** The record `seq` failed after reaching `connectionIds` (added to those remembered from earlier attempts). */
  remember(seq: string, connectionIds: Iterable<string>): void {
    let set = this.reached.get(seq);
    for (const connectionId of connectionIds) {
      if (set === undefined) {
        set = new Set();
        this.reached.set(seq, set);
      }
      if (set.has(connectionId)) continue;
      set.add(connectionId);
      this.pairs++;
    }
    for (const [oldest, connections] of this.reached) {
      if (this.pairs <= this.maxPairs) break;
      this.reached.delete(oldest);
      this.pairs -= connections.size;
    }
  }

  /** The record `seq` went out to every subscriber: nothing more to skip for it. */
  forget(seq: string): void {
    const connections = this.reached.get(seq);
    if (connections === undefined) return;
    this.reached.delete(seq);
    this.pairs -= connections.size;
  }

  get size(): number {
    return this.reached.size;
  }
}
