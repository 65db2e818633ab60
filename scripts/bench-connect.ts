/**
 * `npm run bench:connect -- [--connections 40] [--rounds 5] [template.yaml …]`: the latency of a signed-in `$connect`
 * through the local platform (AuthMode=jwt: the JWT authorizer, then OnConnect's key checks, its connection and
 * presence transaction — and, since the activity history, the CONNECT entry written beside it), one handshake at a
 * time, each by a new user, each closed (and its $disconnect done) before the next.
 *
 * Give two templates (e.g. this checkout's and an older one's, from `git worktree add`) to compare them: both run on
 * one DynamoDB Local (stages develop and staging) and their rounds alternate, so the machine's load drifts over
 * both alike.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type LocalPlatform,
  silentLogger,
  startDynamoDbLocal,
  startLocalPlatform,
} from '@real-time-platform/local-runtime';
import { freePort } from '@real-time-platform/test-support';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

// The SDK warns once per process that Node 20 support ends in 2027.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { connections: { type: 'string', default: '40' }, rounds: { type: 'string', default: '5' } },
});
const perRound = Number(values.connections);
const rounds = Number(values.rounds);
const templates = (positionals.length > 0 ? positionals : ['template.yaml']).map((t) => resolve(t));
const stages = ['develop', 'staging', 'prod'];
if (templates.length > stages.length) throw new Error(`at most ${stages.length} templates`);
const secret = randomBytes(32).toString('hex');

function token(userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
}

/** One handshake: ms from the request to `open`; then the socket is closed and its $disconnect awaited (a beat). */
async function handshake(platform: LocalPlatform, userId: string): Promise<number> {
  const url = `${platform.urls.webSocket}?token=${await token(userId)}`;
  const started = performance.now();
  const socket = new WebSocket(url);
  await new Promise<void>((done, fail) => {
    socket.once('open', () => done());
    socket.once('error', fail);
    socket.once('unexpected-response', (_request, response) => fail(new Error(`refused: ${response.statusCode}`)));
  });
  const ms = performance.now() - started;
  socket.close();
  await new Promise((done) => socket.once('close', done));
  return ms;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return `n=${sorted.length} p50=${at(0.5).toFixed(1)} ms p90=${at(0.9).toFixed(1)} ms mean=${mean.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const dynamodb = await startDynamoDbLocal({ port: await freePort() });
  const platforms: LocalPlatform[] = [];
  try {
    for (const [index, templatePath] of templates.entries()) {
      platforms.push(
        await startLocalPlatform({
          templatePath,
          parameterOverrides: { AuthMode: 'jwt', Environment: stages[index] as string },
          functionEnvironment: { JwtAuthorizerFunction: { JWT_SECRET: secret } },
          wsPort: await freePort(),
          httpPort: await freePort(),
          dynamodbPort: 0,
          s3Port: 0,
          mqttPort: 0,
          dynamodbEndpoint: dynamodb.endpoint,
          quietFunctions: true,
          workDir: `.local/bench-connect-${index}`,
          logger: silentLogger,
        }),
      );
    }
    const samples = templates.map(() => [] as number[]);
    // Warm-up: the first invocations of each function pay its cold start.
    for (const platform of platforms) for (let i = 0; i < 5; i++) await handshake(platform, `warm-${i}`);
    for (let round = 0; round < rounds; round++) {
      for (const [index, platform] of platforms.entries()) {
        for (let i = 0; i < perRound; i++) {
          (samples[index] as number[]).push(await handshake(platform, `u${index}-${round}-${i}`));
        }
      }
    }
    for (const [index, templatePath] of templates.entries()) {
      console.log(`${templatePath}\n  signed-in $connect: ${summary(samples[index] as number[])}`);
    }
  } finally {
    for (const platform of platforms) await platform.stop();
    await dynamodb.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
