/**
 * `npm run token`'s command line and the token it signs: an HS256 development token for AuthMode=jwt, signed with
 * the same secret the local authorizer checks (--secret, RTP_JWT_SECRET, or the one `npm start -- --auth jwt` keeps
 * in .local/jwt-secret).
 */

import { parseArgs } from 'node:util';
import { DEV_SECRET_FILE } from '@real-time-platform/local-runtime';
import { userIdProblem } from '@real-time-platform/protocol';
import { type JWTPayload, SignJWT } from 'jose';
import { MIN_SECRET_BYTES } from '../../src/config/jwt';
import { UsageError } from './cli-support';

/** `npm run token -- --help`. */
export const TOKEN_HELP = `npm run token — print a development JWT (HS256) for AuthMode=jwt

Usage:
  npm run -s token -- --user USER [options]

Options:
  --user USER                  the user id (required); goes into the "sub" claim
  --secret SECRET              the HS256 secret [RTP_JWT_SECRET; prefer the variable: npm prints a script's
                               arguments]; default: ${DEV_SECRET_FILE}, which \`npm start -- --auth jwt\` writes
  --expires-in DURATION        lifetime: 90, 90s, 15m, 1h, 7d (1h); an expired token for tests:
                               --expires-in=-1h
  --issuer ISS                 the "iss" claim (match --jwt-issuer)
  --audience AUD               the "aud" claim (match --jwt-audience)
  --user-claim NAME            put the user id in this claim instead of "sub", e.g. cognito:username
  --claim NAME=VALUE           any other claim; repeatable. VALUE is JSON when it parses (42, true, ["a"]),
                               else a string
  -h, --help                   this text

The token goes to stdout alone, so it can be captured (npm's -s keeps npm's own lines out):
  TOKEN=$(npm run -s token -- --user u1)
  npx wscat -c "ws://localhost:3001/develop?token=$TOKEN"
  curl -H "Authorization: Bearer $TOKEN" http://localhost:3000/presence/u1
`;

/** Claims the dedicated flags set; --claim may not override them. */
const RESERVED = new Set(['exp', 'iat', 'iss', 'aud']);

/** A parsed `npm run token` command line. */
export type TokenCommand =
  | { help: true }
  | {
      help: false;
      userId: string;
      userClaim: string;
      /** The secret given on the command line or in RTP_JWT_SECRET; undefined = read the kept one. */
      secret?: string;
      expiresInSeconds: number;
      issuer?: string;
      audience?: string;
      claims: JWTPayload;
    };

/** Parses the token script's arguments (RTP_JWT_SECRET from `env`). */
export function parseTokenArgs(argv: string[], env: NodeJS.ProcessEnv = {}): TokenCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      secret: { type: 'string' },
      'expires-in': { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'user-claim': { type: 'string' },
      claim: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"; give the user as --user`);
  const userId = values.user;
  if (userId === undefined) throw new UsageError('--user is required, e.g. npm run token -- --user u1');
  const problem = userIdProblem(userId);
  if (problem) throw new UsageError(`--user: ${problem}`);
  const userClaim = values['user-claim'] ?? 'sub';
  if (userClaim.trim() === '' || RESERVED.has(userClaim)) {
    throw new UsageError(`--user-claim must name a claim other than ${[...RESERVED].join(', ')}`);
  }
  const secret = values.secret ?? (env.RTP_JWT_SECRET || undefined);
  if (secret !== undefined) checkSecret(secret, values.secret !== undefined ? '--secret' : 'RTP_JWT_SECRET');

  const claims: JWTPayload = {};
  for (const pair of values.claim) {
    const at = pair.indexOf('=');
    const name = at > 0 ? pair.slice(0, at) : '';
    if (name === '') throw new UsageError(`--claim expects NAME=VALUE, got "${pair}"`);
    if (RESERVED.has(name) || name === userClaim) {
      throw new UsageError(`--claim ${name}: set it with its own flag (--user, --expires-in, --issuer, --audience)`);
    }
    claims[name] = claimValue(pair.slice(at + 1));
  }
  return {
    help: false,
    userId,
    userClaim,
    ...(secret === undefined ? {} : { secret }),
    expiresInSeconds: duration(values['expires-in'] ?? '1h'),
    ...(values.issuer === undefined ? {} : { issuer: values.issuer }),
    ...(values.audience === undefined ? {} : { audience: values.audience }),
    claims,
  };
}

/** Signs the token (HS256) for a parsed command and a secret. */
export async function signToken(
  command: Extract<TokenCommand, { help: false }>,
  secret: string,
  now: Date = new Date(),
): Promise<string> {
  checkSecret(secret, 'the secret');
  const issuedAt = Math.floor(now.getTime() / 1000);
  const jwt = new SignJWT({ ...command.claims, [command.userClaim]: command.userId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + command.expiresInSeconds);
  if (command.issuer !== undefined) jwt.setIssuer(command.issuer);
  if (command.audience !== undefined) jwt.setAudience(command.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90", "90s", "15m", "1h", "7d", optionally negative → seconds. */
export function duration(text: string): number {
  const match = /^(-?\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match?.[1]) throw new UsageError(`--expires-in must look like 90, 90s, 15m, 1h or 7d, got "${text}"`);
  const seconds = Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
  if (seconds === 0) throw new UsageError('--expires-in must not be 0');
  return seconds;
}

function claimValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function checkSecret(secret: string, what: string): void {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new UsageError(`${what} must be at least ${MIN_SECRET_BYTES} bytes (the authorizer refuses shorter ones)`);
  }
}
