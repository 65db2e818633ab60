import { type CalendarEvent, watchCalendar } from '@real-time-platform/client/calendar';
import { useEffect, useState } from 'preact/hooks';
import { type ConsoleConfig, call, tokenFor } from '../admin';
import { SignIn, useSession } from '../session';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Monday 00:00 UTC of the week holding `at`. */
function weekStart(at: number): number {
  const day = new Date(at);
  const midnight = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
  return midnight - ((day.getUTCDay() + 6) % 7) * DAY_MS;
}

/** A week of a user's calendar, live; create, move (+1 h) and delete events. A stale edit shows the 409. */
export function CalendarView({ config }: { config: ConsoleConfig }) {
  const { session, signIn, signOut } = useSession(config);
  const [from] = useState(() => weekStart(Date.now()));
  const [events, setEvents] = useState<CalendarEvent[]>([]);
  const [title, setTitle] = useState('Standup');
  const [day, setDay] = useState(() => new Date().toISOString().slice(0, 10));
  const [hour, setHour] = useState('09:00');
  const [problem, setProblem] = useState('');
  const client = session?.client;
  const userId = session?.userId;

  useEffect(() => {
    if (!client || !userId) return;
    const watch = watchCalendar(client, userId, { from, to: from + 7 * DAY_MS });
    watch.on('change', (all) => setEvents(all));
    watch.on('synced', () => setEvents(watch.events));
    return () => watch.stop();
  }, [client, userId, from]);

  const request = async (method: string, path: string, body?: unknown) => {
    if (!userId) return;
    setProblem('');
    try {
      await call(`${config.httpApi}/calendars/${encodeURIComponent(userId)}/events${path}`, {
        method,
        body,
        token: await tokenFor(config, userId),
      });
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  const create = () => {
    const start = Date.parse(`${day}T${hour}:00Z`);
    if (Number.isNaN(start)) return setProblem('pick a day and a time');
    void request('POST', '', {
      title,
      start: new Date(start).toISOString(),
      end: new Date(start + HOUR_MS / 2).toISOString(),
    });
  };
  // The version shown is the one sent: if another tab moved the event meanwhile, the runtime answers 409.
  const move = (event: CalendarEvent) =>
    request('PATCH', `/${encodeURIComponent(event.eventId)}`, {
      start: new Date(Date.parse(event.start) + HOUR_MS).toISOString(),
      end: new Date(Date.parse(event.end) + HOUR_MS).toISOString(),
      version: event.version,
    });
  const remove = (event: CalendarEvent) => request('DELETE', `/${encodeURIComponent(event.eventId)}`);

  const days = Array.from({ length: 7 }, (_, i) => from + i * DAY_MS);
  return (
    <section id="calendar" class="panel">
      <h2>Calendar</h2>
      <SignIn id="calendar" config={config} session={session} signIn={signIn} signOut={signOut} />
      {session && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            create();
          }}
        >
          <input id="calendar-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          <input id="calendar-day" type="date" value={day} onInput={(e) => setDay(e.currentTarget.value)} />
          <input id="calendar-hour" type="time" value={hour} onInput={(e) => setHour(e.currentTarget.value)} />
          <button type="submit">Create</button>
          <span class="muted"> (UTC)</span>
        </form>
      )}
      {problem && <p class="problem">{problem}</p>}
      <div class="week">
        {days.map((dayStart) => (
          <div class="day" key={dayStart}>
            <strong>{new Date(dayStart).toUTCString().slice(0, 11)}</strong>
            {events
              .filter((event) => Date.parse(event.start) >= dayStart && Date.parse(event.start) < dayStart + DAY_MS)
              .map((event) => (
                <div class="event" key={event.eventId} data-event-id={event.eventId}>
                  <span class="event-time">{event.start.slice(11, 16)}</span>{' '}
                  <span class="event-title">{event.title}</span>{' '}
                  <button type="button" onClick={() => void move(event)}>
                    +1 h
                  </button>
                  <button type="button" onClick={() => void remove(event)}>
                    ✕
                  </button>
                </div>
              ))}
          </div>
        ))}
      </div>
    </section>
  );
}
