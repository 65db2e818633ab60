import { type Presence, setPage, watchPresence } from '@real-time-platform/client/presence';
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleConfig } from '../admin';
import { SessionPanel, useSession } from '../session';
import { FieldForm } from './field-form';
import { SilentTabs } from './presence-tabs';

/** Sign in as a user, share a page, watch others go online and offline. */
export function PresenceView({ config }: { config: ConsoleConfig }) {
  const controls = useSession(config);
  const { session } = controls;
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
    <SessionPanel id="presence" title="Presence" config={config} controls={controls}>
      {session && (
        <>
          <FieldForm
            id="presence-page"
            initial="Console"
            submit="Share this page"
            onSubmit={(pageTitle) =>
              setPage(session.client, { url: `${location.origin}/${encodeURIComponent(pageTitle)}`, title: pageTitle })
            }
          />
          <FieldForm
            id="presence-watch"
            placeholder="users to watch, e.g. u1, u2"
            submit="Watch"
            onSubmit={(watchDraft) =>
              setWatched(
                watchDraft
                  .split(',')
                  .map((id) => id.trim())
                  .filter(Boolean),
              )
            }
          />
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
    </SessionPanel>
  );
}
