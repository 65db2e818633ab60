import { createHash } from 'node:crypto';
import { type QueryCommandInput, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type ChatMessage, chatKey, MAX_MESSAGE_SEQ, messageIdOf, messageItemId } from '@real-time-platform/protocol';
import { type BackoffOptions, fullJitterDelay } from '../../lib/backoff';
import { StorageError } from '../../lib/errors';
import { cancellationCodes } from '../access-checks';
import { queryPages } from '../paged-query';
import { storage } from '../storage';
import { type ConversationActivity, counterOf, isContention, toMessage } from './items';
import type { AppendResult, ChatStore } from './port';
import type { ChatTable } from './table';

/** How long a re-sent message (same sender, tempMessageId and content) is recognised. */
const SENT_ROW_TTL_SECONDS = 24 * 3600;

export interface MessageRowsDeps {
  table: ChatTable;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random?: () => number;
  backoff: BackoffOptions;
  /** Attempts of a message append under contention (other senders of the same conversation). */
  maxAttempts: number;
  /** Longest a message append keeps retrying, ms (the caller's deadline may cut it shorter). */
  appendBudgetMs: number;
}

/** Messages: appended gap-free in commit order, read by number range. */
export function messageRows(
  deps: MessageRowsDeps,
): Pick<ChatStore, 'appendMessage' | 'activityOf' | 'messages' | 'sendersBetween'> {
  const { table, now } = deps;
  const { tableName, keys } = table;

  /** The Query of a conversation's messages numbered `from` to `to`, both included. */
  const messagesBetween = (conversationId: string, window: { from: number; to: number }): QueryCommandInput => ({
    TableName: tableName,
    KeyConditionExpression: '#k = :k AND itemId BETWEEN :from AND :to',
    ExpressionAttributeNames: table.names,
    ExpressionAttributeValues: {
      ':k': chatKey(conversationId),
      ':from': messageItemId(window.from),
      ':to': messageItemId(window.to),
    },
  });

  /**
   * The message a re-send names: the de-duplication row says which one (it is written in the message's own
   * transaction, so the message exists whenever the row does; messages are never deleted).
   */
  async function storedBefore(
    conversationId: string,
    senderId: string,
    tempMessageId: string,
  ): Promise<Extract<AppendResult, { status: 'duplicate' }>> {
    const sent = await table.get(keys.sent(conversationId, senderId, tempMessageId));
    const messageId = typeof sent?.messageId === 'string' ? sent.messageId : undefined;
    const seq = messageId === undefined ? Number.NaN : Number(messageId);
    const item = Number.isSafeInteger(seq)
      ? await table.get(keys.message(conversationId, messageItemId(seq)))
      : undefined;
    const message = item === undefined ? undefined : toMessage(item);
    if (item === undefined || message === undefined) {
      throw new StorageError(
        `the re-sent message ${tempMessageId} of conversation ${conversationId} names message ${messageId ?? '(none)'}, which was not found`,
        { retryable: false },
      );
    }
    return { status: 'duplicate', message, item };
  }

  /** One transaction: the counter from n-1 to n, message n, and the de-duplication row when there is a tempMessageId. */
  function appendTransaction(message: ChatMessage, previous: ConversationActivity, contentHash: string) {
    const id = message.conversationId;
    const seq = previous.lastSeq + 1;
    const nowSeconds = Math.floor(now() / 1000);
    return new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: tableName,
            Key: keys.state(id),
            UpdateExpression: 'SET lastSeq = :seq, lastMessageAt = :at',
            ConditionExpression: 'lastSeq = :previous',
            ExpressionAttributeValues: { ':seq': seq, ':at': message.sentAt, ':previous': previous.lastSeq },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: tableName,
            Item: { ...keys.message(id, messageItemId(seq)), ...message },
            ConditionExpression: 'attribute_not_exists(itemId)',
          },
        },
        // A re-sent message (same sender, tempMessageId and content within 24 h: the client did not see its echo
        // and sent it again) fails here and is stored once. A tempMessageId reused for other content (a client whose
        // counter restarted at "t-1") is a new message: the row is replaced.
        ...(message.tempMessageId === undefined
          ? []
          : [
              {
                Put: {
                  TableName: tableName,
                  Item: {
                    ...keys.sent(id, message.senderId, message.tempMessageId),
                    messageId: message.messageId,
                    contentHash,
                    expiresAt: nowSeconds + SENT_ROW_TTL_SECONDS,
                  },
                  ConditionExpression: 'attribute_not_exists(itemId) OR contentHash <> :hash OR expiresAt < :now',
                  ExpressionAttributeValues: { ':hash': contentHash, ':now': nowSeconds },
                },
              },
            ]),
      ],
    });
  }

  return {
    /*
     * Ordering: each message is one transaction [counter: SET lastSeq = n IF lastSeq = n-1; PUT msg#n]. The
     * condition makes commits of one conversation strictly sequential, so message n+1 commits after message n: the
     * stream (and so every participant) sees messages in number order, the history is sorted by number, and numbers
     * have no gaps (a failed transaction writes nothing). A sender that loses the race learns the counter from the
     * cancellation (or re-reads it) and tries the next number after a short jittered delay, until the deadline: then
     * a retryable StorageError ("busy"; the client sends again, and the tempMessageId keeps it from being stored
     * twice). Contention costs retries only among senders of the same conversation at the same moment.
     */
    appendMessage: (input, options = {}) =>
      storage('store the message', async () => {
        const id = input.conversationId;
        const contentHash = createHash('sha256').update(input.content, 'utf8').digest('base64url');
        const giveUpAt = Math.min(now() + deps.appendBudgetMs, options.deadline ?? Number.POSITIVE_INFINITY);
        // A lost race returns the counter as the winner left it (ReturnValuesOnConditionCheckFailure), which saves
        // the next attempt its read.
        let known: ConversationActivity | undefined;
        for (let attempt = 1; ; attempt++) {
          const activity = known ?? (await table.readActivity(id));
          known = undefined;
          if (activity === undefined) throw new StorageError(`conversation ${id} has no counter`, { retryable: false });
          const seq = activity.lastSeq + 1;
          if (seq > MAX_MESSAGE_SEQ) throw new StorageError(`conversation ${id} is full`, { retryable: false });
          // Server time, but never before the previous message: sentAt agrees with the order across clock skew.
          const clock = new Date(now()).toISOString();
          const sentAt =
            activity.lastMessageAt !== undefined && activity.lastMessageAt > clock ? activity.lastMessageAt : clock;
          const message: ChatMessage = {
            messageId: messageIdOf(seq),
            conversationId: id,
            senderId: input.senderId,
            content: input.content,
            sentAt,
            ...(input.tempMessageId === undefined ? {} : { tempMessageId: input.tempMessageId }),
          };
          try {
            await table.ddb.send(appendTransaction(message, activity, contentHash));
            return { status: 'stored', message };
          } catch (error) {
            const codes = cancellationCodes(error);
            if (input.tempMessageId !== undefined && codes?.[2] === 'ConditionalCheckFailed') {
              return await storedBefore(id, input.senderId, input.tempMessageId);
            }
            if (!isContention(error, codes)) throw error;
            known = counterOf(error);
            const delay = fullJitterDelay(attempt, deps.backoff, deps.random);
            if (attempt >= deps.maxAttempts || now() + delay >= giveUpAt) {
              throw new StorageError(`conversation ${id} stayed busy for ${attempt} attempts`, {
                retryable: true,
                cause: error,
              });
            }
            await deps.sleep(delay);
          }
        }
      }),

    activityOf: (conversationId) => storage('read the conversation counter', () => table.readActivity(conversationId)),

    messages: (conversationId, window, order, limit) =>
      storage('read messages', async () => {
        const items = await queryPages(
          table.ddb,
          {
            ...messagesBetween(conversationId, window),
            ScanIndexForward: order === 'asc',
            // A page must include every message committed before it, or a client paging forward would skip one.
            ConsistentRead: true,
          },
          { limit },
        );
        return items.map(toMessage).filter((m): m is ChatMessage => m !== undefined);
      }),

    sendersBetween: (conversationId, window) =>
      storage('count unread messages', async () => {
        const items = await table.queryAll({
          ...messagesBetween(conversationId, window),
          ProjectionExpression: 'senderId',
        });
        return items.map((item) => (typeof item.senderId === 'string' ? item.senderId : ''));
      }),
  };
}
