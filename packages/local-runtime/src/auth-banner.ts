import type { LocalAuth } from './auth';

/**
 * The banner's auth lines: the mode, where the secret came from and how to get a token. They name the secret's
 * origin and file, never its value: banners end up in terminal scroll-back, CI logs and screen shares.
 */
export function authLines(auth: LocalAuth): string[] {
  if (auth.mode === 'none') return ['  Auth              none (anonymous; npm start -- --auth jwt to require tokens)'];
  const secret = auth.secret;
  const origins = {
    // npm echoes a script's command line (`> tsx … --jwt-secret …`) before running it, so the value is already on
    // screen; say so, and how to avoid it next time.
    flag: `HS256 secret from --jwt-secret (npm printed it above: use RTP_JWT_SECRET instead), kept in ${secret?.file}`,
    environment: `HS256 secret from RTP_JWT_SECRET, kept in ${secret?.file}`,
    file: `HS256 development secret from ${secret?.file}`,
    generated: `HS256 development secret generated into ${secret?.file}`,
  };
  const keys = [
    ...(secret ? [origins[secret.origin]] : []),
    ...(auth.jwksUrl ? [`RS256/ES256 keys from ${auth.jwksUrl}`] : []),
  ];
  return [
    `  Auth              jwt: ${keys.join('; ')}`,
    secret
      ? `  Token             ${tokenCommand(auth)}      (ws: ?token=<jwt>; HTTP: Authorization: Bearer <jwt>)`
      : '  Token             from your identity provider      (ws: ?token=<jwt>; HTTP: Authorization: Bearer <jwt>)',
  ];
}

/** The command that prints a token this run accepts: with the issuer and audience it checks, when set. */
export function tokenCommand(auth: LocalAuth): string {
  const quoted = (value: string) => (/^[\w.:/@-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);
  const issuer = auth.parameterOverrides.JwtIssuer;
  const audience = auth.parameterOverrides.JwtAudience;
  return [
    'npm run -s token -- --user u1',
    ...(issuer ? [`--issuer ${quoted(issuer)}`] : []),
    ...(audience ? [`--audience ${quoted(audience)}`] : []),
  ].join(' ');
}
