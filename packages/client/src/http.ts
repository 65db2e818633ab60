import { HttpError } from './errors';
import type { Item } from './subscription';

/** The platform's HTTP API as the client uses it: items too large for a message, and JSON requests of helpers. */
export interface Http {
  /** GET /items/{key}/{itemId}; undefined on 404. */
  item(key: string, itemId: string): Promise<Item | undefined>;
  /** GET /items/{key}?nextToken=… until the last page. */
  remainingItems(key: string, nextToken: string): Promise<Item[]>;
  json<T>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
}

/** Most pages read to complete one partial snapshot (100 items each): a bound against a server that never ends. */
const MAX_PAGES = 1000;

export function createHttp(
  baseUrl: string,
  token: () => Promise<string | undefined>,
  fetchFn: typeof fetch | undefined,
): Http {
  const base = baseUrl.replace(/\/+$/, '');
  const call = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const doFetch = fetchFn ?? globalThis.fetch;
    if (typeof doFetch !== 'function') throw new HttpError('no fetch function: pass the fetch option', 0);
    const bearer = await token();
    const headers: Record<string, string> = {};
    if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    } catch (error) {
      throw new HttpError(
        `${init.method ?? 'GET'} ${path} failed: ${error instanceof Error ? error.message : error}`,
        0,
        error,
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  };
  const fail = (path: string, status: number, body: unknown): never => {
    const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    throw new HttpError(`${path} answered ${status}${typeof message === 'string' ? `: ${message}` : ''}`, status);
  };
  const itemsPath = (key: string) => `/items/${encodeURIComponent(key)}`;

  return {
    async item(key, itemId) {
      const path = `${itemsPath(key)}/${encodeURIComponent(itemId)}`;
      const { status, body } = await call(path);
      if (status === 404) return undefined;
      if (status !== 200 || typeof body !== 'object' || body === null) return fail(path, status, body);
      return body as Item;
    },
    async remainingItems(key, nextToken) {
      const items: Item[] = [];
      let token: string | undefined = nextToken;
      for (let page = 0; token !== undefined && page < MAX_PAGES; page++) {
        const path = `${itemsPath(key)}?limit=100&nextToken=${encodeURIComponent(token)}`;
        const { status, body } = await call(path);
        const answer = body as { items?: unknown; nextToken?: unknown } | undefined;
        if (status !== 200 || !Array.isArray(answer?.items)) return fail(path, status, body);
        for (const item of answer.items) if (typeof item === 'object' && item !== null) items.push(item as Item);
        token = typeof answer.nextToken === 'string' ? answer.nextToken : undefined;
      }
      return items;
    },
    async json(path, init) {
      const { status, body } = await call(path, init);
      if (status < 200 || status >= 300) return fail(path, status, body);
      return body as never;
    },
  };
}
