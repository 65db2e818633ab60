import { type Chat, type ChatMessage, type ConversationSummary, createChat } from '@real-time-platform/client/chat';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleConfig } from '../admin';
import { type Session, SignIn, useSession } from '../session';
import { FieldForm } from './field-form';

/** Two users side by side, each with their conversations, messages, unread counts and read receipts. */
export function ChatView({ config }: { config: ConsoleConfig }) {
  return (
    <section id="chat" class="columns">
      <ChatPane id="left" config={config} />
      <ChatPane id="right" config={config} />
    </section>
  );
}

function ChatPane({ id, config }: { id: string; config: ConsoleConfig }) {
  const { session, signIn, signOut } = useSession(config);
  return (
    <div class="panel" id={`chat-${id}`}>
      <SignIn id={`chat-${id}`} config={config} session={session} signIn={signIn} signOut={signOut} />
      {session && <Conversations session={session} />}
    </div>
  );
}

function Conversations({ session }: { session: Session }) {
  const [chat, setChat] = useState<Chat>();
  const [list, setList] = useState<ConversationSummary[]>([]);
  const [open, setOpen] = useState<string>();
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [receipts, setReceipts] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState('');
  // The message listener outlives renders; it reads the open conversation from here.
  const openRef = useRef<string | undefined>(undefined);
  const sameConversation = (message: ChatMessage) => message.conversationId === openRef.current;

  const reload = (current: Chat) =>
    current.conversations().then(
      (page) => setList(page.conversations),
      (error: unknown) => setProblem(String(error)),
    );

  useEffect(() => {
    const current = createChat(session.client);
    setChat(current);
    void reload(current);
    current.on('conversation', () => void reload(current));
    current.on('message', (message) => {
      setMessages((shown) =>
        shown.some((m) => m.messageId === message.messageId) ? shown : [...shown, message].filter(sameConversation),
      );
      void reload(current);
    });
    current.on('receipt', (receipt) => setReceipts((all) => ({ ...all, [receipt.userId]: receipt.upTo })));
    return () => current.stop();
  }, [session.client]);

  const openConversation = async (conversationId: string) => {
    if (!chat) return;
    setOpen(conversationId);
    openRef.current = conversationId;
    const history = await chat.history(conversationId, { order: 'asc', limit: 50 });
    setMessages(history.messages);
    chat.markRead(conversationId);
    void reload(chat);
  };

  useEffect(() => {
    // Reading the open conversation: what arrives while it is open is read at once.
    const last = messages[messages.length - 1];
    if (chat && open && last && last.senderId !== session.userId) chat.markRead(open, last.messageId);
  }, [messages]);

  return (
    <>
      {problem && <p class="problem">{problem}</p>}
      <FieldForm
        class="chat-with"
        placeholder="chat with user…"
        submit="Start"
        onSubmit={async (other) => {
          if (!chat || other.trim() === '') return;
          try {
            const conversation = await chat.createConversation([other.trim()]);
            await reload(chat);
            await openConversation(conversation.conversationId);
          } catch (error) {
            setProblem(error instanceof Error ? error.message : String(error));
          }
        }}
      />
      <ul class="conversations">
        {list.map((conversation) => (
          <li key={conversation.conversationId} data-conversation-id={conversation.conversationId}>
            <button type="button" onClick={() => void openConversation(conversation.conversationId)}>
              {conversation.title ?? conversation.participants.filter((p) => p !== session.userId).join(', ')}
            </button>{' '}
            <span class="unread">{conversation.unreadCountCapped ? '99+' : conversation.unreadCount}</span> unread
          </li>
        ))}
      </ul>
      {open && (
        <>
          <ol class="messages log">
            {messages.map((message) => (
              <li key={message.messageId} data-message-id={message.messageId}>
                <strong>{message.senderId}</strong>: <span class="content">{message.content}</span>
                {Object.entries(receipts)
                  .filter(([userId, upTo]) => userId !== session.userId && upTo >= message.messageId)
                  .map(([userId]) => (
                    <span class="receipt muted" key={userId}>
                      {' '}
                      ✓ read by {userId}
                    </span>
                  ))}
              </li>
            ))}
          </ol>
          <FieldForm
            class="chat-message"
            placeholder="message"
            submit="Send"
            onSubmit={(draft, clear) => {
              if (!chat || draft === '') return;
              chat.send(open, draft).catch((error: unknown) => setProblem(String(error)));
              clear();
            }}
          />
        </>
      )}
    </>
  );
}
