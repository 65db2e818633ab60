import type { Item, RealtimeClient, Subscription } from '@real-time-platform/client';
import type { FanoutReply } from '@real-time-platform/local-runtime/admin-api';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ConsoleConfig, call, createClient, json, usePoll } from '../admin';
import { FieldForm } from './field-form';
import { HeadedTable } from './headed-table';

const KEPT_FRAMES = 50;
const INSPECTOR_USER = 'console-inspector';

/** Subscribe to a key and watch its frames and items; write and delete items; the fan-out's batches and dead letters. */
export function InspectorView({ config }: { config: ConsoleConfig }) {
  return (
    <section id="inspector">
      <KeyWatch config={config} />
      <ItemWriter />
      <FanoutTailView />
    </section>
  );
}

function KeyWatch({ config }: { config: ConsoleConfig }) {
  const client = useRef<RealtimeClient | undefined>(undefined);
  const [subscription, setSubscription] = useState<Subscription>();
  const [items, setItems] = useState<Item[]>([]);
  const [frames, setFrames] = useState<string[]>([]);
  const [state, setState] = useState('idle');

  useEffect(
    () => () => {
      void client.current?.close();
    },
    [],
  );

  const watchedKey = useRef('');
  const clientFor = (): RealtimeClient => {
    if (client.current) return client.current;
    const created = createClient(config, INSPECTOR_USER);
    created.on('state', (next) => setState(next));
    created.on('message', (frame) => {
      if (frame.type === 'pong' || ('key' in frame && frame.key !== watchedKey.current)) return;
      setFrames((list) => [json(frame), ...list].slice(0, KEPT_FRAMES));
    });
    client.current = created;
    return created;
  };

  const subscribe = (key: string) => {
    if (key === '') return;
    const current = clientFor();
    subscription?.unsubscribe();
    watchedKey.current = key;
    setFrames([]);
    const next = current.subscribe(key, { snapshot: true });
    const show = () => setItems([...next.items.values()]);
    next.on('change', show);
    next.on('synced', show);
    setSubscription(next);
    show();
  };

  return (
    <div class="panel">
      <h2>Subscribe to a key</h2>
      <FieldForm
        id="subscribe-key"
        placeholder="a key, e.g. v-001 or presence:u1"
        submit="Subscribe"
        onSubmit={(draft) => subscribe(draft.trim())}
      >
        <span class="muted">
          {' '}
          client: <span id="client-state">{state}</span>
          {subscription ? ` — ${subscription.key}: ${subscription.status}` : ''}
        </span>
      </FieldForm>
      <h3>Items ({items.length})</h3>
      <table id="items">
        <tbody>
          {items.map((item) => (
            <tr key={String(item.itemId)} data-item-id={String(item.itemId)}>
              <td>
                <code>{String(item.itemId)}</code>
              </td>
              <td class="item-json">{json(item)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Frames</h3>
      <ol id="frames" class="log">
        {frames.map((frame, index) => (
          // Frames are only ever prepended, so the position from the end is stable.
          <li key={frames.length - index}>{frame}</li>
        ))}
      </ol>
    </div>
  );
}

function ItemWriter() {
  const [key, setKey] = useState('');
  const [itemId, setItemId] = useState('latest');
  const [attributes, setAttributes] = useState('{"speed": 42}');
  const [result, setResult] = useState('');

  const write = async (remove: boolean) => {
    try {
      if (remove) {
        await call('/admin/items', { method: 'DELETE', body: { key, itemId } });
        setResult(`deleted ${key} / ${itemId}`);
        return;
      }
      const parsed = JSON.parse(attributes) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        setResult('attributes must be a JSON object');
        return;
      }
      await call('/admin/items', { method: 'POST', body: { key, itemId, attributes: parsed } });
      setResult(`wrote ${key} / ${itemId}`);
    } catch (error) {
      setResult(error instanceof Error ? error.message : String(error));
    }
  };

  return (
    <div class="panel">
      <h2>Write, update or delete an item</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void write(false);
        }}
      >
        <input id="write-key" placeholder="key" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <input
          id="write-item-id"
          placeholder="itemId"
          value={itemId}
          onInput={(e) => setItemId(e.currentTarget.value)}
        />
        <textarea
          id="write-attributes"
          rows={2}
          value={attributes}
          onInput={(e) => setAttributes(e.currentTarget.value)}
        />
        <button type="submit">Write</button>
        <button type="button" onClick={() => void write(true)}>
          Delete
        </button>
        <output id="write-result">{result}</output>
      </form>
    </div>
  );
}

function FanoutTailView() {
  const { data } = usePoll<FanoutReply>('/admin/fanout', 1000);
  const batches = [...(data?.batches ?? [])].reverse().slice(0, 30);
  return (
    <div class="panel">
      <h2>Fan-out: stream batches</h2>
      <p class="muted">
        Posts, 410s and post retries come from the fan-out's own "Fan-out batch" log line (the one CloudWatch gets).
      </p>
      <HeadedTable
        id="fanout"
        headings={[
          'Time',
          'Function',
          'Records',
          'Posts',
          { label: '410s', title: 'connections found gone: @connections answered 410' },
          'Post retries',
          'Failed records',
          'Retry',
          'Outcome',
          'ms',
        ]}
      >
        {batches.map((batch) => (
          <tr key={batch.id} data-batch-id={batch.id} class={batch.ok && batch.failedRecords === 0 ? '' : 'problem'}>
            <td>{new Date(batch.at).toLocaleTimeString()}</td>
            <td class="batch-function">{batch.functionId}</td>
            <td class="batch-records">{batch.records}</td>
            <td class="batch-posts">{batch.posts ?? ''}</td>
            <td class="batch-gone">{batch.gone ?? ''}</td>
            <td class="batch-post-retries">{batch.postRetries ?? ''}</td>
            <td>{batch.failedRecords}</td>
            <td>{batch.retry ? 'retry' : ''}</td>
            <td>{batch.ok ? 'ok' : batch.error}</td>
            <td>{batch.durationMs}</td>
          </tr>
        ))}
      </HeadedTable>
      <h3>Dead letters ({data?.deadLetters.length ?? 0})</h3>
      <ul id="dead-letters">
        {(data?.deadLetters ?? []).map((letter) => (
          <li key={`${letter.destination}.${letter.startSequenceNumber}`}>
            {letter.at} {letter.destination}: {letter.condition}, {letter.batchSize} record(s) from{' '}
            {letter.startSequenceNumber}
          </li>
        ))}
      </ul>
    </div>
  );
}
