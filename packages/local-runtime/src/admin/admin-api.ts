/**
 * The admin API's JSON bodies, as the console reads them. Types only and no imports: the console's browser code
 * imports them type-only, so they must never pull Node code into its bundle or its type-check.
 */

/** One stream batch as the console's Inspector lists it. */
export interface FanoutBatch {
  /** Increasing; the page asks for the batches after the last one it has. */
  id: number;
  at: number;
  functionId: string;
  trigger: string;
  records: number;
  /** Records the function reported in batchItemFailures (they are re-delivered). */
  failedRecords: number;
  /** The same first record was delivered before: the event source is retrying (or bisecting) this batch. */
  retry: boolean;
  ok: boolean;
  error?: string;
  durationMs: number;
  firstSequenceNumber?: string;
  /** The invocation's request id (the function's logs carry it as function_request_id). */
  requestId: string;
  /** Posts to @connections the fan-out made (absent until its summary line is read, or when it logs none). */
  posts?: number;
  /** Posts answered 410 GoneException: connections found gone and cleaned up. */
  gone?: number;
  /** Posts sent again after a throttle or a 5xx (within the invocation). */
  postRetries?: number;
}

/** A dead letter: a stream batch the event source gave up on (its OnFailure metadata). */
export interface DeadLetter {
  destination: string;
  condition: string;
  batchSize: number;
  startSequenceNumber: string;
  endSequenceNumber: string;
  at: string;
}

/** A service `npm start` runs, and whether it answers. */
export interface ServiceHealth {
  name: string;
  url: string;
  status: 'up' | 'down';
  detail?: string;
}

/** A connection as the Overview lists it: the gateway's view joined with its rows in the connection table. */
export interface ConnectionView {
  connectionId: string;
  keys: string[];
  userId?: string;
  connectedAt: number;
  idleMs: number;
  sourceIp: string;
}

export interface KeyView {
  key: string;
  subscribers: number;
}

export interface Overview {
  at: number;
  services: ServiceHealth[];
  connections: ConnectionView[];
  keys: KeyView[];
  streams: { function: string; event: string; invocations: number; failedInvocations: number; retries: number }[];
}

export interface SimulatorStatus {
  running: boolean;
  vehicles: number;
  /** Vehicle ids, which are also their keys: subscribe to one to follow it. */
  keys: string[];
  writes: number;
  errors: number;
}

/** GET /admin/fanout. */
export interface FanoutReply {
  batches: FanoutBatch[];
  deadLetters: DeadLetter[];
}

/** GET /admin/overview. */
export interface OverviewReply extends Overview {
  simulator: SimulatorStatus;
}
