import type { RealtimeClient } from '@real-time-platform/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type ConsoleConfig, createClient } from './admin';

/** A client of its own for one panel, signed in as the user typed (a development token from the runtime). */
export interface Session {
  userId: string;
  client: RealtimeClient;
  state: string;
}

/** What useSession gives a panel: its session (once signed in) and the two ways to change it. */
export interface SessionControls {
  session: Session | undefined;
  signIn(userId: string): void;
  signOut(): void;
}

/** A panel's sign-in: connect as a user, disconnect; the client is closed when the panel goes away. */
export function useSession(config: ConsoleConfig): SessionControls {
  const [signedIn, setSignedIn] = useState<{ userId: string; client: RealtimeClient }>();
  const [state, setState] = useState('idle');
  // Keyed on the client alone: a state change must not close it.
  useEffect(() => {
    if (!signedIn) return;
    const stop = signedIn.client.on('state', (next) => setState(next));
    setState(signedIn.client.state);
    return () => {
      stop();
      void signedIn.client.close();
    };
  }, [signedIn]);
  return {
    session: signedIn && { ...signedIn, state },
    signIn(userId) {
      const client = createClient(config, userId);
      client.connect();
      setSignedIn({ userId, client });
    },
    signOut() {
      setSignedIn(undefined);
    },
  };
}

/** The sign-in line of a panel: a user id field and Connect, or who is connected and Disconnect. */
export function SignIn(props: {
  id: string;
  config: ConsoleConfig;
  session: Session | undefined;
  signIn(userId: string): void;
  signOut(): void;
}) {
  const [draft, setDraft] = useState('');
  if (props.config.auth !== 'jwt') {
    return <p class="problem">Users need tokens: start the runtime with npm start -- --auth jwt.</p>;
  }
  if (props.session) {
    return (
      <p>
        Signed in as <strong class="user">{props.session.userId}</strong> —{' '}
        <span class="session-state">{props.session.state}</span>{' '}
        <button type="button" onClick={props.signOut}>
          Disconnect
        </button>
      </p>
    );
  }
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        if (draft.trim() !== '') props.signIn(draft.trim());
      }}
    >
      <input
        id={`${props.id}-user`}
        placeholder="user id, e.g. u1"
        value={draft}
        onInput={(e) => setDraft(e.currentTarget.value)}
      />
      <button type="submit">Sign in</button>
    </form>
  );
}

/** A panel of one signed-in user: its heading and sign-in line, then the children. */
export function SessionPanel(props: {
  id: string;
  title: string;
  config: ConsoleConfig;
  controls: SessionControls;
  children: ComponentChildren;
}) {
  return (
    <section id={props.id} class="panel">
      <h2>{props.title}</h2>
      <SignIn id={props.id} config={props.config} {...props.controls} />
      {props.children}
    </section>
  );
}
