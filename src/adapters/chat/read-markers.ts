import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type ChatMessage,
  chatKey,
  messageItemId,
  READ_MARKER_ITEM_PREFIX,
  type ReadReceipt,
  readMarkerItemId,
} from '@real-time-platform/protocol';
import { storage, writtenUnlessConditionFails } from '../storage';
import { type ConversationActivity, toActivity, toMessage, toReceipt } from './items';
import type { ChatStore } from './port';
import type { ChatTable } from './table';

/** Read markers, and the per-conversation reads a conversation list needs (counters, latest messages, markers). */
export function readMarkerRows(
  table: ChatTable,
): Pick<ChatStore, 'markRead' | 'readMarkers' | 'activitiesOf' | 'latestAndMarkers'> {
  const { tableName, keys } = table;
  return {
    markRead: (receipt) =>
      storage('store the read marker', () =>
        writtenUnlessConditionFails(() =>
          table.ddb.send(
            new UpdateCommand({
              TableName: tableName,
              Key: keys.message(receipt.conversationId, readMarkerItemId(receipt.userId)),
              UpdateExpression: 'SET conversationId = :c, userId = :u, upTo = :upTo, readAt = :at',
              // Markers only move forward. Message ids are fixed-width digits, so string order is number order.
              ConditionExpression: 'attribute_not_exists(upTo) OR upTo < :upTo',
              ExpressionAttributeValues: {
                ':c': receipt.conversationId,
                ':u': receipt.userId,
                ':upTo': receipt.upTo,
                ':at': receipt.readAt,
              },
            }),
          ),
        ),
      ),

    readMarkers: (conversationId) =>
      storage('read the read markers', async () => {
        const items = await table.queryPartition(chatKey(conversationId), READ_MARKER_ITEM_PREFIX);
        return items.map(toReceipt).filter((r): r is ReadReceipt => r !== undefined);
      }),

    activitiesOf: (conversationIds) =>
      storage('read conversation counters', async () => {
        const items = await table.batchGet(conversationIds.map(keys.state));
        const activities = new Map<string, ConversationActivity>();
        for (const item of items) {
          const activity = toActivity(item);
          if (typeof item.conversationId === 'string' && activity !== undefined) {
            activities.set(item.conversationId, activity);
          }
        }
        return activities;
      }),

    latestAndMarkers: (entries, userId) =>
      storage('read the latest messages', async () => {
        const rowKeys = entries.flatMap(({ conversationId, lastSeq }) => [
          ...(lastSeq > 0 ? [keys.message(conversationId, messageItemId(lastSeq))] : []),
          keys.message(conversationId, readMarkerItemId(userId)),
        ]);
        const latest = new Map<string, ChatMessage>();
        const markers = new Map<string, ReadReceipt>();
        for (const item of await table.batchGet(rowKeys)) {
          const message = toMessage(item);
          if (message !== undefined) latest.set(message.conversationId, message);
          const receipt = toReceipt(item);
          if (receipt !== undefined) markers.set(receipt.conversationId, receipt);
        }
        return { latest, markers };
      }),
  };
}
