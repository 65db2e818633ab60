import {
  type ChatMessage,
  type Conversation,
  type ConversationSummary,
  chatItemKind,
  conversationIdOfKey,
  type ReadReceipt,
  type SingleServerFrame,
} from '@real-time-platform/protocol';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';
import type { RealtimeClient } from './client';
import { Emitter } from './emitter';
import { ClosedError, type RealtimeError, ServerError } from './errors';

/**
 * Chat on top of the client. Messages, read receipts and new conversations of every conversation the user is in
 * reach each signed-in connection through its inbox, so nothing needs subscribing. A message is sent with a
 * `tempMessageId` and sent again with the same one after a reconnect until its echo comes back: the platform stores
 * it once. History and the conversation list come over HTTP (`httpUrl`).
 */

export type { ChatMessage, Conversation, ConversationSummary, ReadReceipt };

export interface ChatEvents extends Record<string, unknown[]> {
  /** A message of any conversation, once each (also the echo of one's own). */
  message: [ChatMessage];
  receipt: [ReadReceipt];
  conversation: [Conversation];
  error: [RealtimeError];
}

interface Pending {
  frame: { action: 'send-message'; conversationId: string; content: string; tempMessageId: string };
  resolve(message: ChatMessage): void;
  reject(error: RealtimeError): void;
  /** The connection (counted by 'open' events) it was last sent on; undefined while it waits in the client's queue. */
  sentOn: number | undefined;
  failures: number;
}

/** Remembered message ids, to emit each message once whatever delivered it (inbox, subscription, two sockets). */
const SEEN_LIMIT = 2000;

export class Chat extends Emitter<ChatEvents> {
  readonly #client: RealtimeClient;
  readonly #pending = new Map<string, Pending>();
  readonly #seen = new Set<string>();
  readonly #stop: (() => void)[] = [];
  #connections = 0;

  constructor(client: RealtimeClient) {
    super((error) => console.error(error));
    this.#client = client;
    this.#stop.push(
      client.on('message', (frame) => this.#onFrame(frame)),
      client.on('open', ({ rotation }) => this.#onOpen(rotation)),
      client.on('state', (state) => {
        if (state === 'closed') this.#rejectAll(new ClosedError('the client was closed before the message was stored'));
      }),
    );
    if (client.state === 'connected') this.#connections = 1;
  }

  /** Sends a message; resolves with it as stored (its messageId and sentAt), once the platform has it. */
  send(conversationId: string, content: string): Promise<ChatMessage> {
    const tempMessageId = newTempId();
    const sending = new Promise<ChatMessage>((resolve, reject) => {
      const pending: Pending = {
        frame: { action: 'send-message', conversationId, content, tempMessageId },
        resolve,
        reject,
        sentOn: undefined,
        failures: 0,
      };
      this.#pending.set(tempMessageId, pending);
      this.#transmit(pending);
    });
    // The app may ignore the promise; a refusal is reported as an 'error' event too, never as an unhandled rejection.
    sending.catch(() => {});
    return sending;
  }

  /** Moves one's read marker (to `upTo`, by default the newest message). */
  markRead(conversationId: string, upTo?: string): void {
    this.#client.send({ action: 'read-messages', conversationId, ...(upTo === undefined ? {} : { upTo }) });
  }

  /** GET /users/me/conversations: newest activity first, with unread counts. */
  conversations(options: { limit?: number; nextToken?: string } = {}) {
    return this.#client.request<{ conversations: ConversationSummary[]; nextToken?: string }>(
      `/users/me/conversations${query(options)}`,
    );
  }

  /** GET /conversations/{id}/messages: newest first unless `order: 'asc'`. */
  history(
    conversationId: string,
    options: { limit?: number; before?: string; after?: string; order?: 'asc' | 'desc'; nextToken?: string } = {},
  ) {
    return this.#client.request<{ messages: ChatMessage[]; nextToken?: string }>(
      `/conversations/${encodeURIComponent(conversationId)}/messages${query(options)}`,
    );
  }

  /** POST /conversations: a direct conversation with one user, or a group with a title. */
  createConversation(participants: string[], title?: string) {
    const body = title === undefined ? { type: 'direct', participants } : { type: 'group', participants, title };
    return this.#client.request<Conversation>('/conversations', { method: 'POST', body });
  }

  /** Stops listening; messages still pending are rejected. */
  stop(): void {
    for (const stop of this.#stop) stop();
    this.#rejectAll(new ClosedError('the chat was stopped before the message was stored'));
  }

  #transmit(pending: Pending): void {
    try {
      this.#client.send(pending.frame);
      pending.sentOn = this.#client.state === 'connected' ? this.#connections : undefined;
    } catch (error) {
      this.#settle(pending.frame.tempMessageId, undefined, error as RealtimeError);
    }
  }

  #onOpen(rotation: boolean): void {
    this.#connections++;
    for (const pending of this.#pending.values()) {
      // Queued ones went out with the client's queue. On a make-before-break the old socket still brings echoes.
      if (pending.sentOn === undefined) pending.sentOn = this.#connections;
      else if (!rotation && pending.sentOn < this.#connections) this.#transmit(pending);
    }
  }

  #onFrame(frame: SingleServerFrame): void {
    if (frame.type === 'error') {
      const pending = frame.tempMessageId === undefined ? undefined : this.#pending.get(frame.tempMessageId);
      if (pending === undefined) return;
      const error = new ServerError(frame.code, frame.message);
      if (!error.retryable || pending.failures >= 5) this.#settle(frame.tempMessageId as string, undefined, error);
      else {
        // INTERNAL_ERROR: the platform asks for the same frame again, same tempMessageId.
        const delay = backoffDelay(pending.failures++, DEFAULT_BACKOFF, Math.random);
        setTimeout(() => this.#pending.has(pending.frame.tempMessageId) && this.#transmit(pending), delay);
      }
      return;
    }
    if (frame.type !== 'item' || frame.event === 'REMOVE' || frame.item === undefined) return;
    const conversationId = conversationIdOfKey(frame.key);
    if (conversationId === undefined) return;
    const item = frame.item;
    const kind = chatItemKind(frame.itemId);
    if (kind === 'message' && frame.event === 'INSERT') {
      const message = item as unknown as ChatMessage;
      if (typeof item.tempMessageId === 'string') this.#settle(item.tempMessageId, message);
      if (this.#firstTime(`m ${conversationId} ${frame.itemId}`)) this.emit('message', message);
    } else if (kind === 'receipt') {
      if (this.#firstTime(`r ${conversationId} ${frame.itemId} ${String(item.upTo)}`)) {
        this.emit('receipt', item as unknown as ReadReceipt);
      }
    } else if (kind === 'conversation' && frame.event === 'INSERT') {
      if (this.#firstTime(`c ${conversationId}`)) this.emit('conversation', item as unknown as Conversation);
    }
  }

  #settle(tempMessageId: string, message: ChatMessage | undefined, error?: RealtimeError): void {
    const pending = this.#pending.get(tempMessageId);
    if (pending === undefined) return;
    this.#pending.delete(tempMessageId);
    if (message !== undefined) pending.resolve(message);
    else if (error !== undefined) {
      pending.reject(error);
      this.emit('error', error);
    }
  }

  #rejectAll(error: RealtimeError): void {
    for (const tempMessageId of [...this.#pending.keys()]) this.#settle(tempMessageId, undefined, error);
  }

  #firstTime(id: string): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > SEEN_LIMIT) this.#seen.delete(this.#seen.values().next().value as string);
    return true;
  }
}

/** Chat for this client (one per client). */
export function createChat(client: RealtimeClient): Chat {
  return new Chat(client);
}

function query(options: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(options)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** 16 random base64url characters: 96 bits (a tempMessageId allows 64 printable ASCII characters). */
function newTempId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let id = '';
  for (const byte of bytes) id += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[byte & 63];
  return `t-${id}`;
}
