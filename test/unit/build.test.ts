import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { buildDeployBundles } from '../../scripts/build';

const outDir = mkdtempSync(join(tmpdir(), 'rtp-build-'));
// About 75 MB of bundles.
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

// `npm run build` must produce, for every template function, the file its Handler names, exporting that handler.
test('every function bundles to <Handler module>.js exporting its handler', async () => {
  const outputs = await buildDeployBundles('template.yaml', outDir);
  // Conditional functions (JwtAuthorizerFunction, PresenceEventsFunction) are built too, as `sam build` does.
  expect([...outputs.keys()].sort()).toEqual([
    'CalendarApiFunction',
    'ChatApiFunction',
    'ChatMessageFunction',
    'ItemsApiFunction',
    'JwtAuthorizerFunction',
    'OnConnectLambdaFunction',
    'OnDisconnectLambdaFunction',
    'OnMessageLambdaFunction',
    'OnReceiveRealTimeItem',
    'PresenceApiFunction',
    'PresenceEventsFunction',
    'PresenceSweepFunction',
    'S3IngestFunction',
    'SnsIngestFunction',
    'SqsIngestFunction',
  ]);
  const env = {
    TABLE_NAME: 'connections',
    DATA_TABLE_NAME: 'data',
    REAL_TIME_ITEM_KEY: 'vehicleId',
    IS_QUERY_PARAM: 'true',
    WS_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/develop',
    AWS_REGION: 'eu-west-1',
    EVENT_BUS_NAME: 'presence',
    // Loading the authorizer fetches its JWKS at once (a warm-up): a local port that refuses, so that nothing
    // reaches an outside host.
    JWT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    JWT_ISSUER: 'https://issuer.example.com/',
    JWT_AUDIENCE: 'app',
  };
  // Loaded in a process of their own, as Lambda loads one: 75 MB of bundles (each with its own SDK) in this jest
  // worker left it too large to exit within jest's grace, and it was force-killed after the run.
  const loaded = await handlerTypes([...outputs.values()], env);
  for (const [logicalId, file] of outputs) {
    expect(`${logicalId}: ${basename(file)}`).toMatch(/: [a-z0-9-]+\.js$/);
    expect(`${logicalId}: ${loaded[file]}`).toBe(`${logicalId}: function`);
  }
  // Sixteen bundles, one of them with the holiday library: slow on a loaded 2-core machine.
}, 180_000);

/** `typeof handler` of each bundle, imported one after the other by a fresh Node process with `env` set. */
async function handlerTypes(files: string[], env: Record<string, string>): Promise<Record<string, string>> {
  const script = `
    const { pathToFileURL } = require('node:url');
    (async () => {
      const types = {};
      for (const file of JSON.parse(process.argv[1])) {
        const loaded = await import(pathToFileURL(file).href);
        types[file] = typeof (loaded.handler ?? loaded.default?.handler);
      }
      process.stdout.write(JSON.stringify(types));
      process.exit(0);
    })();`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, JSON.stringify(files)], {
    env: { ...process.env, ...env },
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, string>;
}
