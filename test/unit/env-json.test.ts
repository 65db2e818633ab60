import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlatformModel, samEnvJson } from '@real-time-platform/local-runtime';
import { ENV_JSON_PARAMETER_SETS } from '../../scripts/lib/env-json-parameters';

// env.json is what `sam local invoke --env-vars env.json` applies: it must follow template.yaml.

const root = join(__dirname, '..', '..');
const templatePath = join(root, 'template.yaml');
const envJson = JSON.parse(readFileSync(join(root, 'env.json'), 'utf8')) as Record<string, Record<string, string>>;

test('env.json is what `npm run env-json` makes of template.yaml (run it after changing a function)', () => {
  expect(envJson).toEqual(samEnvJson(templatePath, ENV_JSON_PARAMETER_SETS));
});

test('every function, the conditional ones too, has an entry of variables it declares, pointed at npm start', () => {
  for (const parameterOverrides of ENV_JSON_PARAMETER_SETS) {
    const model = loadPlatformModel({ templatePath, parameterOverrides, verifyEntryPoints: false });
    for (const spec of model.functions.values()) {
      const entry = envJson[spec.logicalId];
      expect(`${spec.logicalId}: ${entry === undefined ? 'missing' : 'present'}`).toBe(`${spec.logicalId}: present`);
      // SAM ignores variables the template does not declare: each one here must be declared.
      for (const name of Object.keys(entry ?? {})) expect(spec.declaredVariables).toContain(name);
      expect(entry).toMatchObject({
        AWS_ENDPOINT_URL_DYNAMODB: 'http://host.docker.internal:8000',
        AWS_ENDPOINT_URL_SQS: 'http://host.docker.internal:9324',
        WS_ENDPOINT: 'http://host.docker.internal:3001/develop',
      });
      // The develop tables npm start creates, not the logical ids SAM would put there.
      if ('TABLE_NAME' in (entry ?? {})) expect(entry?.TABLE_NAME).toBe('WebSocketConnectionManager-develop');
      if ('DATA_TABLE_NAME' in (entry ?? {})) expect(entry?.DATA_TABLE_NAME).toBe('RealTimeData-develop');
      // Parameter-only variables stay with SAM, so --parameter-overrides still decide them.
      expect(entry).not.toHaveProperty('REAL_TIME_ITEM_KEY');
    }
  }
  expect(Object.keys(envJson)).toEqual(
    expect.arrayContaining([
      'OnConnectLambdaFunction',
      'OnDisconnectLambdaFunction',
      'OnReceiveRealTimeItem',
      'JwtAuthorizerFunction',
      'PresenceEventsFunction',
    ]),
  );
});
