/** An HTTP API's CorsConfiguration (SAM `HttpApi.CorsConfiguration`), in camel case. */
export interface CorsConfig {
  /** Origins such as "https://app.example.com", "https://*.example.com" or "*". */
  allowOrigins: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
  allowCredentials?: boolean;
}

/** Whether a request is a CORS preflight (which API Gateway answers itself when CORS is configured). */
export function isPreflight(method: string, headers: Record<string, string>): boolean {
  return method === 'OPTIONS' && !!headers.origin && !!headers['access-control-request-method'];
}

/** The origin to echo, or undefined when the configuration does not allow it. */
function allowedOrigin(config: CorsConfig, origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  for (const allowed of config.allowOrigins) {
    if (allowed === '*') return '*';
    if (allowed === origin) return origin;
    if (allowed.includes('*')) {
      const pattern: RegExp = new RegExp(`^${allowed.split('*').map(escapeRegExp).join('[^/]*')}$`);
      if (pattern.test(origin)) return origin;
    }
  }
  return undefined;
}

/** Headers for a preflight reply (API Gateway answers 204; no CORS headers when the origin is not allowed). */
export function preflightHeaders(config: CorsConfig, headers: Record<string, string>): Record<string, string> {
  return corsHeaders(config, headers, {
    'access-control-allow-methods': config.allowMethods?.join(','),
    'access-control-allow-headers': config.allowHeaders?.join(','),
    'access-control-max-age': config.maxAge?.toString(),
  });
}

/** Headers added to an ordinary response; with CORS configured API Gateway's own CORS headers replace the function's. */
export function responseCorsHeaders(config: CorsConfig, headers: Record<string, string>): Record<string, string> {
  return corsHeaders(config, headers, { 'access-control-expose-headers': config.exposeHeaders?.join(',') });
}

/** For an allowed origin: the origin, the non-empty headers given, and allow-credentials when configured. */
function corsHeaders(
  config: CorsConfig,
  headers: Record<string, string>,
  specific: Record<string, string | undefined>,
): Record<string, string> {
  const origin = allowedOrigin(config, headers.origin);
  if (!origin) return {};
  const reply: Record<string, string> = { 'access-control-allow-origin': origin };
  for (const [name, value] of Object.entries(specific)) if (value) reply[name] = value;
  if (config.allowCredentials) reply['access-control-allow-credentials'] = 'true';
  return reply;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
