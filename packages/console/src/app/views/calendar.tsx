import { type CalendarEvent, watchCalendar } from '@real-time-platform/client/calendar';
import { useEffect, useState } from 'preact/hooks';
import { type ConsoleConfig, call, RequestError, tokenFor } from '../admin';
import { SessionPanel, useSession } from '../session';
import { holidayOn, useCountries, useHolidays } from './holidays';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Monday 00:00 UTC of the week holding `at`. */
function weekStart(at: number): number {
  const day = new Date(at);
  const midnight = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
  return midnight - ((day.getUTCDay() + 6) % 7) * DAY_MS;
}

/** An edit in progress: the version it started from is the one sent, whatever other tabs did meanwhile. */
interface Draft {
  eventId: string;
  version: number;
  title: string;
}

/**
 * A week of a user's calendar, live, with a country's public holidays; create, move (+1 h), edit and delete events.
 * An edit started before another tab changed the event is refused with 409, shown as the runtime says it.
 */
export function CalendarView({ config }: { config: ConsoleConfig }) {
  const controls = useSession(config);
  const { session } = controls;
  const [weekOf, setWeekOf] = useState(() => new Date().toISOString().slice(0, 10));
  const [country, setCountry] = useState('');
  const [events, setEvents] = useState<CalendarEvent[]>([]);
  const [title, setTitle] = useState('Standup');
  const [day, setDay] = useState(() => new Date().toISOString().slice(0, 10));
  const [hour, setHour] = useState('09:00');
  const [draft, setDraft] = useState<Draft>();
  const [problem, setProblem] = useState('');
  const client = session?.client;
  const userId = session?.userId;
  const picked = Date.parse(`${weekOf}T00:00:00Z`);
  const from = weekStart(Number.isNaN(picked) ? Date.now() : picked);
  const countries = useCountries(config.httpApi);
  const holidays = useHolidays(config.httpApi, country, from, from + 7 * DAY_MS);

  useEffect(() => {
    if (!client || !userId) return;
    setEvents([]);
    const watch = watchCalendar(client, userId, { from, to: from + 7 * DAY_MS });
    watch.on('change', (all) => setEvents(all));
    watch.on('synced', () => setEvents(watch.events));
    return () => watch.stop();
  }, [client, userId, from]);

  /** True when the runtime accepted the request; otherwise the problem is on the page. */
  const request = async (method: string, path: string, body?: unknown): Promise<boolean> => {
    if (!userId) return false;
    setProblem('');
    try {
      await call(`${config.httpApi}/calendars/${encodeURIComponent(userId)}/events${path}`, {
        method,
        body,
        token: await tokenFor(config, userId),
      });
      return true;
    } catch (error) {
      setProblem(
        error instanceof RequestError
          ? `${error.status} ${error.code}: ${error.message}`
          : error instanceof Error
            ? error.message
            : String(error),
      );
      return false;
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
  const move = (event: CalendarEvent) =>
    request('PATCH', `/${encodeURIComponent(event.eventId)}`, {
      start: new Date(Date.parse(event.start) + HOUR_MS).toISOString(),
      end: new Date(Date.parse(event.end) + HOUR_MS).toISOString(),
      version: event.version,
    });
  const save = async (edit: Draft) => {
    const saved = await request('PATCH', `/${encodeURIComponent(edit.eventId)}`, {
      title: edit.title,
      version: edit.version,
    });
    if (saved) setDraft(undefined);
  };
  const remove = (event: CalendarEvent) => request('DELETE', `/${encodeURIComponent(event.eventId)}`);

  const days = Array.from({ length: 7 }, (_, i) => from + i * DAY_MS);
  return (
    <SessionPanel id="calendar" title="Calendar" config={config} controls={controls}>
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
      <p>
        <label>
          Week of{' '}
          <input id="calendar-week" type="date" value={weekOf} onInput={(e) => setWeekOf(e.currentTarget.value)} />
        </label>{' '}
        <label>
          Public holidays of{' '}
          <select id="holiday-country" value={country} onChange={(e) => setCountry(e.currentTarget.value)}>
            <option value="">no country</option>
            {countries.countries.map((c) => (
              <option key={c.code} value={c.code}>
                {c.name} ({c.code})
              </option>
            ))}
          </select>
        </label>
      </p>
      {[problem, countries.problem, holidays.problem].filter(Boolean).map((text) => (
        <p class="problem" key={text}>
          {text}
        </p>
      ))}
      <div class="week">
        {days.map((dayStart) => (
          <div class="day" key={dayStart} data-day={new Date(dayStart).toISOString().slice(0, 10)}>
            <strong>{new Date(dayStart).toUTCString().slice(0, 11)}</strong>
            {holidays.holidays
              .filter((holiday) => holidayOn(holiday, dayStart))
              .map((holiday) => (
                <div class="event holiday" key={`${holiday.start}.${holiday.name}`}>
                  {holiday.name}
                  {holiday.substitute ? ' (substitute day)' : ''}
                </div>
              ))}
            {events
              .filter((event) => Date.parse(event.start) >= dayStart && Date.parse(event.start) < dayStart + DAY_MS)
              .map((event) =>
                draft?.eventId === event.eventId ? (
                  <form
                    class="event editing"
                    key={event.eventId}
                    data-event-id={event.eventId}
                    onSubmit={(e) => {
                      e.preventDefault();
                      void save(draft);
                    }}
                  >
                    <input
                      class="edit-title"
                      value={draft.title}
                      onInput={(e) => setDraft({ ...draft, title: e.currentTarget.value })}
                    />
                    <button type="submit">Save</button>
                    <button type="button" onClick={() => setDraft(undefined)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <div class="event" key={event.eventId} data-event-id={event.eventId}>
                    <span class="event-time">{event.start.slice(11, 16)}</span>{' '}
                    <span class="event-title">{event.title}</span>{' '}
                    <button type="button" onClick={() => void move(event)}>
                      +1 h
                    </button>
                    <button
                      type="button"
                      onClick={() => setDraft({ eventId: event.eventId, version: event.version, title: event.title })}
                    >
                      Edit
                    </button>
                    <button type="button" onClick={() => void remove(event)}>
                      ✕
                    </button>
                  </div>
                ),
              )}
          </div>
        ))}
      </div>
    </SessionPanel>
  );
}
