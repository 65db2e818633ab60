import {
  keyProblem,
  MAX_KEYS_PER_REQUEST,
  MAX_SUBSCRIPTIONS_PER_CONNECTION,
  platformKeyOwner,
  type SingleServerFrame,
} from '@real-time-platform/protocol';
import { asRealtimeError } from './as-realtime-error';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, rotationDelay, tokenRefreshDelay } from './backoff';
import { type Clock, systemClock, Timer } from './clock';
import { Connection, type WebSocketConstructor } from './connection';
import { type ControlAction, ControlLane, type ControlOutcome } from './control-lane';
import { Emitter } from './emitter';
import {
  AuthError,
  ConnectionError,
  ProtocolError,
  RealtimeError,
  ServerError,
  TokenError,
  UsageError,
} from './errors';
import { createHttp, type Http } from './http';
import { tokenExpiresAt } from './jwt';
import { type ClientEvent, type ClientState, nextState, type StateDetail } from './state';
import { type Item, presenceChange, Subscription, type SubscriptionHost } from './subscription';

/** A token, or a function the client calls before every connection to get the current one. */
export type TokenSource = string | undefined | (() => string | undefined | Promise<string | undefined>);

export interface RealtimeClientOptions {
  /** The WebSocket URL, e.g. `wss://abc.execute-api.eu-west-1.amazonaws.com/prod` or `ws://localhost:3001/develop`. */
  url: string;
  /** For AuthMode=jwt: sent as `?token=` on every connect; a function is called again for every connection. */
  token?: TokenSource;
  /** The WebSocket class; default `globalThis.WebSocket` (browsers, Node ≥ 22). In Node 20 pass `ws`. */
  WebSocket?: WebSocketConstructor;
  /** The deployment's RealTimeItemKey: the query parameter that subscribes public keys at $connect. */
  keyParam?: string;
  /** The HTTP API's base URL, to fetch items too large for a message and the rest of partial snapshots. */
  httpUrl?: string;
  /** The fetch function for `httpUrl`; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Heartbeat period; well under API Gateway's 10-minute idle cut and the presence timeout. Default 20 s. */
  heartbeatIntervalMs?: number;
  /** A heartbeat without a pong for this long means the socket is dead: it is replaced. Default 10 s. */
  pongTimeoutMs?: number;
  /** A socket that does not open within this is given up. Default 15 s. */
  connectTimeoutMs?: number;
  /** A subscribe or unsubscribe without an answer for this long is sent again. Default 10 s. */
  requestTimeoutMs?: number;
  /** A token provider that does not answer within this has failed. Default 10 s. */
  tokenTimeoutMs?: number;
  /** Replace the connection this long before its token expires (read from the JWT's `exp`). Default 60 s. */
  tokenRefreshMarginMs?: number;
  /** The server's maximum connection duration (API Gateway: 2 hours); the client replaces it before. */
  maxConnectionMs?: number;
  /** After a replacement caught up, how long the old connection stays open to drain frames in flight. Default 1 s. */
  overlapMs?: number;
  /** Reconnect backoff bounds. Default 500 ms → 20 s. */
  backoff?: Partial<BackoffOptions>;
  /** Most actions queued while not connected; the oldest is dropped beyond it. Default 1,000. */
  maxQueuedActions?: number;
  /** Check the socket at once when a browser comes back online or a tab becomes visible. Default true. */
  watchBrowserEvents?: boolean;
  /** Time and timers (tests). */
  clock?: Clock;
  /** Random numbers in [0, 1) for the jitter (tests). */
  random?: () => number;
}

/** A platform action, as `{"action": …, …}`. */
export type Action = { action: string } & Record<string, unknown>;

export interface ClientEvents extends Record<string, unknown[]> {
  state: [ClientState, StateDetail];
  error: [RealtimeError];
  /** Every frame received, a batch's frames one by one (chat echoes of inbox keys included). */
  message: [SingleServerFrame];
  /** A socket opened: a (re)connect, or the replacement of a make-before-break. Helpers re-send what they own. */
  open: [{ rotation: boolean }];
}

/** API Gateway's limit for one frame a client sends. */
const MAX_ACTION_BYTES = 32 * 1024;
/** Keys put in the connect URL stay under this many characters: URLs have practical limits. */
const MAX_URL_KEY_CHARS = 2048;
/** A make-before-break closes the old connection after this even if a subscription never caught up. */
const MAX_DRAIN_MS = 30_000;
const ACTIONS_WITH_REPLIES = new Set(['subscribe', 'unsubscribe', 'update-presence']);

interface Queued {
  text: string;
  control?: ControlAction;
}

/**
 * A client of the Real Time Platform: one WebSocket at a time (two during a make-before-break), reconnecting with
 * backoff, subscriptions that catch up after every reconnect, actions queued while offline. See the package README.
 */
export class RealtimeClient extends Emitter<ClientEvents> {
  #currentState: ClientState = 'idle';
  readonly #Socket: WebSocketConstructor;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: BackoffOptions;
  readonly #http: Http | undefined;
  #tokenSource: TokenSource;
  #primary: Connection | undefined;
  #incoming: Connection | undefined;
  readonly #draining = new Set<Connection>();
  readonly #lanes = new Map<number, ControlLane>();
  readonly #subscriptions = new Map<string, Subscription>();
  /** Keys unsubscribed whose answer has not come yet: their last frames are expected, not errors. */
  readonly #released = new Map<string, number>();
  #outbox: Queued[] = [];
  #attempt = 0;
  #rotationAttempt = 0;
  /** Invalidates token reads of attempts that close() or a newer attempt made obsolete. */
  #attemptId = 0;
  #refused: { token: string | undefined } | undefined;
  readonly #retryTimer: Timer;
  readonly #rotationTimer: Timer;
  readonly #drainTimer: Timer;
  readonly #host: SubscriptionHost;
  #removeBrowserListeners: (() => void) | undefined;
  /** Why the next make-before-break is planned. */
  #rotationReason: 'lifetime' | 'token' = 'lifetime';
  /** A token the provider had nothing newer than when asked before it expired: no use rotating for it again. */
  #exhaustedToken: string | undefined;
  #reportingListenerError = false;

  readonly #options: RealtimeClientOptions;

  constructor(options: RealtimeClientOptions) {
    super((error) => this.#listenerFailed(error));
    this.#options = options;
    const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Socket === undefined) {
      throw new UsageError('no WebSocket implementation: pass the `ws` package as the WebSocket option (Node < 22)');
    }
    if (typeof options.url !== 'string' || !/^wss?:\/\//i.test(options.url)) {
      throw new UsageError(`url must be a ws:// or wss:// URL; got ${JSON.stringify(options.url)}`);
    }
    this.#Socket = Socket;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#tokenSource = options.token;
    this.#retryTimer = new Timer(this.#clock);
    this.#rotationTimer = new Timer(this.#clock);
    this.#drainTimer = new Timer(this.#clock);
    this.#http =
      options.httpUrl === undefined ? undefined : createHttp(options.httpUrl, () => this.#readToken(), options.fetch);
    const http = this.#http;
    this.#host = {
      ...(http === undefined
        ? {}
        : {
            fetchItem: (key, itemId) => http.item(key, itemId),
            fetchRemaining: (key, nextToken) => http.remainingItems(key, nextToken),
          }),
      release: (subscription) => this.#release(subscription),
      listenerFailed: (error) => this.#listenerFailed(error),
      synced: () => this.#closeReplacedWhenCaughtUp(),
    };
  }

  /** 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' */
  get state(): ClientState {
    return this.#currentState;
  }

  /** The platform's id of the current connection (known after its first pong). */
  get connectionId(): string | undefined {
    return this.#primary?.connectionId;
  }

  /** The active subscriptions by key. */
  get subscriptionsByKey(): ReadonlyMap<string, Subscription> {
    return this.#subscriptions;
  }

  /** Starts connecting (subscribe() and send() do it too). After close(), connects again. */
  connect(): void {
    if (!this.#transition('connect', { reason: 'connect' })) return;
    this.#attempt = 0;
    this.#watchBrowser();
    void this.#openConnection();
  }

  /** Closes every socket and stops reconnecting; resolves when the sockets have closed. Subscriptions are kept. */
  async close(): Promise<void> {
    this.#attemptId++;
    this.#retryTimer.clear();
    this.#rotationTimer.clear();
    this.#drainTimer.clear();
    this.#removeBrowserListeners?.();
    this.#removeBrowserListeners = undefined;
    this.#outbox = [];
    const connections = [this.#primary, this.#incoming, ...this.#draining].filter(
      (c): c is Connection => c !== undefined,
    );
    this.#primary = this.#incoming = undefined;
    this.#draining.clear();
    this.#transition('close', { reason: 'close' });
    for (const connection of connections) connection.close(1000, 'client closed');
    await Promise.all(connections.map((connection) => connection.whenLost));
  }

  /** Replaces the token (or provider); a client waiting after a refused handshake connects again at once. */
  setToken(token: TokenSource): void {
    this.#tokenSource = token;
    if (this.#refused !== undefined && this.#currentState === 'reconnecting') {
      this.#retryTimer.clear();
      void this.#retry();
    }
  }

  /** Sends a heartbeat now (unless one is unanswered): a dead socket is found within `pongTimeoutMs`. */
  checkConnection(): void {
    this.#primary?.heartbeat();
  }

  /**
   * Subscribes to a key. With `snapshot` (the default) the key's current items come first and every later change
   * after them, after each reconnect too; without it only changes, and those made while disconnected are missed.
   * Subscribing to a key again returns the same subscription.
   */
  subscribe(key: string, options: { snapshot?: boolean } = {}): Subscription {
    const problem = typeof key === 'string' ? keyProblem(key) : 'a key must be a string';
    if (problem !== undefined) throw new UsageError(`cannot subscribe to ${JSON.stringify(key)}: ${problem}`);
    const existing = this.#subscriptions.get(key);
    if (existing !== undefined) return existing;
    if (this.#subscriptions.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      throw new UsageError(`at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per client`);
    }
    const subscription = new Subscription(key, options.snapshot ?? true, this.#host);
    this.#subscriptions.set(key, subscription);
    if (this.#currentState === 'idle') this.connect();
    else if (this.#primary?.isOpen) this.#subscribeOn(this.#primary, [subscription]);
    return subscription;
  }

  /**
   * Sends a platform action (e.g. `{action: 'read-messages', conversationId}`), now when connected, else when the
   * next connection opens. Throws a UsageError for what can never be sent.
   */
  send(action: Action): void {
    if (typeof action !== 'object' || action === null || typeof action.action !== 'string' || action.action === '') {
      throw new UsageError('an action must be an object with a non-empty string `action`');
    }
    if (this.#currentState === 'closed') throw new UsageError('the client is closed; call connect() first');
    let text: string;
    try {
      text = JSON.stringify(action);
    } catch (error) {
      throw new UsageError(`the action cannot be sent as JSON: ${error instanceof Error ? error.message : error}`);
    }
    if (new TextEncoder().encode(text).byteLength > MAX_ACTION_BYTES) {
      throw new UsageError(`the action is larger than ${MAX_ACTION_BYTES} bytes, the platform's frame limit`);
    }
    const queued: Queued = ACTIONS_WITH_REPLIES.has(action.action)
      ? { text, control: action as ControlAction }
      : { text };
    if (this.#currentState === 'idle') this.connect();
    if (this.#primary?.isOpen) this.#sendOn(this.#primary, queued);
    else {
      this.#outbox.push(queued);
      if (this.#outbox.length > (this.#options.maxQueuedActions ?? 1000)) {
        this.#outbox.shift();
        this.#report(
          new RealtimeError('too many actions queued while disconnected: the oldest was dropped', { retryable: false }),
        );
      }
    }
  }

  /** GET (or another method) on the HTTP API at `path`, with the token as Bearer; JSON in and out. */
  request<T = unknown>(path: string, init?: { method?: string; body?: unknown }): Promise<T> {
    if (this.#http === undefined) return Promise.reject(new UsageError('the client has no httpUrl'));
    return this.#http.json<T>(path, init);
  }

  // ----------------------------------------------------------------------------------------------- connecting

  #transition(event: ClientEvent, detail: StateDetail): boolean {
    const next = nextState(this.#currentState, event);
    if (next === undefined) return false;
    this.#currentState = next;
    this.emit('state', next, detail);
    return true;
  }

  /** The token for a new connection, or why there is none. Never throws. */
  async #readToken(): Promise<string | undefined> {
    const source = this.#tokenSource;
    if (typeof source !== 'function') return source;
    const timeoutMs = this.#options.tokenTimeoutMs ?? 10_000;
    let timer: unknown;
    // Promise.race listens to the provider's promise, so one that rejects after the timeout is still handled.
    const provided = Promise.resolve().then(source);
    try {
      const token = await Promise.race([
        provided,
        new Promise<never>((_, reject) => {
          timer = this.#clock.setTimeout(
            () => reject(new TokenError(`the token provider did not answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      if (token !== undefined && typeof token !== 'string')
        throw new TokenError('the token provider returned a non-string');
      return token;
    } catch (error) {
      throw asRealtimeError(error, (message, cause) => new TokenError(`the token provider failed: ${message}`, cause));
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  /** Reads the token and opens a socket as the primary connection. */
  async #openConnection(): Promise<void> {
    const attemptId = ++this.#attemptId;
    let token: string | undefined;
    try {
      token = await this.#readToken();
    } catch (error) {
      if (attemptId === this.#attemptId) this.#lose(error as RealtimeError, 'token-error');
      return;
    }
    if (attemptId !== this.#attemptId) return;
    const expiresAt = tokenExpiresAt(token);
    if (expiresAt !== undefined && expiresAt <= this.#clock.now()) {
      this.#refused = { token };
      this.#lose(new AuthError('the token has expired; waiting for a new one'), 'unauthorized');
      return;
    }
    if (this.#refused !== undefined && this.#refused.token === token) {
      // Reported when it was refused; asking the provider again later is all there is to do.
      this.#lose(new AuthError('the token was refused; waiting for a new one'), 'unauthorized', undefined, false);
      return;
    }
    if (this.#currentState === 'reconnecting') this.#transition('retry', { reason: 'retry', attempt: this.#attempt });
    try {
      this.#primary = this.#createConnection(token);
    } catch (error) {
      this.#lose(
        new ConnectionError(`the socket could not be created: ${String(error)}`, undefined, error),
        'socket-error',
      );
    }
  }

  #createConnection(token: string | undefined): Connection {
    return new Connection(
      this.#Socket,
      this.#connectUrl(token),
      token,
      {
        heartbeatIntervalMs: this.#options.heartbeatIntervalMs ?? 20_000,
        pongTimeoutMs: this.#options.pongTimeoutMs ?? 10_000,
        connectTimeoutMs: this.#options.connectTimeoutMs ?? 15_000,
      },
      this.#clock,
      {
        open: (connection) => this.#onOpen(connection),
        frame: (connection, frame) => this.#onFrame(connection, frame),
        problem: (_connection, error) => this.#report(error),
        lost: (connection, error) => this.#onLost(connection, error),
      },
    );
  }

  /**
   * The URL of a new connection: the token, and the public keys subscribed (those no per-key rule can refuse), so the
   * platform subscribes them at $connect, before any subscribe action arrives.
   */
  #connectUrl(token: string | undefined): string {
    const params = new URLSearchParams();
    let chars = 0;
    let count = 0;
    for (const subscription of this.#subscriptions.values()) {
      const key = subscription.key;
      if (!subscription.active || platformKeyOwner(key) !== undefined) continue;
      if (count >= MAX_KEYS_PER_REQUEST || chars + key.length > MAX_URL_KEY_CHARS) break;
      params.append(this.#options.keyParam ?? 'realTimeItemKey', key);
      chars += key.length;
      count++;
    }
    if (token !== undefined) params.append('token', token);
    const query = params.toString();
    if (query === '') return this.#options.url;
    return `${this.#options.url}${this.#options.url.includes('?') ? '&' : '?'}${query}`;
  }

  /** The primary connection is gone (or could not be had): wait, then try again. */
  #lose(error: RealtimeError, reason: string, closeCode?: number, reported = true): void {
    if (this.#currentState === 'closed' || this.#currentState === 'idle') return;
    const detail: StateDetail = { reason, error, ...(closeCode === undefined ? {} : { closeCode }) };
    // A normal cut (1000 from DeleteConnection, 1001 at the idle or 2-hour limits) is expected, not an error.
    const normalCut = error instanceof ConnectionError && (closeCode === 1000 || closeCode === 1001);
    if (reported && !normalCut) this.#report(error);
    if (error instanceof AuthError && typeof this.#tokenSource !== 'function') {
      // A fixed token will not change by itself: only setToken() can help.
      this.#transition('lost', detail);
      return;
    }
    const delayMs = backoffDelay(this.#attempt, this.#backoff, this.#random);
    this.#attempt++;
    this.#transition('lost', { ...detail, delayMs, attempt: this.#attempt });
    this.#retryTimer.set(delayMs, () => void this.#retry());
  }

  async #retry(): Promise<void> {
    if (this.#currentState !== 'reconnecting') return;
    await this.#openConnection();
  }

  #onOpen(connection: Connection): void {
    const rotation = connection === this.#incoming;
    if (rotation) {
      const old = this.#primary;
      this.#incoming = undefined;
      this.#primary = connection;
      if (old !== undefined) {
        old.stopHeartbeats();
        this.#draining.add(old);
        this.#drainTimer.set(MAX_DRAIN_MS, () => this.#closeReplaced());
      }
    } else if (connection === this.#primary) {
      this.#refused = undefined;
      this.#transition('open', { reason: 'open' });
    } else {
      connection.close(1000, 'not needed');
      return;
    }
    this.#rotationAttempt = 0;
    this.#lanes.set(
      connection.id,
      new ControlLane((text) => connection.send(text), this.#clock, this.#options.requestTimeoutMs ?? 10_000),
    );
    connection.heartbeat();
    this.#subscribeOn(
      connection,
      [...this.#subscriptions.values()].filter((s) => s.active),
    );
    const queued = this.#outbox;
    this.#outbox = [];
    for (const item of queued) this.#sendOn(connection, item);
    this.#scheduleRotation(connection);
    // Without subscriptions to catch up, the old connection has nothing left to wait for.
    if (rotation) this.#closeReplacedWhenCaughtUp();
    this.emit('open', { rotation });
  }

  #onLost(connection: Connection, error: ConnectionError | AuthError): void {
    this.#lanes.get(connection.id)?.abandon();
    this.#lanes.delete(connection.id);
    for (const subscription of this.#subscriptions.values()) subscription.connectionLost(connection.id);
    // A replaced connection closing changes nothing: the snapshot's position told the new one what it already had.
    if (this.#draining.delete(connection)) return;
    if (connection === this.#incoming) {
      this.#incoming = undefined;
      this.#report(error);
      if (error instanceof AuthError) this.#refused = { token: connection.token };
      else
        this.#rotationTimer.set(
          backoffDelay(this.#rotationAttempt++, this.#backoff, this.#random),
          () => void this.#rotate(),
        );
      return;
    }
    if (connection !== this.#primary) return;
    this.#primary = undefined;
    this.#rotationTimer.clear();
    if (connection.answered) this.#attempt = 0;
    if (error instanceof AuthError) this.#refused = { token: connection.token };
    const closeCode = error instanceof ConnectionError ? error.closeCode : undefined;
    const reason =
      error instanceof AuthError
        ? 'unauthorized'
        : connection.openedAt === undefined
          ? 'connect-failed'
          : 'connection-lost';
    const replacement = this.#incoming;
    if (replacement !== undefined) {
      // A make-before-break was under way: its socket is the reconnect attempt, no need to wait for another.
      this.#incoming = undefined;
      this.#primary = replacement;
      if (!(closeCode === 1000 || closeCode === 1001)) this.#report(error);
      this.#transition('lost', { reason, error, ...(closeCode === undefined ? {} : { closeCode }) });
      this.#transition('retry', { reason: 'replacement-under-way', attempt: this.#attempt });
      return;
    }
    this.#lose(error, reason, closeCode);
  }

  // ----------------------------------------------------------------------------------------- make-before-break

  #scheduleRotation(connection: Connection): void {
    const lifetime = this.#options.maxConnectionMs ?? 7_200_000;
    const openedAt = connection.openedAt ?? this.#clock.now();
    const delay = Math.max(0, openedAt + rotationDelay(lifetime, this.#random) - this.#clock.now());
    const expiresAt = tokenExpiresAt(connection.token);
    const margin = this.#options.tokenRefreshMarginMs ?? 60_000;
    const beforeExpiry =
      expiresAt === undefined || typeof this.#tokenSource !== 'function' || connection.token === this.#exhaustedToken
        ? undefined
        : tokenRefreshDelay(expiresAt, this.#clock.now(), margin);
    this.#rotationReason = beforeExpiry !== undefined && beforeExpiry < delay ? 'token' : 'lifetime';
    this.#rotationTimer.set(Math.min(delay, beforeExpiry ?? delay), () => void this.#rotate());
  }

  /** Opens the replacement of the primary connection; the old one closes once the new one has caught up. */
  async #rotate(): Promise<void> {
    const current = this.#primary;
    if (this.#currentState !== 'connected' || current === undefined || this.#incoming !== undefined) return;
    let token: string | undefined;
    try {
      token = await this.#readToken();
    } catch (error) {
      this.#report(error as RealtimeError);
      this.#rotationTimer.set(
        backoffDelay(this.#rotationAttempt++, this.#backoff, this.#random),
        () => void this.#rotate(),
      );
      return;
    }
    if (this.#primary !== current || this.#incoming !== undefined || this.#currentState !== 'connected') return;
    const expiresAt = tokenExpiresAt(token);
    const currentExpiry = tokenExpiresAt(current.token);
    const noNewerToken = expiresAt === undefined || currentExpiry === undefined || expiresAt <= currentExpiry;
    if (this.#rotationReason === 'token' && noNewerToken) {
      // Replacing the connection for a token that expires no later would gain nothing: wait for the lifetime cut.
      this.#exhaustedToken = current.token;
      this.#scheduleRotation(current);
      return;
    }
    if (
      (this.#refused !== undefined && this.#refused.token === token) ||
      (expiresAt !== undefined && expiresAt <= this.#clock.now())
    )
      return;
    try {
      this.#incoming = this.#createConnection(token);
    } catch (error) {
      this.#report(new ConnectionError(`the socket could not be created: ${String(error)}`, undefined, error));
    }
  }

  /** Closes the replaced connections once every subscription caught up on the new one. */
  #closeReplacedWhenCaughtUp(): void {
    if (this.#draining.size === 0 || this.#primary === undefined) return;
    const primaryId = this.#primary.id;
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.active && subscription.liveConnection !== primaryId) return;
    }
    this.#drainTimer.set(this.#options.overlapMs ?? 1000, () => this.#closeReplaced());
  }

  #closeReplaced(): void {
    for (const connection of this.#draining) connection.close(1000, 'replaced');
  }

  // ------------------------------------------------------------------------------------------------- frames

  #onFrame(connection: Connection, frame: SingleServerFrame): void {
    this.emit('message', frame);
    if (this.#lanes.get(connection.id)?.offer(frame)) return;
    switch (frame.type) {
      case 'item': {
        // A chat re-send's replay has no seq: it is not a change (the chat helper reads it from 'message').
        if (frame.seq === undefined) return;
        this.#subscriptions.get(frame.key)?.receive(
          {
            event: frame.event,
            itemId: frame.itemId,
            seq: frame.seq,
            at: frame.at,
            ...(frame.item === undefined ? {} : { item: frame.item }),
            ...(frame.truncated ? { truncated: true as const } : {}),
            ...(frame.conflated === undefined ? {} : { conflated: frame.conflated }),
          },
          connection.id,
        );
        return;
      }
      case 'presence':
        this.#subscriptions.get(frame.key)?.receive(presenceChange(frame), connection.id);
        return;
      case 'snapshot': {
        const subscription = this.#subscriptions.get(frame.key);
        if (subscription !== undefined) subscription.receiveSnapshot(frame, connection.id);
        else if (!this.#released.has(frame.key)) {
          this.#report(
            new ProtocolError(`a snapshot for ${JSON.stringify(frame.key)}, which is not subscribed`, frame),
          );
        }
        return;
      }
      case 'error':
        this.#report(new ServerError(frame.code, frame.message));
        return;
      default:
        return;
    }
  }

  // ----------------------------------------------------------------------------------------- subscribing

  #subscribeOn(connection: Connection, subscriptions: Subscription[]): void {
    for (const subscription of subscriptions) subscription.beginCatchUp(connection.id);
    // Public keys go together (nothing can refuse one of them alone); each key a domain owns goes alone, so that a
    // refusal (FORBIDDEN, UNAUTHORIZED) names exactly one subscription.
    const groups: Subscription[][] = [];
    for (const snapshot of [true, false]) {
      const shared = subscriptions.filter((s) => s.snapshot === snapshot && platformKeyOwner(s.key) === undefined);
      for (let i = 0; i < shared.length; i += MAX_KEYS_PER_REQUEST)
        groups.push(shared.slice(i, i + MAX_KEYS_PER_REQUEST));
    }
    for (const subscription of subscriptions) {
      if (platformKeyOwner(subscription.key) !== undefined) groups.push([subscription]);
    }
    for (const group of groups) this.#requestSubscribe(connection, group, 0);
  }

  #requestSubscribe(connection: Connection, group: Subscription[], failures: number): void {
    const lane = this.#lanes.get(connection.id);
    const live = group.filter((s) => this.#subscriptions.get(s.key) === s && s.active);
    if (lane === undefined || live.length === 0) return;
    const action: ControlAction = { action: 'subscribe', keys: live.map((s) => s.key), snapshot: live[0]?.snapshot };
    lane.request(action, (outcome: ControlOutcome) => {
      if (outcome.kind === 'reply') {
        for (const subscription of live) subscription.confirmed(connection.id);
      } else if (outcome.kind === 'refused' && !outcome.error.retryable) {
        for (const subscription of live) {
          if (this.#subscriptions.get(subscription.key) === subscription) this.#subscriptions.delete(subscription.key);
          subscription.refuse(new ServerError(outcome.error.code, outcome.error.message, subscription.key));
        }
        this.#closeReplacedWhenCaughtUp();
      } else if (outcome.kind !== 'abandoned') {
        // INTERNAL_ERROR or no answer: the same subscribe again, after a pause, on the same socket if it lives.
        if (outcome.kind === 'timeout') connection.heartbeat();
        this.#clock.setTimeout(
          () => this.#requestSubscribe(connection, live, failures + 1),
          backoffDelay(failures, this.#backoff, this.#random),
        );
      }
    });
  }

  #release(subscription: Subscription): void {
    if (this.#subscriptions.get(subscription.key) !== subscription) return;
    this.#subscriptions.delete(subscription.key);
    const connection = this.#primary;
    const lane = connection === undefined ? undefined : this.#lanes.get(connection.id);
    if (lane === undefined) return;
    const key = subscription.key;
    this.#released.set(key, (this.#released.get(key) ?? 0) + 1);
    lane.request({ action: 'unsubscribe', keys: [key] }, () => {
      const left = (this.#released.get(key) ?? 1) - 1;
      if (left > 0) this.#released.set(key, left);
      else this.#released.delete(key);
    });
    this.#closeReplacedWhenCaughtUp();
  }

  #sendOn(connection: Connection, queued: Queued): void {
    if (queued.control !== undefined) {
      this.#lanes.get(connection.id)?.request(queued.control, (outcome) => {
        if (outcome.kind === 'refused') this.#report(outcome.error);
      });
    } else connection.send(queued.text);
  }

  // ----------------------------------------------------------------------------------------------- reporting

  #report(error: RealtimeError): void {
    this.emit('error', error);
  }

  #listenerFailed(error: unknown): void {
    const wrapped = new RealtimeError(`a listener threw: ${error instanceof Error ? error.message : String(error)}`, {
      retryable: false,
      cause: error,
    });
    // An 'error' listener that throws too has nowhere left to report to.
    if (this.listenerCount('error') === 0 || this.#reportingListenerError) {
      console.error(wrapped);
      return;
    }
    this.#reportingListenerError = true;
    try {
      super.emit('error', wrapped);
    } finally {
      this.#reportingListenerError = false;
    }
  }

  #watchBrowser(): void {
    if (this.#options.watchBrowserEvents === false || this.#removeBrowserListeners !== undefined) return;
    const page = globalThis as {
      addEventListener?: (type: string, listener: () => void) => void;
      removeEventListener?: (type: string, listener: () => void) => void;
      document?: { visibilityState?: string };
    };
    if (typeof page.addEventListener !== 'function' || typeof page.removeEventListener !== 'function') return;
    // After sleep or a network change a socket may still say OPEN: a heartbeat finds out.
    const check = () => {
      if (page.document?.visibilityState !== 'hidden') this.checkConnection();
    };
    page.addEventListener('online', check);
    page.addEventListener('visibilitychange', check);
    this.#removeBrowserListeners = () => {
      page.removeEventListener?.('online', check);
      page.removeEventListener?.('visibilitychange', check);
    };
  }
}

export type { Item };
