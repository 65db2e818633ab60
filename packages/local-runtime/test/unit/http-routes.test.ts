import fc from 'fast-check';
import { compileRoutes, HttpRouteError, matchRoute } from '../../src/http';
import type { HttpRouteSpec } from '../../src/types';

const route = (method: string, path: string, functionId = 'Fn'): HttpRouteSpec => ({
  functionId,
  eventId: `${method}${path}`,
  method,
  path,
});

// The example from API Gateway's "Routing API requests" documentation, plus our own routes.
const routes = compileRoutes([
  route('GET', '/pets/dog/1'),
  route('GET', '/pets/dog/{id}'),
  route('GET', '/pets/{proxy+}'),
  route('ANY', '/{proxy+}'),
  route('GET', '/items/{key}'),
  route('GET', '/items/{key}/{itemId}'),
  route('DELETE', '/items/{key}/{itemId}'),
  route('ANY', '/items/{key}/latest'),
  route('GET', '/'),
  route('ANY', '$default', 'DefaultFn'),
]);

const pick = (method: string, path: string) => {
  const match = matchRoute(routes, method, path);
  return match && { routeKey: match.route.routeKey, pathParameters: match.pathParameters };
};

describe('matchRoute (most specific route wins)', () => {
  it.each([
    ['GET', '/pets/dog/1', 'GET /pets/dog/1', {}],
    ['GET', '/pets/dog/2', 'GET /pets/dog/{id}', { id: '2' }],
    ['GET', '/pets/cat/1', 'GET /pets/{proxy+}', { proxy: 'cat/1' }],
    ['POST', '/pets/dog/1', 'ANY /{proxy+}', { proxy: 'pets/dog/1' }],
    ['GET', '/items/3', 'GET /items/{key}', { key: '3' }],
    ['GET', '/items/3/a', 'GET /items/{key}/{itemId}', { key: '3', itemId: 'a' }],
    ['DELETE', '/items/3/a', 'DELETE /items/{key}/{itemId}', { key: '3', itemId: 'a' }],
    // a literal segment beats a variable even when the method is ANY
    ['GET', '/items/3/latest', 'ANY /items/{key}/latest', { key: '3' }],
    ['PUT', '/items/3/a', 'ANY /{proxy+}', { proxy: 'items/3/a' }],
    ['GET', '/', 'GET /', {}],
  ])('%s %s → %s', (method, path, routeKey, pathParameters) => {
    expect(pick(method, path)).toEqual({ routeKey, pathParameters });
  });

  it('decodes path parameters', () => {
    expect(pick('GET', '/items/presence%3Au1/caf%C3%A9%20au%20lait')).toEqual({
      routeKey: 'GET /items/{key}/{itemId}',
      pathParameters: { key: 'presence:u1', itemId: 'café au lait' },
    });
  });

  it('prefers the exact method over ANY for the same path', () => {
    const table = compileRoutes([route('ANY', '/things'), route('POST', '/things')]);
    expect(matchRoute(table, 'POST', '/things')?.route.routeKey).toBe('POST /things');
    expect(matchRoute(table, 'GET', '/things')?.route.routeKey).toBe('ANY /things');
  });

  it('does not map HEAD to GET (HTTP APIs do not)', () => {
    const table = compileRoutes([route('GET', '/things')]);
    expect(matchRoute(table, 'HEAD', '/things')).toBeUndefined();
  });

  it('falls back to $default, and to nothing without it', () => {
    const table = compileRoutes([route('GET', '/pets/{proxy+}'), route('ANY', '$default')]);
    expect(matchRoute(table, 'GET', '/pets')?.route.routeKey).toBe('$default');
    expect(matchRoute(compileRoutes([route('GET', '/pets/{proxy+}')]), 'GET', '/pets')).toBeUndefined();
    expect(matchRoute(compileRoutes([route('GET', '/items/{key}')]), 'GET', '/items/')).toBeUndefined();
  });

  it('is case-sensitive on paths', () => {
    const table = compileRoutes([route('GET', '/Items')]);
    expect(matchRoute(table, 'GET', '/items')).toBeUndefined();
  });

  it('never throws and always returns a route that really matches, for any path', () => {
    const segment = fc.oneof(fc.constantFrom('pets', 'dog', '1', 'items', 'latest', '%', '%zz', ''), fc.string());
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'DELETE', 'HEAD', 'PATCH'),
        fc.array(segment, { maxLength: 6 }),
        (method, segments) => {
          const match = matchRoute(routes, method, `/${segments.join('/')}`);
          // The table has a $default route, so something always answers.
          expect(match).toBeDefined();
          const { method: routeMethod } = match?.route ?? { method: '' };
          expect(routeMethod === 'ANY' || routeMethod === method).toBe(true);
        },
      ),
    );
  });
});

describe('compileRoutes', () => {
  it.each([
    [route('GET', '/a/{proxy+}/b'), 'must be the last segment'],
    [route('GET', 'items'), 'must start with /'],
    [route('GET', '/a//b'), 'invalid segment'],
    [route('GET', '/a/{x}/{x}'), 'uses {x} twice'],
    [route('GE T', '/a'), 'is not an HTTP method'],
  ])('rejects %o (%s)', (spec, reason) => {
    expect(() => compileRoutes([spec])).toThrow(HttpRouteError);
    expect(() => compileRoutes([spec])).toThrow(reason);
  });

  it('rejects a duplicate route key, naming both functions', () => {
    expect(() => compileRoutes([route('GET', '/a', 'One'), route('get', '/a', 'Two')])).toThrow(
      /"GET \/a" is defined twice \(One .* and Two/,
    );
  });
});
