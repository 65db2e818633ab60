import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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
    // Loading the authorizer fetches its JWKS at once (a warm-up): a local port that refuses, so that no connection to
    // an outside host is left open to keep the test worker from exiting.
    JWT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    JWT_ISSUER: 'https://issuer.example.com/',
    JWT_AUDIENCE: 'app',
  };
  Object.assign(process.env, env);
  for (const [logicalId, file] of outputs) {
    expect(`${logicalId}: ${basename(file)}`).toMatch(/: [a-z0-9-]+\.js$/);
    const loaded = jest.requireActual(file) as { handler?: unknown };
    expect(`${logicalId}: ${typeof loaded.handler}`).toBe(`${logicalId}: function`);
  }
  // Sixteen bundles, one of them with the holiday library: slow on a loaded 2-core machine.
}, 180_000);
