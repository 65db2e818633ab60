import { isPreflight, preflightHeaders, responseCorsHeaders } from '../../src/http/cors';

// API Gateway's CORS answers for an HTTP API's CorsConfiguration.

const config = {
  allowOrigins: ['https://app.example.com', 'https://*.preview.example.com'],
  allowMethods: ['GET', 'POST'],
  allowHeaders: [],
  exposeHeaders: ['x-request-id'],
  maxAge: 0,
  allowCredentials: true,
};

test('a preflight from an allowed origin gets the methods, max-age (even 0) and credentials; empty lists are left out', () => {
  const headers = { origin: 'https://pr-7.preview.example.com', 'access-control-request-method': 'POST' };

  expect(isPreflight('OPTIONS', headers)).toBe(true);
  expect(preflightHeaders(config, headers)).toEqual({
    'access-control-allow-origin': 'https://pr-7.preview.example.com',
    'access-control-allow-methods': 'GET,POST',
    'access-control-max-age': '0',
    'access-control-allow-credentials': 'true',
  });
});

test('an ordinary response gets the exposed headers and credentials, not the preflight ones', () => {
  expect(responseCorsHeaders(config, { origin: 'https://app.example.com' })).toEqual({
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-expose-headers': 'x-request-id',
    'access-control-allow-credentials': 'true',
  });
});

test('an origin the configuration does not allow gets no CORS headers at all', () => {
  const headers = { origin: 'https://evil.example.org', 'access-control-request-method': 'GET' };
  expect(preflightHeaders(config, headers)).toEqual({});
  expect(responseCorsHeaders(config, headers)).toEqual({});
  expect(responseCorsHeaders(config, { origin: 'https://preview.example.com.evil.org' })).toEqual({});
});

test('without an Access-Control-Request-Method an OPTIONS request is not a preflight', () => {
  expect(isPreflight('OPTIONS', { origin: 'https://app.example.com' })).toBe(false);
});
