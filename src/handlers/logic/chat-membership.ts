import { CHAT_PREFIX, chatKey, conversationIdOfKey, inboxKey } from '@real-time-platform/protocol';
import type { ChatStore } from '../../adapters/chat-store';
import { ALLOWED, forbidden, type KeyAccessRule, signInRequired } from '../../domain/key-access';

/**
 * Who is in a conversation, as the rest of the platform needs it:
 * - the `chat:` key access rule: only participants may subscribe to `chat:<id>` (on $connect or with `subscribe`)
 *   or get its snapshot;
 * - the fan-out audience: each change under `chat:<id>` also goes to the subscribers of every participant's
 *   `inbox:<userId>`. Every signed-in connection is subscribed to its own inbox at $connect, so a participant gets
 *   all their conversations without subscribing to each; the fan-out queries one subscriber list per participant
 *   (plus one for `chat:<id>` itself), so its cost grows with the participants, not with the users of the platform.
 * Both read the conversation's description (one GetItem), cached per container: participants never change.
 */

/** The `chat:` rule of the platform's key access policy. */
export function chatKeyAccessRule(store: Pick<ChatStore, 'getConversation'>): KeyAccessRule {
  return {
    prefix: CHAT_PREFIX,
    async canRead(caller, subject) {
      const key = chatKey(subject);
      if (caller === undefined) return signInRequired(key);
      const conversationId = conversationIdOfKey(key);
      // Unknown and malformed ids are refused like other people's conversations: the answer reveals nothing.
      const conversation = conversationId === undefined ? undefined : await store.getConversation(conversationId);
      return conversation?.participants.includes(caller.userId) === true
        ? ALLOWED
        : forbidden(key, 'you are not a participant of this conversation');
    },
  };
}

/** FanoutDeps.audienceOf for chat: `chat:<id>` → the participants' `inbox:<userId>` keys; other keys → none. */
export function createChatAudience(
  store: Pick<ChatStore, 'getConversation'>,
): (key: string) => Promise<readonly string[]> {
  return async (key) => {
    const conversationId = conversationIdOfKey(key);
    if (conversationId === undefined) return [];
    const conversation = await store.getConversation(conversationId);
    return conversation === undefined ? [] : conversation.participants.map(inboxKey);
  };
}
