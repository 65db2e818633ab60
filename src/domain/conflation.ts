import { platformKeyOwner } from '@real-time-platform/protocol';

/**
 * Conflation (opt-in, `ConflateChanges`): within one stream batch only the newest change of each item is sent, and
 * its frame says how many older changes of the same item it replaced (`conflated: n`). A subscriber then ends in the
 * same state with fewer messages: right for state-like keys (vehicle positions, dashboards), wrong where every change
 * matters.
 *
 * Never conflated, whatever the configuration — the platform's own domains:
 * - `chat:` (messages, read receipts, the conversation) and `inbox:` (its audience): every change is an event;
 * - `presence:`: its frames are transitions (join / leave / update) computed from each change's old image, so
 *   dropping one loses a join or a leave;
 * - `calendar:` and `friends:`: a few changes a day, nothing to gain.
 * A REMOVE is a change like any other: when it is the newest, it is the one sent, so the client ends without the item.
 */

export interface ConflationRule {
  enabled: boolean;
  /** Key prefixes conflated when enabled; empty = every key no platform domain owns. */
  prefixes: readonly string[];
}

/** Whether changes of `key` are conflated under `rule`. */
export function conflates(rule: ConflationRule, key: string): boolean {
  if (!rule.enabled || platformKeyOwner(key) !== undefined) return false;
  return rule.prefixes.length === 0 || rule.prefixes.some((prefix) => key.startsWith(prefix));
}

/**
 * The changes to send, in batch order: for keys `eligible` says yes to, only the newest change of each
 * (key, itemId), with the number of older changes of that item it replaced; every other change as it is.
 */
export function conflate<C extends { key: string; itemId: string }>(
  changes: readonly C[],
  eligible: (key: string) => boolean,
): { change: C; replaced: number }[] {
  const newest = new Map<string, Map<string, { change: C; replaced: number }>>();
  const kept: { change: C; replaced: number }[] = [];
  // Backwards: the first change met for an item is its newest; older ones only add to its count.
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i] as C;
    if (!eligible(change.key)) {
      kept.push({ change, replaced: 0 });
      continue;
    }
    let items = newest.get(change.key);
    if (items === undefined) {
      items = new Map();
      newest.set(change.key, items);
    }
    const seen = items.get(change.itemId);
    if (seen !== undefined) {
      seen.replaced++;
      continue;
    }
    const entry = { change, replaced: 0 };
    items.set(change.itemId, entry);
    kept.push(entry);
  }
  return kept.reverse();
}
