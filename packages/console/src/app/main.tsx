import type { OverviewReply } from '@real-time-platform/local-runtime/admin-api';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type ConsoleConfig, usePoll } from './admin';
import { CalendarView } from './views/calendar';
import { ChatView } from './views/chat';
import { InspectorView } from './views/inspector';
import { OverviewView } from './views/overview';
import { PresenceView } from './views/presence';
import { VehiclesView } from './views/vehicles';

const VIEWS = ['overview', 'inspector', 'presence', 'chat', 'calendar', 'vehicles'] as const;
type ViewName = (typeof VIEWS)[number];

function viewOfHash(): ViewName {
  const name = location.hash.slice(1);
  return (VIEWS as readonly string[]).includes(name) ? (name as ViewName) : 'overview';
}

function App() {
  const [view, setView] = useState<ViewName>(viewOfHash());
  useEffect(() => {
    const onHash = () => setView(viewOfHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const config = usePoll<ConsoleConfig>('/admin/config', 5000);
  const overview = usePoll<OverviewReply>('/admin/overview', 1000);
  const online = overview.online && config.online;
  return (
    <>
      <header>
        <h1>Real Time Platform</h1>
        <nav>
          {VIEWS.map((name) => (
            <a href={`#${name}`} class={name === view ? 'current' : ''} key={name}>
              {name[0]?.toUpperCase()}
              {name.slice(1)}
            </a>
          ))}
        </nav>
        <output id="runtime-status" data-status={online ? 'connected' : 'disconnected'}>
          {online ? 'runtime connected' : 'disconnected, retrying…'}
        </output>
      </header>
      <main>
        {config.data === undefined ? (
          <p>Waiting for the local runtime…</p>
        ) : (
          <CurrentView view={view} config={config.data} overview={overview.data} />
        )}
      </main>
    </>
  );
}

function CurrentView(props: { view: ViewName; config: ConsoleConfig; overview: OverviewReply | undefined }) {
  const { view, config, overview } = props;
  switch (view) {
    case 'overview':
      return <OverviewView overview={overview} />;
    case 'inspector':
      return <InspectorView config={config} />;
    case 'presence':
      return <PresenceView config={config} />;
    case 'chat':
      return <ChatView config={config} />;
    case 'calendar':
      return <CalendarView config={config} />;
    case 'vehicles':
      return <VehiclesView config={config} simulator={overview?.simulator} />;
  }
}

const root = document.getElementById('app');
if (root) render(<App />, root);
