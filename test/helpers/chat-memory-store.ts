import {
  type ChatMessage,
  type Conversation,
  chatKey,
  messageIdOf,
  messageItemId,
  type ReadReceipt,
  seqOf,
} from '@real-time-platform/protocol';
import type {
  AppendResult,
  ChatStore,
  ConversationActivity,
  CreateConversationResult,
  NewMessage,
} from '../../src/adapters/chat-store';

/**
 * A ChatStore over Maps with the DynamoDB store's semantics (gap-free numbering, forward-only markers, existing
 * conversations returned on create, participants other than the creator must be known users when asked, tempMessageId
 * de-duplication answered with the stored message), for unit tests of the chat logic.
 */
export class MemoryChatStore implements ChatStore {
  /** Users who have connected once (have a presence item): the only ones a conversation may include. */
  readonly knownUsers = new Set<string>();
  /** The RealTimeItemKey attribute of stored items. */
  readonly keyAttribute = 'realTimeItemKey';
  readonly conversations = new Map<string, Conversation>();
  readonly log = new Map<string, ChatMessage[]>();
  readonly markers = new Map<string, Map<string, ReadReceipt>>();
  readonly sent = new Map<string, { messageId: string; content: string }>();
  /** Set to make the named operation throw this error. */
  failOn: Partial<Record<keyof ChatStore, unknown>> = {};
  calls: string[] = [];
  private clock: () => number;

  constructor(now: () => number = Date.now, knownUsers: Iterable<string> = []) {
    this.clock = now;
    for (const userId of knownUsers) this.knownUsers.add(userId);
  }

  async createConversation(
    conversation: Conversation,
    options: { requireKnownUsers?: boolean } = {},
  ): Promise<CreateConversationResult> {
    this.hit('createConversation');
    const existing = this.conversations.get(conversation.conversationId);
    if (existing) return { status: 'exists', conversation: existing };
    const unknown = conversation.participants.filter(
      (userId) =>
        options.requireKnownUsers === true && userId !== conversation.createdBy && !this.knownUsers.has(userId),
    );
    if (unknown.length > 0) return { status: 'unknown-users', userIds: unknown };
    this.conversations.set(conversation.conversationId, conversation);
    this.log.set(conversation.conversationId, []);
    return { status: 'created', conversation };
  }
  async getConversation(conversationId: string) {
    this.hit('getConversation');
    return this.conversations.get(conversationId);
  }
  async appendMessage(input: NewMessage): Promise<AppendResult> {
    this.hit('appendMessage');
    const messages = this.log.get(input.conversationId);
    if (!messages) throw new Error('no counter');
    if (input.tempMessageId !== undefined) {
      // Same sender, tempMessageId and content: a re-send.
      const sentKey = `${input.conversationId}/${input.senderId}#${input.tempMessageId}`;
      const sent = this.sent.get(sentKey);
      const original = messages[seqOf(sent?.messageId ?? '0') - 1];
      if (sent?.content === input.content && original !== undefined) {
        const item = {
          [this.keyAttribute]: chatKey(input.conversationId),
          itemId: messageItemId(seqOf(original.messageId)),
          ...original,
        };
        return { status: 'duplicate', message: original, item };
      }
      this.sent.set(sentKey, { messageId: messageIdOf(messages.length + 1), content: input.content });
    }
    const message: ChatMessage = {
      messageId: messageIdOf(messages.length + 1),
      conversationId: input.conversationId,
      senderId: input.senderId,
      content: input.content,
      sentAt: new Date(this.clock()).toISOString(),
      ...(input.tempMessageId === undefined ? {} : { tempMessageId: input.tempMessageId }),
    };
    messages.push(message);
    return { status: 'stored', message };
  }
  async activityOf(conversationId: string): Promise<ConversationActivity | undefined> {
    this.hit('activityOf');
    const messages = this.log.get(conversationId);
    if (!messages) return undefined;
    const last = messages.at(-1);
    return { lastSeq: messages.length, ...(last ? { lastMessageAt: last.sentAt } : {}) };
  }
  async markRead(receipt: ReadReceipt) {
    this.hit('markRead');
    const markers = this.markers.get(receipt.conversationId) ?? new Map<string, ReadReceipt>();
    this.markers.set(receipt.conversationId, markers);
    const current = markers.get(receipt.userId);
    if (current && current.upTo >= receipt.upTo) return false;
    markers.set(receipt.userId, receipt);
    return true;
  }
  async messages(conversationId: string, window: { from: number; to: number }, order: 'asc' | 'desc', limit: number) {
    this.hit('messages');
    const inRange = (this.log.get(conversationId) ?? []).filter((m) => {
      const seq = seqOf(m.messageId);
      return seq >= window.from && seq <= window.to;
    });
    return (order === 'asc' ? inRange : [...inRange].reverse()).slice(0, limit);
  }
  async readMarkers(conversationId: string) {
    this.hit('readMarkers');
    return [...(this.markers.get(conversationId)?.values() ?? [])];
  }
  async sendersBetween(conversationId: string, window: { from: number; to: number }) {
    this.hit('sendersBetween');
    return (this.log.get(conversationId) ?? [])
      .filter((m) => seqOf(m.messageId) >= window.from && seqOf(m.messageId) <= window.to)
      .map((m) => m.senderId);
  }
  async conversationsOf(userId: string) {
    this.hit('conversationsOf');
    return [...this.conversations.values()].filter((c) => c.participants.includes(userId));
  }
  async activitiesOf(conversationIds: readonly string[]) {
    this.hit('activitiesOf');
    const result = new Map<string, ConversationActivity>();
    for (const id of conversationIds) {
      const activity = await this.activityOf(id);
      if (activity) result.set(id, activity);
    }
    return result;
  }
  async latestAndMarkers(entries: readonly { conversationId: string; lastSeq: number }[], userId: string) {
    this.hit('latestAndMarkers');
    const latest = new Map<string, ChatMessage>();
    const markers = new Map<string, ReadReceipt>();
    for (const { conversationId, lastSeq } of entries) {
      const message = this.log.get(conversationId)?.[lastSeq - 1];
      if (lastSeq > 0 && message) latest.set(conversationId, message);
      const marker = this.markers.get(conversationId)?.get(userId);
      if (marker) markers.set(conversationId, marker);
    }
    return { latest, markers };
  }

  private hit(operation: keyof ChatStore) {
    this.calls.push(operation);
    if (operation in this.failOn) throw this.failOn[operation];
  }
}
