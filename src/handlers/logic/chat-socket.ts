import {
  type Conversation,
  type ErrorCode,
  errorMessage,
  messageIdOf,
  parseFrameBody,
  readMessagesActionSchema,
  resentMessageFrame,
  sendMessageActionSchema,
  seqOf,
  unknownActionMessage,
  validateFrame,
} from '@real-time-platform/protocol';
import type { ChatStore } from '../../adapters/chat-store';
import type { ConnectionSender } from '../../adapters/connection-sender';
import type { Caller } from '../../domain/identity';
import { encodeMessage } from '../../domain/messages';
import { isTokenExpired, tokenExpiredMessage, tokenExpiresAtOf } from '../../domain/token-lifetime';
import { AppError, describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { callerOfWebSocketEvent } from './caller';
import { connectionIdOf, type InvocationContext, type WebSocketEvent, type WebSocketResult } from './websocket-event';

export interface ChatSocketDeps {
  store: ChatStore;
  sender: ConnectionSender;
  logger: Log;
  now?: () => number;
  /** Longest a reply may spend retrying (within the invocation's remaining time). */
  replyBudgetMs?: number;
}

const OK: WebSocketResult = { statusCode: 200 };
/** Time kept at the end of an invocation to send the error frame. */
const REPLY_MARGIN_MS = 1500;
const INTERNAL: WebSocketResult = { statusCode: 500 };

/** An answer to the caller's frame that is not a success: becomes an `error` frame. */
class FrameError extends Error {
  override name = 'FrameError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The chat routes of the WebSocket API (ChatMessageFunction), chosen by `requestContext.routeKey`:
 * - `send-message` {conversationId, content, tempMessageId?}: stores the conversation's next message. The reply is
 *   the message itself, which the stream fan-out delivers as an `item` frame on `chat:<conversationId>` to every
 *   connection of every participant, the sender's included, with tempMessageId echoed. A re-send (the same
 *   tempMessageId and content within 24 h: the client missed that echo) stores nothing new and is answered, to the
 *   re-sending connection only, with the stored message: the same `item` frame with `duplicate: true` and no `seq`
 *   (see ResentMessageFrame), so the client's pending message resolves either way.
 * - `read-messages` {conversationId, upTo?}: moves the caller's read marker forward to `upTo` (default: the newest
 *   message); the marker's change reaches every participant as the receipt (`item` frame, itemId `read#<userId>`).
 *   A marker already at or past upTo is left alone (no receipt).
 * Problems get an `error` frame to the caller (with the frame's action, conversationId and tempMessageId, so a client
 * knows which pending message failed) and nothing is stored: UNAUTHORIZED (no signed-in user),
 * BAD_REQUEST (invalid frame, empty or oversize content, upTo beyond the newest message), FORBIDDEN (not a
 * participant — also for conversations that do not exist, so ids reveal nothing), TOKEN_EXPIRED (the connection's
 * token has expired: reconnect with a fresh one), INTERNAL_ERROR (ours; retry).
 */
export function createChatSocketHandler(
  deps: ChatSocketDeps,
): (event: WebSocketEvent, context?: InvocationContext) => Promise<WebSocketResult> {
  const now = deps.now ?? Date.now;
  const replyBudgetMs = deps.replyBudgetMs ?? 3000;

  async function member(caller: Caller, conversationId: string): Promise<Conversation> {
    const conversation = await deps.store.getConversation(conversationId);
    if (conversation === undefined || !conversation.participants.includes(caller.userId)) {
      throw new FrameError('FORBIDDEN', `you are not a participant of conversation ${conversationId}`);
    }
    return conversation;
  }

  return async (event, context) => {
    const connectionId = connectionIdOf(event);
    if (connectionId === undefined) {
      deps.logger.error('Malformed message event: requestContext.connectionId is missing');
      return { statusCode: 400, body: 'Malformed message event: requestContext.connectionId is missing' };
    }
    // Lambda's timeout is 10 s: the work may use the invocation's time but for a margin kept for the error reply.
    const invocationEnds = now() + (context?.getRemainingTimeInMillis?.() ?? 10_000);
    const workDeadline = invocationEnds - REPLY_MARGIN_MS;
    const replyDeadline = () => Math.min(now() + replyBudgetMs, invocationEnds - 200);
    // What the refused frame was about, echoed in the error so a client can tell which pending message failed.
    let about: Partial<Record<'action' | 'conversationId' | 'tempMessageId', string>> = {};
    /** Posts one frame to the caller; a failure is logged (the client sends again when it gets no answer). */
    const reply = async (frame: object): Promise<void> => {
      const data = Buffer.from(JSON.stringify(frame), 'utf8');
      const result = await deps.sender.post(connectionId, data, { deadline: replyDeadline() });
      if (result.status === 'gone') deps.logger.info('Reply not sent: the caller is gone', { connectionId });
      else if (result.status !== 'sent') {
        const error = result.status === 'failed' ? describeError(result.error) : undefined;
        deps.logger.warn('Reply not sent', { connectionId, status: result.status, error });
      }
    };
    const replyError = (code: ErrorCode, message: string) => reply({ ...errorMessage(code, message), ...about });

    const routeKey = event.requestContext?.routeKey;
    try {
      const caller = callerOfWebSocketEvent(event);
      if (caller === undefined) throw signIn();
      const decoded = parseFrameBody(decodeBody(event));
      if (!decoded.ok) throw new FrameError('BAD_REQUEST', decoded.message);
      about = echoedFields(routeKey, decoded.frame);
      const tokenExpiresAt = tokenExpiresAtOf(event);
      // API Gateway checked the token on $connect only; a connection must not send for its user after it expired.
      if (tokenExpiresAt !== undefined && isTokenExpired(tokenExpiresAt, now())) {
        throw new FrameError('TOKEN_EXPIRED', tokenExpiredMessage(tokenExpiresAt));
      }
      switch (routeKey) {
        case 'send-message': {
          const frame = validateFrame(sendMessageActionSchema, decoded.frame);
          if (!frame.ok) throw new FrameError('BAD_REQUEST', frame.message);
          const { conversationId, content, tempMessageId } = frame.frame;
          await member(caller, conversationId);
          const result = await deps.store.appendMessage(
            {
              conversationId,
              senderId: caller.userId,
              content,
              ...(tempMessageId === undefined ? {} : { tempMessageId }),
            },
            { deadline: workDeadline },
          );
          if (result.status === 'duplicate') {
            // Stored before: no stream record will echo it again, so the answer comes from here.
            const { message, item } = result;
            deps.logger.info('Re-sent message answered', {
              connectionId,
              conversationId,
              messageId: message.messageId,
            });
            await reply(resentMessageFrame(message, item));
          } else {
            deps.logger.info('Message stored', { connectionId, conversationId, messageId: result.message.messageId });
          }
          return OK;
        }
        case 'read-messages': {
          const frame = validateFrame(readMessagesActionSchema, decoded.frame);
          if (!frame.ok) throw new FrameError('BAD_REQUEST', frame.message);
          const { conversationId, upTo } = frame.frame;
          await member(caller, conversationId);
          const activity = await deps.store.activityOf(conversationId);
          const lastSeq = activity?.lastSeq ?? 0;
          if (upTo !== undefined && seqOf(upTo) > lastSeq) {
            throw new FrameError(
              'BAD_REQUEST',
              `upTo: conversation ${conversationId} has no message ${upTo} (its newest is ${lastSeq === 0 ? 'none' : messageIdOf(lastSeq)})`,
            );
          }
          if (lastSeq === 0) return OK; // Nothing to read yet.
          const moved = await deps.store.markRead({
            conversationId,
            userId: caller.userId,
            upTo: upTo ?? messageIdOf(lastSeq),
            readAt: new Date(now()).toISOString(),
          });
          deps.logger.info(moved ? 'Read marker moved' : 'Read marker already there', { connectionId, conversationId });
          return OK;
        }
        default:
          // Only send-message and read-messages are routed here; anything else is a template mistake.
          deps.logger.warn('Unexpected route for the chat function', { connectionId, routeKey });
          await deps.sender.post(connectionId, encodeMessage(unknownActionMessage(decoded.frame.action)), {
            deadline: replyDeadline(),
          });
          return OK;
      }
    } catch (error) {
      if (error instanceof FrameError) {
        deps.logger.info('Chat frame refused', { connectionId, routeKey, code: error.code, reason: error.message });
        await replyError(error.code, error.message);
        return OK;
      }
      deps.logger.error('Chat action failed', { connectionId, routeKey, error: describeError(error), cause: error });
      const retryable = error instanceof AppError && error.retryable;
      await replyError(
        'INTERNAL_ERROR',
        `${routeKey ?? 'the action'} failed on our side${retryable ? ' (busy)' : ''}; send the frame again` +
          (routeKey === 'send-message' ? ' (with the same tempMessageId, a message is never stored twice)' : ''),
      );
      return INTERNAL;
    }
  };
}

/** The frame's action, conversationId and tempMessageId when they are short strings (never its content). */
function echoedFields(
  routeKey: string | undefined,
  frame: Record<string, unknown>,
): Partial<Record<'action' | 'conversationId' | 'tempMessageId', string>> {
  const echoed: Partial<Record<'action' | 'conversationId' | 'tempMessageId', string>> = {};
  if (routeKey === 'send-message' || routeKey === 'read-messages') echoed.action = routeKey;
  for (const field of ['conversationId', 'tempMessageId'] as const) {
    const value = frame[field];
    if (typeof value === 'string' && value.length <= 64) echoed[field] = value;
  }
  return echoed;
}

function signIn(): FrameError {
  return new FrameError('UNAUTHORIZED', 'chat needs a signed-in user: connect with ?token=<jwt> (AuthMode=jwt)');
}

function decodeBody(event: WebSocketEvent): string | undefined {
  const body = event.body;
  if (typeof body !== 'string') return undefined;
  // Binary frames arrive base64-encoded; the protocol is JSON text either way.
  return event.isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body;
}
