import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createFunctionRunner, type FunctionRunner } from '../../src/functions';
import { listen, PORTS } from '../../src/ports';
import { loadPlatformModel } from '../../src/template';
import type { InvocationOutcome } from '../../src/types';
import { recordingLogger } from '../helpers/recording-logger';

// What Lambda's Node.js runtime gives a function that a plain Node process does not: the AWS SDK v3 without
// installing it, any module format, and MemorySize as a limit on the whole function. The app lives in the system's
// temporary folder, outside this repository, so no node_modules above it can stand in for the runtime's SDK.

const app = mkdtempSync(join(tmpdir(), 'lambda-environment-'));
const buildDir = join(app, '.build');
const file = (path: string, text: string) => {
  mkdirSync(dirname(join(app, path)), { recursive: true });
  writeFileSync(join(app, path), text);
};

// Each handler names the SDK v3 client it got, so the test sees it was really imported.
const sdkCheck = `typeof DynamoDBClient === 'function' && new DynamoDBClient({}).config.serviceId`;
file(
  'cjs/app.js',
  `const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');\nexports.handler = async () => ({ sdk: ${sdkCheck}, dirname: __dirname });\n`,
);
file(
  'cjs/other.cjs',
  `exports.handler = (event, context, callback) => callback(null, { format: 'cjs', n: event.n });\n`,
);
file(
  'esm/app.mjs',
  `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nconst ready = await Promise.resolve('top-level await');\nexport const handler = async () => ({ sdk: ${sdkCheck}, ready, url: import.meta.url.endsWith('.mjs') });\n`,
);
file('module/package.json', '{"type":"module"}\n');
file(
  'module/app.js',
  `export const handler = async () => ({ format: typeof exports === 'undefined' ? 'esm' : 'cjs' });\n`,
);
file(
  'ts/app.ts',
  `export const handler = async (event: { n: number }): Promise<{ doubled: number }> => ({ doubled: event.n * 2 });\n`,
);
file(
  'missing/app.js',
  `require('@aws-sdk/client-not-in-the-runtime');\nexports.handler = async () => 'unreachable';\n`,
);
file(
  'memory/app.js',
  `const kept = [];
exports.handler = async ({ buffersMb = 0, heapMb = 0 }) => {
  for (let i = 0; i < buffersMb; i++) kept.push(Buffer.alloc(1024 * 1024, 1));
  for (let i = 0; i < heapMb * 128; i++) kept.push(new Array(1024).fill(i));
  // Still working when the limit is noticed, as a function is when Lambda kills it.
  await new Promise((resolve) => setTimeout(resolve, buffersMb || heapMb ? 3000 : 0));
  return { kept: kept.length };
};
`,
);
// Four HTTP clients post to an execute-api URL, as functions build their management endpoint.
file(
  'clients/app.js',
  `const https = require('node:https');
const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require('@aws-sdk/client-apigatewaymanagementapi');
const AWS = require('aws-sdk');
const post = {
  sdk3: (endpoint) => new ApiGatewayManagementApiClient({ endpoint }).send(new PostToConnectionCommand({ ConnectionId: 'c=1', Data: 'sdk3' })),
  sdk2: (endpoint) => new AWS.ApiGatewayManagementApi({ endpoint }).postToConnection({ ConnectionId: 'c=1', Data: 'sdk2' }).promise(),
  fetch: (endpoint) => fetch(endpoint + '/@connections/c%3D1', { method: 'POST', body: 'fetch' }).then((r) => r.status),
  https: (endpoint) => new Promise((resolve, reject) => {
    const req = https.request(endpoint + '/@connections/c%3D1', { method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end('https');
  }),
};
exports.handler = async ({ client, endpoint }) => {
  try {
    await post[client](endpoint);
    return 'posted';
  } catch (error) {
    return { failed: String(error.cause?.message ?? error.message) };
  }
};
`,
);
const fn = (id: string, codeUri: string, handler: string, extra = '') => `
  ${id}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ${codeUri}
      Handler: ${handler}
      Runtime: nodejs22.x
${extra}`;
file(
  'template.yaml',
  `Transform: AWS::Serverless-2016-10-31
Resources:${fn('CjsSdk', 'cjs', 'app.handler')}${fn('CjsExtension', 'cjs', 'other.handler')}${fn('EsmSdk', 'esm', 'app.handler')}${fn('TypeModule', 'module', 'app.handler')}${fn('TypeScript', 'ts', 'app.handler')}${fn('MissingSdk', 'missing', 'app.handler')}${fn('Memory', 'memory', 'app.handler', '      MemorySize: 128\n      Timeout: 10\n')}${fn('Clients', 'clients', 'app.handler', '      MemorySize: 256\n      Timeout: 10\n')}`,
);
// SDK v2 is no part of Lambda's runtime: the app brings it, as a deployed one would.
mkdirSync(join(app, 'clients', 'node_modules'), { recursive: true });
symlinkSync(join(__dirname, '../../../../node_modules/aws-sdk'), join(app, 'clients', 'node_modules', 'aws-sdk'));

const ok = (outcome: InvocationOutcome) => {
  if (!outcome.ok) throw new Error(`expected a result, got ${JSON.stringify(outcome.error)}`);
  return outcome.result;
};

describe("Lambda's Node.js runtime environment", () => {
  const logger = recordingLogger();
  let runner: FunctionRunner;
  // Stands in for the local gateway: what reached it, and by which path.
  const received: string[] = [];
  let gateway: Server;

  beforeAll(async () => {
    gateway = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${body}`);
        res.end();
      });
    });
    const { url } = await listen(gateway, { host: '127.0.0.1', port: 0, setting: PORTS.webSocket });
    const model = loadPlatformModel({ templatePath: join(app, 'template.yaml') });
    runner = await createFunctionRunner(model.functions.values(), {
      buildDir,
      logger,
      quiet: true,
      prewarm: true,
      awsRoutes: { executeApi: { abc123defg: url }, services: { dynamodb: url }, localPorts: [] },
    });
  });

  afterAll(async () => {
    await runner?.close();
    // A failed beforeAll leaves no gateway: waiting for its close would hang the suite.
    if (gateway !== undefined) await new Promise((resolve) => gateway.close(resolve));
    rmSync(app, { recursive: true, force: true });
  });

  test('the AWS SDK v3 comes from the runtime for CommonJS (loaded in place) and ES module handlers', async () => {
    expect(ok(await runner.invoke('CjsSdk', {}, 'test'))).toEqual({ sdk: 'DynamoDB', dirname: join(app, 'cjs') });
    expect(ok(await runner.invoke('EsmSdk', {}, 'test'))).toEqual({
      sdk: 'DynamoDB',
      ready: 'top-level await',
      url: true,
    });
  });

  test('.cjs, .js in a "type": "module" package and .ts handlers run in their own format', async () => {
    expect(ok(await runner.invoke('CjsExtension', { n: 3 }, 'test'))).toEqual({ format: 'cjs', n: 3 });
    expect(ok(await runner.invoke('TypeModule', {}, 'test'))).toEqual({ format: 'esm' });
    expect(ok(await runner.invoke('TypeScript', { n: 21 }, 'test'))).toEqual({ doubled: 42 });
  });

  test('an SDK package the runtime does not have fails the init as on Lambda, and is named at start', async () => {
    const outcome = await runner.invoke('MissingSdk', {}, 'test');
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? undefined : outcome.error).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringContaining("Cannot find module '@aws-sdk/client-not-in-the-runtime'"),
    });
    expect(logger.messages('error')).toContainEqual(
      expect.stringMatching(
        /^Function MissingSdk cannot start: Runtime\.ImportModuleError: .*client-not-in-the-runtime/,
      ),
    );
  });

  test('past MemorySize (buffers or JS heap) the function is killed like on Lambda; the next one gets a fresh sandbox', async () => {
    expect(ok(await runner.invoke('Memory', { buffersMb: 8 }, 'test'))).toEqual({ kept: 8 });
    for (const event of [{ buffersMb: 200 }, { heapMb: 200 }]) {
      const outcome = await runner.invoke('Memory', event, 'test');
      expect(outcome.ok ? outcome.result : outcome.error).toEqual({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${outcome.requestId} Error: Runtime exited with error: signal: killed`,
      });
      // A fresh sandbox: nothing the killed one kept.
      expect(ok(await runner.invoke('Memory', {}, 'test'))).toEqual({ kept: 0 });
    }
    expect(
      logger.messages('warn').filter((line) => /^Memory ran out of memory .*MemorySize 128 MB/.test(line)),
    ).toHaveLength(2);
  });

  test('at MemorySize 256 a function that loads the whole aws-sdk v2 posts to an execute-api URL of the template from SDK v3, SDK v2, fetch and https', async () => {
    const endpoint = 'https://abc123defg.execute-api.us-east-1.amazonaws.com/my-stage';
    for (const client of ['sdk3', 'sdk2', 'fetch', 'https']) {
      expect(`${client}: ${JSON.stringify(ok(await runner.invoke('Clients', { client, endpoint }, 'test')))}`).toBe(
        `${client}: "posted"`,
      );
    }
    expect(received).toEqual(
      ['sdk3', 'sdk2', 'fetch', 'https'].map((data) => `POST /my-stage/@connections/c%3D1 ${data}`),
    );
  });

  test('another API, or an AWS service the runtime does not run, fails at once with the host named', async () => {
    const other = 'https://zzz9999999.execute-api.us-east-1.amazonaws.com/prod';
    for (const client of ['sdk3', 'sdk2', 'fetch', 'https']) {
      const started = Date.now();
      const result = ok(await runner.invoke('Clients', { client, endpoint: other }, 'test')) as { failed: string };
      expect(result.failed).toContain('zzz9999999.execute-api.us-east-1.amazonaws.com: API zzz9999999 is not an API');
      expect(Date.now() - started).toBeLessThan(2000);
    }
    const sts = ok(await runner.invoke('Clients', { client: 'fetch', endpoint: 'https://sts.amazonaws.com' }, 't'));
    expect(sts).toEqual({
      failed: expect.stringMatching(/^sts\.amazonaws\.com is an AWS endpoint the local runtime does not run/),
    });
    // Said once per host in the runtime's log, whichever client asked.
    expect(logger.messages('warn').filter((line) => line.includes('zzz9999999'))).toHaveLength(1);
  });
});
