import type { HttpRouteSpec } from '../types';

/** A template route API Gateway would refuse (bad path, greedy variable not last, duplicate route key). */
export class HttpRouteError extends Error {
  override name = 'HttpRouteError';
  readonly retryable = false;
}

type Segment = { kind: 'literal'; text: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

/** A route ready for matching. */
export interface CompiledRoute {
  spec: HttpRouteSpec;
  /** "GET /items/{key}", "ANY /{proxy+}" or "$default", as API Gateway reports it in the event. */
  routeKey: string;
  method: string;
  segments: Segment[];
  isDefault: boolean;
}

/** The route chosen for a request, with its decoded path parameters. */
export interface RouteMatch {
  route: CompiledRoute;
  pathParameters: Record<string, string>;
}

// Literal beats {param} beats {greedy+}: API Gateway's "most specific route wins".
const rank = { literal: 3, param: 2, greedy: 1 } as const;

/** Checks and compiles the template's routes; throws HttpRouteError naming the offending route. */
export function compileRoutes(specs: HttpRouteSpec[]): CompiledRoute[] {
  const seen = new Map<string, HttpRouteSpec>();
  return specs.map((spec) => {
    const route = compileRoute(spec);
    const previous = seen.get(route.routeKey);
    if (previous) {
      throw new HttpRouteError(
        `Route "${route.routeKey}" is defined twice (${previous.functionId} event ${previous.eventId} and ` +
          `${spec.functionId} event ${spec.eventId}); API Gateway allows one integration per route key.`,
      );
    }
    seen.set(route.routeKey, spec);
    return route;
  });
}

function compileRoute(spec: HttpRouteSpec): CompiledRoute {
  const where = `${spec.functionId} event ${spec.eventId}`;
  if (spec.path === '$default') {
    return { spec, routeKey: '$default', method: 'ANY', segments: [], isDefault: true };
  }
  const method = spec.method.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new HttpRouteError(`${where}: "${spec.method}" is not an HTTP method or ANY.`);
  if (!spec.path.startsWith('/')) throw new HttpRouteError(`${where}: path "${spec.path}" must start with /.`);
  const parts = spec.path === '/' ? [] : spec.path.slice(1).split('/');
  const names = new Set<string>();
  const segments = parts.map((part, index): Segment => {
    const variable = /^\{([A-Za-z0-9._-]+)(\+?)\}$/.exec(part);
    if (!variable) {
      if (part === '' || /[{}]/.test(part))
        throw new HttpRouteError(`${where}: path "${spec.path}" has an invalid segment "${part}".`);
      return { kind: 'literal', text: part };
    }
    const name = variable[1] ?? '';
    if (names.has(name)) throw new HttpRouteError(`${where}: path "${spec.path}" uses {${name}} twice.`);
    names.add(name);
    if (variable[2] === '+') {
      if (index !== parts.length - 1) {
        throw new HttpRouteError(`${where}: greedy variable {${name}+} must be the last segment of "${spec.path}".`);
      }
      return { kind: 'greedy', name };
    }
    return { kind: 'param', name };
  });
  return { spec, routeKey: `${method} ${spec.path}`, method, segments, isDefault: false };
}

/**
 * Picks the route API Gateway would: the most specific path (compared segment by segment: literal > {param} >
 * {greedy+}), then a route for the exact method over ANY, and `$default` only when nothing else matches.
 * There is no implicit HEAD → GET (HTTP APIs do not do that); ANY matches every method.
 */
export function matchRoute(routes: CompiledRoute[], method: string, path: string): RouteMatch | undefined {
  const requestSegments = path === '/' ? [] : path.slice(1).split('/').map(decodeSegment);
  let best: { match: RouteMatch; score: number[] } | undefined;
  let fallback: RouteMatch | undefined;
  for (const route of routes) {
    if (route.isDefault) {
      fallback = { route, pathParameters: {} };
      continue;
    }
    if (route.method !== 'ANY' && route.method !== method) continue;
    const pathParameters = matchSegments(route.segments, requestSegments);
    if (!pathParameters) continue;
    const score = [...route.segments.map((s) => rank[s.kind]), route.method === 'ANY' ? 0 : 1];
    if (!best || compareScores(score, best.score, route.segments.length, best.match.route.segments.length) > 0) {
      best = { match: { route, pathParameters }, score };
    }
  }
  return best?.match ?? fallback;
}

function matchSegments(segments: Segment[], request: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    if (segment.kind === 'greedy') {
      const rest = request.slice(i).join('/');
      // A greedy variable needs at least one character: "/pets/{proxy+}" does not match "/pets" or "/pets/".
      if (rest === '') return undefined;
      params[segment.name] = rest;
      return params;
    }
    const value = request[i];
    if (value === undefined || value === '') return undefined;
    if (segment.kind === 'literal') {
      if (segment.text !== value) return undefined;
    } else {
      params[segment.name] = value;
    }
  }
  return segments.length === request.length ? params : undefined;
}

/** Higher path specificity first; for equal paths the exact method (last score entry) decides. */
function compareScores(a: number[], b: number[], aPathLength: number, bPathLength: number): number {
  const shared = Math.min(aPathLength, bPathLength);
  for (let i = 0; i < shared; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  // Two matching routes of different lengths differ where the shorter one ends in a greedy variable.
  if (aPathLength !== bPathLength) return aPathLength - bPathLength;
  return (a[aPathLength] ?? 0) - (b[bPathLength] ?? 0);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A stray "%" is not worth a 400 here; API Gateway passes undecodable text through as-is.
    return segment;
  }
}
