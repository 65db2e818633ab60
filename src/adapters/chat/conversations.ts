import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Conversation } from '@real-time-platform/protocol';
import { type BackoffOptions, fullJitterDelay } from '../../lib/backoff';
import { cancellationCodes } from '../access-checks';
import { storage } from '../storage';
import { isContention, toConversation } from './items';
import type { ChatStore, ConversationCache } from './port';
import type { ChatTable } from './table';

export interface ConversationRowsDeps {
  table: ChatTable;
  cache: ConversationCache;
  sleep: (ms: number) => Promise<void>;
  random?: () => number;
  backoff: BackoffOptions;
}

/** Conversations: their description, counter and per-user index rows, written together; reads through the cache. */
export function conversationRows(
  deps: ConversationRowsDeps,
): Pick<ChatStore, 'createConversation' | 'getConversation' | 'conversationsOf'> {
  const { table, cache } = deps;
  const { tableName, keys } = table;
  return {
    createConversation: (conversation, options = {}) =>
      storage('create the conversation', async () => {
        const id = conversation.conversationId;
        const { title, ...rest } = conversation;
        const description = { ...rest, ...(title === undefined ? {} : { title }) };
        // The creator is the signed-in caller. With requireKnownUsers everyone else must have connected once, checked
        // in the transaction (nothing is written for an unknown user); without it, ids were checked for shape only
        // and a user who signs in later finds the conversation in their index.
        const others =
          options.requireKnownUsers === true
            ? conversation.participants.filter((userId) => userId !== conversation.createdBy)
            : [];
        const firstCheck = 2 + conversation.participants.length;
        for (let attempt = 1; ; attempt++) {
          try {
            await table.ddb.send(
              new TransactWriteCommand({
                TransactItems: [
                  {
                    Put: {
                      TableName: tableName,
                      Item: { ...keys.conversation(id), ...description },
                      ConditionExpression: 'attribute_not_exists(itemId)',
                    },
                  },
                  {
                    Put: {
                      TableName: tableName,
                      Item: { ...keys.state(id), conversationId: id, lastSeq: 0 },
                      ConditionExpression: 'attribute_not_exists(itemId)',
                    },
                  },
                  ...conversation.participants.map((userId) => ({
                    Put: { TableName: tableName, Item: { ...keys.index(userId, id), ...description } },
                  })),
                  ...others.map((userId) => ({
                    ConditionCheck: {
                      TableName: tableName,
                      Key: keys.presence(userId),
                      ConditionExpression: 'attribute_exists(itemId)',
                    },
                  })),
                ],
              }),
            );
            cache.set(conversation);
            return { status: 'created', conversation };
          } catch (error) {
            const codes = cancellationCodes(error);
            if (codes?.[0] === 'ConditionalCheckFailed') {
              const existing = await table.readConversation(id);
              if (existing !== undefined) {
                cache.set(existing);
                return { status: 'exists', conversation: existing };
              }
            }
            const unknown = others.filter((_, i) => codes?.[firstCheck + i] === 'ConditionalCheckFailed');
            if (unknown.length > 0) return { status: 'unknown-users', userIds: unknown };
            // Two first requests for the same direct pair at once: DynamoDB cancels one as a conflict; the next
            // attempt finds the other's conversation.
            if (!isContention(error, codes) || attempt >= 5) throw error;
            await deps.sleep(fullJitterDelay(attempt, deps.backoff, deps.random));
          }
        }
      }),

    getConversation: (conversationId) =>
      storage('read the conversation', async () => {
        const cached = cache.get(conversationId);
        if (cached !== undefined) return cached;
        const conversation = await table.readConversation(conversationId);
        if (conversation !== undefined) cache.set(conversation);
        return conversation;
      }),

    conversationsOf: (userId) =>
      storage("read the user's conversations", async () => {
        const items = await table.queryPartition(keys.indexPartition(userId));
        return items.map(toConversation).filter((c): c is Conversation => c !== undefined);
      }),
  };
}
