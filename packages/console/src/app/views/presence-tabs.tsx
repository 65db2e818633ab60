import { useEffect, useRef, useState } from 'preact/hooks';
import { type ConsoleConfig, call, heartbeatIntervalMs, tokenFor } from '../admin';
import { type BareTab, type BareTabState, openBareTab, tabUrl } from '../bare-tab';
import { FieldForm } from './field-form';

const SWEEP_FUNCTION = 'PresenceSweepFunction';

interface OpenTab {
  id: number;
  userId: string;
  tab: BareTab;
  state: BareTabState;
}

interface SweepRun {
  ok: boolean;
  result?: { found?: number; closed?: number; settled?: number; skipped?: number };
  error?: { errorType: string; errorMessage: string };
  durationMs: number;
}

/**
 * Tabs of any user that heartbeat until told to stop, and the presence sweep run on demand: stop a tab's heartbeats,
 * wait out PresenceTimeoutSeconds, sweep, and the user goes offline (the Presence table above shows it).
 */
export function SilentTabs({ config }: { config: ConsoleConfig }) {
  const [tabs, setTabs] = useState<OpenTab[]>([]);
  const [sweep, setSweep] = useState('');
  const nextId = useRef(1);
  const open = useRef<OpenTab[]>([]);
  open.current = tabs;
  // Leaving the view closes its tabs, as closing a browser window would.
  useEffect(
    () => () => {
      for (const { tab } of open.current) tab.close();
    },
    [],
  );

  const heartbeatMs = heartbeatIntervalMs(config);
  const openTab = async (userId: string) => {
    const id = nextId.current++;
    const token = await tokenFor(config, userId);
    const tab = openBareTab(tabUrl(config.webSocketUrl, token), heartbeatMs, (state) =>
      setTabs((list) => list.map((entry) => (entry.id === id ? { ...entry, state } : entry))),
    );
    setTabs((list) => [...list, { id, userId, tab, state: { status: 'connecting', heartbeating: true } }]);
  };
  const runSweep = async () => {
    setSweep('sweeping…');
    try {
      const run = await call<SweepRun>('/admin/schedules/run', {
        method: 'POST',
        body: { functionId: SWEEP_FUNCTION },
      });
      const r = run.result;
      setSweep(
        run.ok
          ? `swept in ${run.durationMs} ms: found ${r?.found ?? 0}, closed ${r?.closed ?? 0}, settled ${r?.settled ?? 0}`
          : `the sweep failed: ${run.error?.errorType}: ${run.error?.errorMessage}`,
      );
    } catch (error) {
      setSweep(error instanceof Error ? error.message : String(error));
    }
  };

  return (
    <div class="panel" id="presence-tabs">
      <h3>Tabs that stop heartbeating</h3>
      <p class="muted">
        A connection silent for more than {config.presenceTimeoutSeconds} s (PresenceTimeoutSeconds) is closed by the
        next presence sweep (PresenceSweepSchedule), and its user goes offline with their last connection.
      </p>
      <FieldForm
        id="tab-user"
        placeholder="user id, e.g. u2"
        submit="Open a tab"
        onSubmit={(draft) => {
          if (draft.trim() !== '') void openTab(draft.trim());
        }}
      >
        {' '}
        <button type="button" onClick={() => void runSweep()}>
          Run the presence sweep now
        </button>{' '}
        <output id="sweep-result">{sweep}</output>
      </FieldForm>
      <table id="tabs">
        <tbody>
          {tabs.map(({ id, userId, tab, state }) => (
            <tr key={id} data-tab-user={userId}>
              <td>{userId}</td>
              <td class="tab-status">{describe(state, heartbeatMs)}</td>
              <td>
                {state.status === 'open' && state.heartbeating && (
                  <button type="button" onClick={() => tab.stopHeartbeats()}>
                    Stop heartbeats
                  </button>
                )}
                {state.status !== 'closed' && (
                  <button type="button" onClick={() => tab.close()}>
                    Close tab
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function describe(state: BareTabState, heartbeatMs: number): string {
  if (state.status === 'closed') return state.closed ?? 'closed';
  if (state.status === 'connecting') return 'connecting…';
  if (state.heartbeating) return `open, a heartbeat every ${(heartbeatMs / 1000).toFixed(1)} s`;
  const last = state.lastHeartbeatAt ? new Date(state.lastHeartbeatAt).toLocaleTimeString() : 'never';
  return `open, silent (last heartbeat ${last})`;
}
