/**
 * Inside a function's worker: sends requests to AWS hosts to the local services (aws-hosts.ts decides where), for
 * every HTTP client a function may use — the SDK v3 and v2 (node:https), fetch, and http/https directly.
 */
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { Socket } from 'node:net';
import { URL, urlToHttpOptions } from 'node:url';
import { type AwsHostRoutes, routeAwsHost } from './aws-hosts';

type Callback = (response: IncomingMessage) => void;
type RequestArgs = [string | URL | RequestOptions, (RequestOptions | Callback)?, Callback?];

/** Installs the routing; `onRefused` hears each request that was failed (once per host is the caller's business). */
export function routeAwsRequests(routes: AwsHostRoutes, onRefused: (host: string, message: string) => void): void {
  const httpRequest = http.request;
  // Keep-alive, as the SDK's own agents: a fan-out of many posts must not open a socket each.
  const agent = new http.Agent({ keepAlive: true });

  const routed = (scheme: 'http:' | 'https:', original: typeof http.request) =>
    function request(this: unknown, ...args: RequestArgs): ClientRequest {
      const { options, callback } = normalize(scheme, args);
      const url = new URL(`${options.protocol ?? scheme}//${hostOf(options)}${options.path ?? '/'}`);
      const route = routeAwsHost(url, routes);
      if (route === undefined) return original.apply(this, args as Parameters<typeof http.request>);
      if ('error' in route) {
        onRefused(url.hostname, route.error);
        return refused(httpRequest, route.error, callback);
      }
      const { protocol, hostname, port, pathname, search } = route.url;
      return httpRequest(
        { ...options, protocol, hostname, host: undefined, port, path: `${pathname}${search}`, agent },
        callback,
      );
    };

  http.request = routed('http:', http.request) as typeof http.request;
  https.request = routed('https:', https.request) as typeof https.request;
  // get() is request() plus end(); Node's own get() would call the original request.
  for (const module of [http, https]) {
    module.get = ((...args: RequestArgs) => {
      const req = (module.request as (...a: RequestArgs) => ClientRequest)(...args);
      req.end();
      return req;
    }) as typeof http.get;
  }
  // `import { request } from 'node:https'` in an ES module handler sees the routed functions too.
  syncBuiltinESMExports();

  const fetch = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const route = routeAwsHost(url, routes);
    if (route === undefined) return fetch(input, init);
    if ('error' in route) {
      onRefused(url.hostname, route.error);
      throw new TypeError('fetch failed', { cause: refusal(route.error) });
    }
    return fetch(input instanceof Request ? new Request(route.url, input) : route.url, init);
  };
}

/** The (url, options, callback) forms of http.request as one options object. */
function normalize(scheme: string, args: RequestArgs): { options: RequestOptions; callback?: Callback } {
  const [first, second, third] = args;
  if (typeof first === 'string' || first instanceof URL) {
    const fromUrl = urlToHttpOptions(typeof first === 'string' ? new URL(first) : first) as RequestOptions;
    return typeof second === 'function'
      ? { options: fromUrl, callback: second }
      : { options: { ...fromUrl, ...second }, ...(third ? { callback: third } : {}) };
  }
  return {
    options: { protocol: scheme, ...first },
    ...(typeof second === 'function' ? { callback: second } : {}),
  };
}

function hostOf(options: RequestOptions): string {
  const name = options.hostname ?? options.host?.replace(/:\d+$/, '') ?? 'localhost';
  const hostname = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  return options.port ? `${hostname}:${options.port}` : hostname;
}

function refusal(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_LOCAL_RUNTIME_AWS_HOST' });
}

/** A request that fails at once with `message` (as an unreachable host would, but saying why), never sent. */
function refused(httpRequest: typeof http.request, message: string, callback?: Callback): ClientRequest {
  return httpRequest(
    {
      host: 'localhost',
      createConnection: () => {
        const socket = new Socket();
        process.nextTick(() => socket.destroy(refusal(message)));
        return socket;
      },
    },
    callback,
  );
}
