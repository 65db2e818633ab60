import { type Presence, setPage, watchPresence } from '@real-time-platform/client/presence';
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleConfig } from '../admin';
import { SignIn, useSession } from '../session';
import { SilentTabs } from './presence-tabs';

/** Sign in as a user, share a page, watch others go online and offline. */
export function PresenceView({ config }: { config: ConsoleConfig }) {
  const { session, signIn, signOut } = useSession(config);
  const [pageTitle, setPageTitle] = useState('Console');
  const [watchDraft, setWatchDraft] = useState('');
  const [watched, setWatched] = useState<string[]>([]);
  const [users, setUsers] = useState<Presence[]>([]);

  const client = session?.client;
  useEffect(() => {
    if (!client || watched.length === 0) return;
    const watch = watchPresence(client, watched);
    const show = () => setUsers([...watch.users.values()]);
    watch.on('change', show);
    show();
    return () => watch.stop();
  }, [client, watched]);

  return (
    <section id="presence" class="panel">
      <h2>Presence</h2>
      <SignIn id="presence" config={config} session={session} signIn={signIn} signOut={signOut} />
      {session && (
        <>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              setPage(session.client, { url: `${location.origin}/${encodeURIComponent(pageTitle)}`, title: pageTitle });
            }}
          >
            <input id="presence-page" value={pageTitle} onInput={(e) => setPageTitle(e.currentTarget.value)} />
            <button type="submit">Share this page</button>
          </form>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              setWatched(
                watchDraft
                  .split(',')
                  .map((id) => id.trim())
                  .filter(Boolean),
              );
            }}
          >
            <input
              id="presence-watch"
              placeholder="users to watch, e.g. u1, u2"
              value={watchDraft}
              onInput={(e) => setWatchDraft(e.currentTarget.value)}
            />
            <button type="submit">Watch</button>
          </form>
        </>
      )}
      <table id="presence-users">
        <tbody>
          {users.map((user) => (
            <tr key={user.userId} data-user-id={user.userId}>
              <td>{user.userId}</td>
              <td class={`status ${user.status}`}>{user.status}</td>
              <td>{user.connections} connection(s)</td>
              <td>{user.page ? `on ${user.page.title} (${user.page.domain})` : ''}</td>
              <td class="muted">
                {user.lastSeenAt ? `last seen ${new Date(user.lastSeenAt).toLocaleTimeString()}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {config.auth === 'jwt' && <SilentTabs config={config} />}
    </section>
  );
}
