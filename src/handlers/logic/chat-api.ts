import {
  type Conversation,
  type ConversationSummary,
  conversationIdSchema,
  createConversationBodySchema,
  MAX_MESSAGE_SEQ,
  type Participant,
  seqOf,
  userIdProblem,
} from '@real-time-platform/protocol';
import type { ChatStore } from '../../adapters/chat-store';
import {
  compareByActivity,
  conversationsQuerySchema,
  countUnread,
  DEFAULT_PAGE_SIZE,
  lastActivityAt,
  messagesQuerySchema,
  nextRange,
  planConversation,
  seqWindow,
  unreadWindow,
} from '../../domain/chat';
import {
  decodeConversationsToken,
  decodeMessagesToken,
  directConversationId,
  encodeConversationsToken,
  encodeMessagesToken,
  type MessagesCursor,
  newGroupConversationId,
} from '../../domain/chat-ids';
import type { Caller } from '../../domain/identity';
import { runWithConcurrency } from '../../lib/concurrency';
import type { Log } from '../../lib/logging';
import { InvalidPageTokenError } from '../../lib/page-token';
import {
  createHttpRouter,
  HttpError,
  type HttpEvent,
  type HttpResult,
  json,
  parseBody,
  pathParameter,
  type Route,
  requireCaller,
  validate,
} from './http';

/**
 * The chat HTTP API (ChatApiFunction, payload format 2.0). Every route acts for the signed-in caller (401
 * UNAUTHORIZED without one) and only on conversations they take part in: a conversation that does not exist and
 * one the caller is not in both answer 403 FORBIDDEN, so nobody learns which conversations exist (direct ids are
 * derived from the pair of users).
 *
 * POST /conversations {"type":"direct","participants":["u2"]} | {"type":"group","participants":["u2","u3"],"title":"Team"}
 *   → 201 the conversation; 200 with the existing one when the direct conversation of the pair exists already;
 *     400 BAD_REQUEST (not exactly one other user for direct, fewer than two others or no title for a group, more
 *     than 49 participants, invalid user ids, unknown fields); 400 INVALID_JSON; 413 PAYLOAD_TOO_LARGE. Other
 *     participants need not have connected yet (ids are checked for shape only): they find the conversation when
 *     they sign in. With `participantCheck: 'connected'` (ChatParticipantCheck) they must have: otherwise
 *     404 NOT_FOUND naming those who never connected (like PUT /friends/{userId}), nothing written.
 * GET /conversations/{id} → 200 the conversation.
 * GET /conversations/{id}/participants → 200 {"conversationId","participants":[{"userId","readUpTo"?,"readAt"?}]}.
 * GET /conversations/{id}/messages?limit=1..100&before=<messageId>&after=<messageId>&order=desc|asc&nextToken=…
 *   → 200 {"messages":[…],"nextToken"?}: the range after < messageId < before, newest first (desc, the default) or
 *   oldest first (asc), `limit` (default 50) at a time; nextToken continues in the same direction. 400 for a bad
 *   limit, id, order or token.
 * GET /users/me/conversations?limit=1..100&nextToken=… → 200 {"conversations":[summary…],"nextToken"?}: every
 *   conversation of the caller, with or without messages, newest activity first, each with lastMessage (or null),
 *   unreadCount and unreadCountCapped.
 * GET /users/me/direct/{otherUserId} → 200 the direct conversation with that user; 404 NOT_FOUND when there is
 *   none; 400 for an invalid id or oneself.
 */
export interface ChatApiDeps {
  store: ChatStore;
  /**
   * CHAT_PARTICIPANT_CHECK. `none` (the default): anyone with a well-formed id can be added, so the first message to
   * a new user works (but a typo creates a conversation with nobody). `connected`: every other participant must have
   * connected once with a token.
   */
  participantCheck?: 'none' | 'connected';
  logger: Log;
  now?: () => number;
  /** Makes group ids (tests pin them). */
  newGroupId?: (now: number) => string;
}

/** Unread counts of one page are read with at most this many Queries in flight. */
const UNREAD_CONCURRENCY = 10;

/** Builds the chat API handler (see the route table above). Never throws. */
export function createChatApiHandler(deps: ChatApiDeps): Route {
  const now = deps.now ?? Date.now;
  const newGroupId = deps.newGroupId ?? newGroupConversationId;
  const { store } = deps;

  /** The conversation named by the path, when the caller takes part in it; 400 / 403 otherwise. */
  async function memberConversation(event: HttpEvent, caller: Caller): Promise<Conversation> {
    const id = validate(conversationIdSchema, pathParameter(event, 'conversationId'), 'conversationId');
    const conversation = await store.getConversation(id);
    if (conversation === undefined || !conversation.participants.includes(caller.userId)) {
      throw new HttpError(403, 'FORBIDDEN', `you are not a participant of conversation ${id}`);
    }
    return conversation;
  }

  async function createConversation(event: HttpEvent): Promise<HttpResult> {
    const caller = requireCaller(event);
    const body = parseBody(event, createConversationBodySchema);
    const plan = planConversation(caller.userId, body);
    if (!plan.ok) throw new HttpError(400, 'BAD_REQUEST', plan.message);
    const at = now();
    const other = plan.participants.find((id) => id !== caller.userId) as string;
    const conversationId = plan.type === 'direct' ? directConversationId(caller.userId, other) : newGroupId(at);
    const result = await store.createConversation(
      {
        conversationId,
        type: plan.type,
        ...(plan.title === undefined ? {} : { title: plan.title }),
        participants: plan.participants,
        createdBy: caller.userId,
        createdAt: new Date(at).toISOString(),
      },
      { requireKnownUsers: deps.participantCheck === 'connected' },
    );
    if (result.status === 'unknown-users') {
      // ChatParticipantCheck=connected: a user exists once they have connected with a token (as for PUT /friends).
      const names = result.userIds.map((id) => JSON.stringify(id)).join(', ');
      const plural = result.userIds.length > 1 ? 's' : '';
      throw new HttpError(404, 'NOT_FOUND', `no user${plural} ${names}: they have never connected`, {
        unknownUsers: result.userIds,
      });
    }
    const { conversation } = result;
    const created = result.status === 'created';
    deps.logger.info(created ? 'Conversation created' : 'Direct conversation exists', {
      conversationId,
      type: plan.type,
      participants: plan.participants.length,
    });
    return json(created ? 201 : 200, conversation, { location: `/conversations/${conversationId}` });
  }

  async function getConversation(event: HttpEvent): Promise<HttpResult> {
    return json(200, await memberConversation(event, requireCaller(event)));
  }

  async function listParticipants(event: HttpEvent): Promise<HttpResult> {
    const conversation = await memberConversation(event, requireCaller(event));
    const markers = new Map(
      (await store.readMarkers(conversation.conversationId)).map((marker) => [marker.userId, marker]),
    );
    const participants: Participant[] = conversation.participants.map((userId) => {
      const marker = markers.get(userId);
      return { userId, ...(marker === undefined ? {} : { readUpTo: marker.upTo, readAt: marker.readAt }) };
    });
    return json(200, { conversationId: conversation.conversationId, participants });
  }

  async function listMessages(event: HttpEvent): Promise<HttpResult> {
    const conversation = await memberConversation(event, requireCaller(event));
    const id = conversation.conversationId;
    const query = validate(messagesQuerySchema, event.queryStringParameters ?? {}, 'query');
    let cursor: MessagesCursor;
    if (query.nextToken === undefined) {
      cursor = {
        conversationId: id,
        range: {
          after: query.after === undefined ? 0 : seqOf(query.after),
          before: query.before === undefined ? MAX_MESSAGE_SEQ + 1 : seqOf(query.before),
          order: query.order ?? 'desc',
        },
        ...(query.before === undefined ? {} : { originalBefore: query.before }),
        ...(query.after === undefined ? {} : { originalAfter: query.after }),
      };
    } else {
      cursor = pageToken(() => decodeMessagesToken(query.nextToken as string, id));
      // The same URL with nextToken appended is fine; a token combined with a different query is a mistake.
      const conflicting =
        (query.order !== undefined && query.order !== cursor.range.order) ||
        (query.before !== undefined && query.before !== cursor.originalBefore) ||
        (query.after !== undefined && query.after !== cursor.originalAfter);
      if (conflicting) {
        throw new HttpError(400, 'BAD_REQUEST', 'nextToken continues another query: keep before, after and order');
      }
    }
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const window = seqWindow(cursor.range);
    if (window === undefined) return json(200, { messages: [] });
    // One more than the page: tells whether another page exists without returning an empty last page.
    const found = await store.messages(id, window, cursor.range.order, limit + 1);
    const messages = found.slice(0, limit);
    const last = messages.at(-1);
    if (found.length <= limit || last === undefined) return json(200, { messages });
    const next: MessagesCursor = { ...cursor, range: nextRange(cursor.range, seqOf(last.messageId)) };
    return json(200, { messages, nextToken: encodeMessagesToken(next) });
  }

  async function listMyConversations(event: HttpEvent): Promise<HttpResult> {
    const caller = requireCaller(event);
    const query = validate(conversationsQuerySchema, event.queryStringParameters ?? {}, 'query');
    const cursor =
      query.nextToken === undefined
        ? undefined
        : pageToken(() => decodeConversationsToken(query.nextToken as string, caller.userId));
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;

    // The whole list is ordered by activity before paging: the index row of a conversation does not change when a
    // message arrives, the counters do (one BatchGetItem per 100 conversations).
    const conversations = await store.conversationsOf(caller.userId);
    const activities = await store.activitiesOf(conversations.map((c) => c.conversationId));
    const ordered = conversations
      .map((conversation) => {
        const activity = activities.get(conversation.conversationId);
        return {
          conversation,
          lastSeq: activity?.lastSeq ?? 0,
          conversationId: conversation.conversationId,
          lastActivityAt: lastActivityAt(conversation, activity?.lastMessageAt),
        };
      })
      .sort(compareByActivity);
    // Keyset paging: the next page starts after the last entry returned, so nothing repeats; a conversation that
    // becomes newer meanwhile moves ahead of the cursor (its new message is delivered live anyway).
    const start = cursor === undefined ? 0 : ordered.findIndex((entry) => compareByActivity(entry, cursor) > 0);
    const page = start < 0 ? [] : ordered.slice(start, start + limit);
    const more = start >= 0 && start + limit < ordered.length;

    const { latest, markers } = await store.latestAndMarkers(page, caller.userId);
    const summaries: ConversationSummary[] = page.map(({ conversation, lastActivityAt: at }) => {
      const marker = markers.get(conversation.conversationId);
      return {
        ...conversation,
        lastMessage: latest.get(conversation.conversationId) ?? null,
        lastActivityAt: at,
        unreadCount: 0,
        unreadCountCapped: false,
        ...(marker === undefined ? {} : { readUpTo: marker.upTo }),
      };
    });
    await runWithConcurrency(page, UNREAD_CONCURRENCY, async (entry, index) => {
      const summary = summaries[index] as ConversationSummary;
      const readSeq = summary.readUpTo === undefined ? 0 : seqOf(summary.readUpTo);
      const window = unreadWindow(readSeq, entry.lastSeq);
      if (window === undefined) return;
      const senders = await store.sendersBetween(entry.conversationId, window);
      summary.unreadCount = countUnread(senders, caller.userId);
      summary.unreadCountCapped = window.capped;
    });
    const last = page.at(-1);
    return json(200, {
      conversations: summaries,
      ...(more && last !== undefined
        ? {
            nextToken: encodeConversationsToken({
              userId: caller.userId,
              lastActivityAt: last.lastActivityAt,
              conversationId: last.conversationId,
            }),
          }
        : {}),
    });
  }

  async function getDirectConversation(event: HttpEvent): Promise<HttpResult> {
    const caller = requireCaller(event);
    const other = pathParameter(event, 'otherUserId');
    const problem = userIdProblem(other);
    if (problem !== undefined) throw new HttpError(400, 'BAD_REQUEST', `otherUserId: ${problem}`);
    if (other === caller.userId) {
      throw new HttpError(400, 'BAD_REQUEST', 'otherUserId: there is no direct conversation with yourself');
    }
    const conversation = await store.getConversation(directConversationId(caller.userId, other));
    if (conversation === undefined) {
      throw new HttpError(
        404,
        'NOT_FOUND',
        `no direct conversation with ${other} yet; POST /conversations {"type":"direct","participants":[${JSON.stringify(other)}]} starts one`,
      );
    }
    return json(200, conversation);
  }

  return createHttpRouter(
    'Chat API',
    {
      'POST /conversations': createConversation,
      'GET /conversations/{conversationId}': getConversation,
      'GET /conversations/{conversationId}/participants': listParticipants,
      'GET /conversations/{conversationId}/messages': listMessages,
      'GET /users/me/conversations': listMyConversations,
      'GET /users/me/direct/{otherUserId}': getDirectConversation,
    },
    deps.logger,
  );
}

/** Decodes a page token; 400 when it is not one this route made for this caller and conversation. */
function pageToken<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof InvalidPageTokenError) {
      throw new HttpError(400, 'BAD_REQUEST', 'nextToken is not valid here; pass back the one a page returned');
    }
    throw error;
  }
}
