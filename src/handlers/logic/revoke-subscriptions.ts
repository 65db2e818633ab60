import type { ConnectionRepository } from '../../adapters/connection-repository';

/** What ending a user's subscriptions reads and deletes. */
export type RevocationConnections = Pick<
  ConnectionRepository,
  'connectionsOfUser' | 'subscribersOf' | 'connectionOf' | 'unsubscribe'
>;

/** Connection rows read at a time when sorting a key's subscribers by user. */
const READ_CONCURRENCY = 25;

/**
 * Ends `userId`'s live subscriptions to `key` once the row that granted them (a calendar share, a friendship) is
 * gone; returns the connections whose subscription row was deleted (or was already absent). Call it after deleting
 * or changing the grant row, never before.
 *
 * Why that order is enough: a subscription to a guarded key is written in one transaction with a ConditionCheck on
 * the grant row (`subscribe` and $connect). So it either committed before the grant was deleted — then its row
 * exists when we look here — or it fails its check and is never written. What is left is finding the rows: both
 * ways to find them are GSIs, eventually consistent on AWS (DynamoDB Local updates them synchronously), so both are
 * used and their results united:
 * - `connectionsByUser` (the user's connection rows): covers a subscription added to a connection opened earlier,
 *   however recent the subscription — the delete below targets the row by its exact key in the base table;
 * - `subscribersByKey` (the key's subscription rows), each connection row then read consistently for its userId:
 *   covers a connection whose connection row is not in connectionsByUser yet.
 * Residual window: a subscription missed by both — its connection row and its subscription row both written within
 * the index propagation delay (typically well under a second) before these queries, i.e. a $connect with the key or
 * a subscribe right after connecting, racing the revoke. Such a subscription lives until the connection ends.
 */
export async function endSubscriptionsOf(
  connections: RevocationConnections,
  userId: string,
  key: string,
): Promise<string[]> {
  const [ofUser, ofKey] = await Promise.all([connections.connectionsOfUser(userId), connections.subscribersOf(key)]);
  const found = new Set(ofUser);
  const unknown = ofKey.filter((connectionId) => !found.has(connectionId));
  for (let start = 0; start < unknown.length; start += READ_CONCURRENCY) {
    const batch = unknown.slice(start, start + READ_CONCURRENCY);
    const rows = await Promise.all(batch.map((connectionId) => connections.connectionOf(connectionId)));
    // A subscriber whose connection row is gone is being cleaned up by $disconnect (or the fan-out on 410).
    for (const row of rows) if (row?.userId === userId) found.add(row.connectionId);
  }
  const ended = [...found];
  await Promise.all(ended.map((connectionId) => connections.unsubscribe(connectionId, [key])));
  return ended;
}
