import type { OverviewReply } from '@real-time-platform/local-runtime/admin-api';
import { useState } from 'preact/hooks';
import { call, duration } from '../admin';

/** The services, the open connections (with a Disconnect each) and the subscribed keys, refreshed every second. */
export function OverviewView({ overview }: { overview: OverviewReply | undefined }) {
  const [problem, setProblem] = useState('');
  if (overview === undefined) return <p>Loading…</p>;
  const disconnect = async (connectionId: string) => {
    try {
      setProblem('');
      await call(`/admin/connections/${encodeURIComponent(connectionId)}`, { method: 'DELETE' });
    } catch (error) {
      setProblem(`Disconnect ${connectionId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return (
    <section id="overview">
      <h2>Services</h2>
      <table id="services">
        <thead>
          <tr>
            <th>Service</th>
            <th>URL</th>
            <th>Health</th>
          </tr>
        </thead>
        <tbody>
          {overview.services.map((service) => (
            <tr key={service.name} data-service={service.name}>
              <td>{service.name}</td>
              <td>
                <code>{service.url}</code>
              </td>
              <td class={service.status}>
                {service.status}
                {service.detail ? ` — ${service.detail}` : ''}
              </td>
            </tr>
          ))}
          {overview.streams.map((stream) => (
            <tr key={`${stream.function}.${stream.event}`}>
              <td>Stream → {stream.function}</td>
              <td>{stream.event}</td>
              <td>
                {stream.invocations} invocations, {stream.failedInvocations} failed, {stream.retries} retries
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Connections ({overview.connections.length})</h2>
      {problem && <p class="problem">{problem}</p>}
      <table id="connections">
        <thead>
          <tr>
            <th>Connection id</th>
            <th>Keys</th>
            <th>User</th>
            <th>Connected since</th>
            <th>Idle</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {overview.connections.map((connection) => (
            <tr key={connection.connectionId} data-connection-id={connection.connectionId}>
              <td>
                <code>{connection.connectionId}</code>
              </td>
              <td>{connection.keys.join(', ')}</td>
              <td>{connection.userId ?? '—'}</td>
              <td>{new Date(connection.connectedAt).toLocaleTimeString()}</td>
              <td>{duration(connection.idleMs)}</td>
              <td>
                <button type="button" onClick={() => void disconnect(connection.connectionId)}>
                  Disconnect
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Keys ({overview.keys.length})</h2>
      <table id="keys">
        <thead>
          <tr>
            <th>Key</th>
            <th>Subscribers</th>
          </tr>
        </thead>
        <tbody>
          {overview.keys.map((key) => (
            <tr key={key.key} data-key={key.key}>
              <td>
                <code>{key.key}</code>
              </td>
              <td>{key.subscribers}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
