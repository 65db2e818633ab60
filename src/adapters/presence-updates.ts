import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { PRESENCE_ITEM_ID, presenceKey } from '@real-time-platform/protocol';
import type { ConnectTransition, DisconnectTransition } from '../domain/presence';

/**
 * The presence item's update for each transition a connection causes (see src/domain/presence.ts), as one item of
 * the transaction that also writes or deletes the connection's rows. Each update is conditioned on the state the
 * transition was chosen from, so a concurrent change cancels the transaction and the store decides again.
 */

/**
 * The presence update of a transition. For `remove-connection`, `closing` says which connection ends and whether
 * it set the page just read: then the page goes too, on condition that it still owns it; otherwise on condition
 * that it does not (a page it set meanwhile makes the close re-read and take that page down).
 */
export function presenceUpdate(
  table: { dataTable: string; keyAttribute: string },
  userId: string,
  transition: ConnectTransition | DisconnectTransition,
  at: number,
  closing?: { connectionId: string; setThePage: boolean },
): NonNullable<TransactWriteCommandInput['TransactItems']>[number] {
  const base = {
    TableName: table.dataTable,
    Key: { [table.keyAttribute]: presenceKey(userId), itemId: PRESENCE_ITEM_ID },
  };
  switch (transition) {
    case 'come-online':
      return {
        Update: {
          ...base,
          UpdateExpression:
            'SET #status = :online, #connections = :one, #since = :now, #lastSeenAt = :now, #transition = :join, ' +
            '#userId = :userId REMOVE #page, #pageConnectionId',
          ConditionExpression: 'attribute_not_exists(#key) OR #status <> :online',
          ExpressionAttributeNames: {
            '#key': table.keyAttribute,
            '#status': 'status',
            '#connections': 'connections',
            '#since': 'since',
            '#lastSeenAt': 'lastSeenAt',
            '#transition': 'transition',
            '#userId': 'userId',
            '#page': 'page',
            '#pageConnectionId': 'pageConnectionId',
          },
          ExpressionAttributeValues: {
            ':online': 'online',
            ':one': 1,
            ':now': at,
            ':join': 'join',
            ':userId': userId,
          },
        },
      };
    case 'add-connection':
      return {
        Update: {
          ...base,
          UpdateExpression: 'SET #connections = #connections + :one, #lastSeenAt = :now, #transition = :update',
          ConditionExpression: '#status = :online',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#connections': 'connections',
            '#lastSeenAt': 'lastSeenAt',
            '#transition': 'transition',
          },
          ExpressionAttributeValues: { ':online': 'online', ':one': 1, ':now': at, ':update': 'update' },
        },
      };
    case 'remove-connection': {
      if (closing === undefined) throw new Error('remove-connection needs the closing connection');
      const decrement = 'SET #connections = #connections - :one, #lastSeenAt = :now, #transition = :update';
      return {
        Update: {
          ...base,
          UpdateExpression: closing.setThePage ? `${decrement} REMOVE #page, #pageConnectionId` : decrement,
          ConditionExpression: closing.setThePage
            ? '#status = :online AND #connections > :one AND #pageConnectionId = :connectionId'
            : '#status = :online AND #connections > :one AND ' +
              '(attribute_not_exists(#pageConnectionId) OR #pageConnectionId <> :connectionId)',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#connections': 'connections',
            '#lastSeenAt': 'lastSeenAt',
            '#transition': 'transition',
            '#pageConnectionId': 'pageConnectionId',
            ...(closing.setThePage ? { '#page': 'page' } : {}),
          },
          ExpressionAttributeValues: {
            ':online': 'online',
            ':one': 1,
            ':now': at,
            ':update': 'update',
            ':connectionId': closing.connectionId,
          },
        },
      };
    }
    case 'go-offline':
      return {
        Update: {
          ...base,
          UpdateExpression:
            'SET #status = :offline, #connections = :zero, #since = :now, #lastSeenAt = :now, #transition = :leave ' +
            'REMOVE #page, #pageConnectionId',
          ConditionExpression: '#status = :online AND #connections <= :one',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#connections': 'connections',
            '#since': 'since',
            '#lastSeenAt': 'lastSeenAt',
            '#transition': 'transition',
            '#page': 'page',
            '#pageConnectionId': 'pageConnectionId',
          },
          ExpressionAttributeValues: {
            ':offline': 'offline',
            ':online': 'online',
            ':zero': 0,
            ':one': 1,
            ':now': at,
            ':leave': 'leave',
          },
        },
      };
    case 'settle-only':
      // Presence is not online although a row existed (an item removed by hand): delete the row, leave presence
      // alone, but only while that is still true.
      return {
        ConditionCheck: {
          ...base,
          ConditionExpression: 'attribute_not_exists(#key) OR #status <> :online',
          ExpressionAttributeNames: { '#key': table.keyAttribute, '#status': 'status' },
          ExpressionAttributeValues: { ':online': 'online' },
        },
      };
  }
}
