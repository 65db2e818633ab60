import { RealtimeClient } from '@real-time-platform/client';
import { useEffect, useState } from 'preact/hooks';

/** What /admin/config tells the page about the runtime it belongs to. */
export interface ConsoleConfig {
  webSocketUrl: string;
  stage: string;
  keyParam: string;
  auth: 'none' | 'jwt';
  devTokens: boolean;
  httpApi: string;
  /** PresenceTimeoutSeconds: a connection silent for longer is ended by the presence sweep. */
  presenceTimeoutSeconds: number;
}

/** An answer of the admin API or the HTTP API that is not 2xx, with the server's error code and message. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the console server (same origin): JSON in, JSON out; undefined for 204. */
export async function call<T>(
  path: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const body = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new RequestError(response.status, error?.code ?? String(response.status), error?.message ?? text);
  }
  return body as T;
}

/** A development token for `userId` (AuthMode=jwt), or undefined when the runtime needs none. */
export async function tokenFor(config: ConsoleConfig, userId: string | undefined): Promise<string | undefined> {
  if (config.auth !== 'jwt' || userId === undefined) return undefined;
  const { token } = await call<{ token: string }>('/admin/tokens', { method: 'POST', body: { userId } });
  return token;
}

/**
 * At least three heartbeats per presence timeout (the SDK's 20 s default is a ninth of the template's 180 s): a tab
 * that is alive is never swept, however short the timeout the runtime was started with.
 */
export function heartbeatIntervalMs(config: ConsoleConfig): number {
  return Math.min(20_000, Math.max(1000, (config.presenceTimeoutSeconds * 1000) / 3));
}

/** A client of the local platform, signed in as `userId` when the runtime checks tokens. */
export function createClient(config: ConsoleConfig, userId?: string): RealtimeClient {
  return new RealtimeClient({
    url: config.webSocketUrl,
    keyParam: config.keyParam,
    httpUrl: `${location.origin}${config.httpApi}`,
    heartbeatIntervalMs: heartbeatIntervalMs(config),
    // Called again on every connect, so a reconnect after an hour gets a fresh token.
    token: () => tokenFor(config, userId),
  });
}

/**
 * Polls an admin path every `everyMs` while mounted. `online` turns false when the runtime stops answering and
 * back when it answers again; the last data stays on screen meanwhile.
 */
export function usePoll<T>(path: string, everyMs: number): { data: T | undefined; online: boolean; refresh(): void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [online, setOnline] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const next = await call<T>(path);
        if (stopped) return;
        setData(next);
        setOnline(true);
      } catch {
        if (!stopped) setOnline(false);
      }
      if (!stopped) timer = setTimeout(poll, everyMs);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [path, everyMs, tick]);
  return { data, online, refresh: () => setTick((n) => n + 1) };
}

/** "3 s", "4 min", "2 h" */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** An item or frame as one line of JSON text (rendered as text, never as markup). */
export function json(value: unknown): string {
  return JSON.stringify(value);
}
