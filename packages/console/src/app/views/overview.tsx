import type { OverviewReply } from '@real-time-platform/local-runtime/admin-api';
import { useState } from 'preact/hooks';
import { call, duration } from '../admin';
import { HeadedTable } from './headed-table';

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
      <HeadedTable id="services" headings={['Service', 'URL', 'Health']}>
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
      </HeadedTable>

      <h2>Connections ({overview.connections.length})</h2>
      {problem && <p class="problem">{problem}</p>}
      <HeadedTable id="connections" headings={['Connection id', 'Keys', 'User', 'Connected since', 'Idle', '']}>
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
      </HeadedTable>

      <h2>Keys ({overview.keys.length})</h2>
      <HeadedTable id="keys" headings={['Key', 'Subscribers']}>
        {overview.keys.map((key) => (
          <tr key={key.key} data-key={key.key}>
            <td>
              <code>{key.key}</code>
            </td>
            <td>{key.subscribers}</td>
          </tr>
        ))}
      </HeadedTable>
    </section>
  );
}
