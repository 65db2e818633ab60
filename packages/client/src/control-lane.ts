import type { SingleServerFrame } from '@real-time-platform/protocol';
import { type Clock, Timer } from './clock';
import { ServerError } from './errors';

/** Actions whose outcome the client waits for, because the server answers each with a frame of its own. */
export type ControlAction =
  | { action: 'subscribe'; keys: string[]; snapshot?: boolean }
  | { action: 'unsubscribe'; keys: string[] }
  | { action: 'update-presence'; url: string; title?: string };

export type ControlOutcome =
  | { kind: 'reply'; frame: SingleServerFrame }
  | { kind: 'refused'; error: ServerError }
  | { kind: 'timeout' }
  /** The connection was lost first. */
  | { kind: 'abandoned' };

interface Pending {
  action: ControlAction;
  settle(outcome: ControlOutcome): void;
  sends: number;
}

/** A control action unanswered this many times in a row has timed out. */
const MAX_SENDS = 3;

const REPLY_TYPE: Record<ControlAction['action'], SingleServerFrame['type']> = {
  subscribe: 'subscribed',
  unsubscribe: 'unsubscribed',
  'update-presence': 'presence-updated',
};

/**
 * Control actions on one connection, one at a time. Error frames do not say which action they answer (only chat's
 * do, with `action`), so the client keeps at most one control action in flight: an error frame without `action`
 * that arrives meanwhile is its answer.
 */
export class ControlLane {
  readonly #queue: Pending[] = [];
  #inFlight: Pending | undefined;
  readonly #timer: Timer;

  readonly #send: (text: string) => boolean;
  readonly #timeoutMs: number;

  constructor(send: (text: string) => boolean, clock: Clock, timeoutMs: number) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
    this.#timer = new Timer(clock);
  }

  request(action: ControlAction, settle: (outcome: ControlOutcome) => void): void {
    this.#queue.push({ action, settle, sends: 0 });
    if (this.#inFlight === undefined) this.#next();
  }

  /** Offers a received frame; true when it was the answer to the action in flight. */
  offer(frame: SingleServerFrame): boolean {
    const pending = this.#inFlight;
    if (pending === undefined) return false;
    if (frame.type === 'error' && frame.action === undefined) {
      this.#complete({ kind: 'refused', error: new ServerError(frame.code, frame.message) });
      return true;
    }
    if (frame.type !== REPLY_TYPE[pending.action.action]) return false;
    if ('keys' in pending.action && 'keys' in frame) {
      const answered = new Set(frame.keys);
      if (!pending.action.keys.every((key) => answered.has(key))) return false;
    }
    this.#complete({ kind: 'reply', frame });
    return true;
  }

  /** The connection is gone: every action still waiting is abandoned. */
  abandon(): void {
    this.#timer.clear();
    const pending = [...(this.#inFlight ? [this.#inFlight] : []), ...this.#queue];
    this.#inFlight = undefined;
    this.#queue.length = 0;
    for (const p of pending) p.settle({ kind: 'abandoned' });
  }

  #complete(outcome: ControlOutcome): void {
    const pending = this.#inFlight;
    this.#inFlight = undefined;
    this.#timer.clear();
    pending?.settle(outcome);
    // settle may have sent the next action already.
    if (this.#inFlight === undefined) this.#next();
  }

  #next(): void {
    const pending = this.#queue.shift();
    if (pending === undefined) return;
    this.#inFlight = pending;
    this.#transmit(pending);
  }

  /**
   * Sends the action in flight, again when it goes unanswered: the answer to either send completes it (a slow
   * Lambda answers late rather than never), and the platform's actions are idempotent.
   */
  #transmit(pending: Pending): void {
    pending.sends++;
    if (!this.#send(JSON.stringify(pending.action))) {
      this.#inFlight = undefined;
      pending.settle({ kind: 'abandoned' });
      if (this.#inFlight === undefined) this.#next();
      return;
    }
    this.#timer.set(this.#timeoutMs, () => {
      if (pending.sends < MAX_SENDS) this.#transmit(pending);
      else this.#complete({ kind: 'timeout' });
    });
  }
}
