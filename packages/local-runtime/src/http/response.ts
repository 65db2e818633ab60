import type { InvocationOutcome } from '../types';

/** What goes back on the wire. */
export interface HttpReply {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

/** A reply with API Gateway's own JSON error body, e.g. `{"message":"Not Found"}`. */
export function gatewayReply(statusCode: number, message: string): HttpReply {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(JSON.stringify({ message })),
  };
}

/** API Gateway's exact texts for the errors it produces itself. */
export const gatewayErrors = {
  notFound: () => gatewayReply(404, 'Not Found'),
  tooLarge: () => gatewayReply(413, 'Request Entity Too Large'),
  internal: () => gatewayReply(500, 'Internal Server Error'),
  unavailable: () => gatewayReply(503, 'Service Unavailable'),
};

/** The mapped reply, or why API Gateway would call the function's response malformed (it then answers 500). */
export type MappedResponse = { ok: true; reply: HttpReply } | { ok: false; reply: HttpReply; problem: string };

/**
 * Maps an invocation to the HTTP response API Gateway (payload format 2.0) would send. A result without a
 * `statusCode` is taken as a 200 JSON body; one with it is a structured response whose body must be a string.
 */
export function mapOutcome(outcome: InvocationOutcome, payloadFormatVersion: '1.0' | '2.0' = '2.0'): MappedResponse {
  if (!outcome.ok) return { ok: false, reply: gatewayErrors.internal(), problem: 'the function failed' };
  const result = outcome.result;
  const structured = typeof result === 'object' && result !== null && 'statusCode' in result;
  if (payloadFormatVersion === '1.0') {
    // Format 1.0 makes no assumptions: anything but {statusCode, headers?, multiValueHeaders?, body?} is a 500.
    if (!structured) {
      return { ok: false, reply: gatewayErrors.internal(), problem: 'format 1.0 needs an object with a statusCode' };
    }
    return mapStructured(result as Record<string, unknown>, true);
  }
  if (!structured) {
    // AWS's documented example: a string result is the body itself; anything else is its JSON text.
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
    return {
      ok: true,
      reply: { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body) },
    };
  }
  return mapStructured(result as Record<string, unknown>, false);
}

function mapStructured(result: Record<string, unknown>, v1: boolean): MappedResponse {
  const malformed = (problem: string): MappedResponse => ({ ok: false, reply: gatewayErrors.internal(), problem });
  const { statusCode, headers, multiValueHeaders, body, isBase64Encoded } = result;
  // Format 2.0 has a cookies array; 1.0 sends Set-Cookie through headers or multiValueHeaders.
  const cookies = v1 ? undefined : result.cookies;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return malformed(`statusCode must be an integer HTTP status, got ${JSON.stringify(statusCode)}`);
  }
  const replyHeaders: Record<string, string> = {};
  if (headers !== undefined && headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) return malformed('headers must be an object');
    for (const [name, value] of Object.entries(headers)) {
      if (value === null || value === undefined) continue;
      if (typeof value === 'object') return malformed(`header "${name}" must be a string, number or boolean`);
      replyHeaders[name.toLowerCase()] = String(value);
    }
  }
  const replyCookies: string[] = [];
  if (v1 && multiValueHeaders !== undefined && multiValueHeaders !== null) {
    if (typeof multiValueHeaders !== 'object' || Array.isArray(multiValueHeaders)) {
      return malformed('multiValueHeaders must be an object of arrays');
    }
    for (const [name, values] of Object.entries(multiValueHeaders)) {
      if (!Array.isArray(values)) return malformed(`multiValueHeaders "${name}" must be an array`);
      const lower = name.toLowerCase();
      if (lower === 'set-cookie') replyCookies.push(...values.map(String));
      else replyHeaders[lower] = values.map(String).join(',');
    }
  }
  if (v1 && replyHeaders['set-cookie'] !== undefined) {
    replyCookies.push(replyHeaders['set-cookie']);
    delete replyHeaders['set-cookie'];
  }
  if (cookies !== undefined && cookies !== null) {
    if (!Array.isArray(cookies) || cookies.some((c) => typeof c !== 'string')) {
      return malformed('cookies must be an array of strings');
    }
    replyCookies.push(...(cookies as string[]));
  }
  if (body !== undefined && body !== null && typeof body !== 'string') {
    // The classic deploy-time surprise; catching it locally is the point of emulating faithfully.
    return malformed('body must be a string (JSON.stringify it)');
  }
  const text = typeof body === 'string' ? body : '';
  return {
    ok: true,
    reply: {
      statusCode,
      headers: replyHeaders,
      cookies: replyCookies,
      body: isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text),
    },
  };
}
