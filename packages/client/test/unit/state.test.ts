import { type ClientEvent, type ClientState, nextState } from '../../src';

// The whole transition table, cell by cell: what is not listed must leave the state alone.
const STATES: ClientState[] = ['idle', 'connecting', 'connected', 'reconnecting', 'closed'];
const EVENTS: ClientEvent[] = ['connect', 'open', 'lost', 'retry', 'close'];
const EXPECTED: Record<string, ClientState> = {
  'idle connect': 'connecting',
  'idle close': 'closed',
  'connecting open': 'connected',
  'connecting lost': 'reconnecting',
  'connecting close': 'closed',
  'connected lost': 'reconnecting',
  'connected close': 'closed',
  'reconnecting retry': 'connecting',
  'reconnecting close': 'closed',
  'closed connect': 'connecting',
};

describe('nextState', () => {
  test.each(STATES.flatMap((state) => EVENTS.map((event) => [state, event] as const)))('%s + %s', (state, event) => {
    expect(nextState(state, event)).toBe(EXPECTED[`${state} ${event}`]);
  });
});
