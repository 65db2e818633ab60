import { calendarKey } from '@real-time-platform/protocol';
import type { RealtimeClient } from './client';
import { Emitter } from './emitter';
import { type RealtimeError, UsageError } from './errors';
import type { Change, Subscription } from './subscription';

/** A live range of a user's calendar events, from the `calendar:<userId>` key (owner or shared users only). */

/** An event as stored and pushed (see the platform README's Calendar section). */
export interface CalendarEvent {
  eventId: string;
  title: string;
  start: string;
  end: string;
  allDay?: boolean;
  timeZone?: string;
  description?: string;
  location?: string;
  ownerId: string;
  version: number;
  /** `start` and `end` as fixed-width UTC instants: string order is time order. */
  startsAt: string;
  endsAt: string;
  [field: string]: unknown;
}

/** A window [from, to) of instants (ISO strings, epoch ms or Dates). */
export interface CalendarRange {
  from: string | number | Date;
  to: string | number | Date;
}

export interface CalendarWatchEvents extends Record<string, unknown[]> {
  /** The events in range changed: all of them, sorted, and the change that did it. */
  change: [CalendarEvent[], Change];
  synced: [];
  error: [RealtimeError];
}

function instant(value: string | number | Date): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`not a date: ${JSON.stringify(value)}`);
  return date.toISOString();
}

/** Events overlapping the window, by start then id; the same rule as `GET …/events?from&to`. */
export class CalendarWatch extends Emitter<CalendarWatchEvents> {
  readonly #subscription: Subscription;
  #window: { from: string; to: string } | undefined;

  constructor(client: RealtimeClient, userId: string, range?: CalendarRange) {
    super((error) => console.error(error));
    this.setRange(range);
    this.#subscription = client.subscribe(calendarKey(userId));
    this.#subscription.on('change', (change) => this.emit('change', this.events, change));
    this.#subscription.on('synced', () => this.emit('synced'));
    this.#subscription.on('error', (error) => this.emit('error', error));
  }

  /** The events in range now. */
  get events(): CalendarEvent[] {
    const events: CalendarEvent[] = [];
    for (const item of this.#subscription.items.values()) {
      const event = item as Partial<CalendarEvent>;
      if (typeof event.startsAt !== 'string' || typeof event.endsAt !== 'string') continue;
      if (this.#window === undefined || overlaps(event as CalendarEvent, this.#window))
        events.push(event as CalendarEvent);
    }
    return events.sort((a, b) =>
      a.startsAt === b.startsAt ? (a.eventId < b.eventId ? -1 : 1) : a.startsAt < b.startsAt ? -1 : 1,
    );
  }

  get synced(): boolean {
    return this.#subscription.synced;
  }

  /** Moves the window (undefined: every event). */
  setRange(range: CalendarRange | undefined): void {
    this.#window = range === undefined ? undefined : { from: instant(range.from), to: instant(range.to) };
  }

  stop(): void {
    this.#subscription.unsubscribe();
  }
}

/** Watches a user's calendar, optionally only the events overlapping a range. */
export function watchCalendar(client: RealtimeClient, userId: string, range?: CalendarRange): CalendarWatch {
  return new CalendarWatch(client, userId, range);
}

/** Half-open intervals [startsAt, endsAt); an event of no length is the instant startsAt. */
function overlaps(event: { startsAt: string; endsAt: string }, window: { from: string; to: string }): boolean {
  if (event.startsAt === event.endsAt) return event.startsAt >= window.from && event.startsAt < window.to;
  return event.startsAt < window.to && event.endsAt > window.from;
}
