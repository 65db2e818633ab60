import { join } from 'node:path';
import { loadPlatformModel } from '@real-time-platform/local-runtime';
import { loadConfig } from '../../src/config/env';
import { ConfigError } from '../../src/lib/errors';

describe('environment', () => {
  test('parses the named variables with defaults', () => {
    const config = loadConfig(
      ['TABLE_NAME', 'IS_QUERY_PARAM', 'CONNECTION_TTL_SECONDS', 'FANOUT_CONCURRENCY', 'WS_ENDPOINT'],
      {
        TABLE_NAME: 'WebSocketConnectionManager-develop',
        IS_QUERY_PARAM: 'false',
        WS_ENDPOINT: 'http://localhost:3001/develop',
      },
    );
    expect(config).toEqual({
      tableName: 'WebSocketConnectionManager-develop',
      isQueryParam: false,
      connectionTtlSeconds: 7800,
      fanoutConcurrency: 64,
      wsEndpoint: 'http://localhost:3001/develop',
    });
  });

  test('a missing variable fails with its name', () => {
    expect(() => loadConfig(['TABLE_NAME', 'REAL_TIME_ITEM_KEY'], { TABLE_NAME: 't' })).toThrow(
      new ConfigError('Invalid environment: REAL_TIME_ITEM_KEY is required'),
    );
  });

  test('invalid values are named too', () => {
    expect(() =>
      loadConfig(['FANOUT_CONCURRENCY', 'IS_QUERY_PARAM', 'WS_ENDPOINT'], {
        FANOUT_CONCURRENCY: '0',
        IS_QUERY_PARAM: 'yes',
        WS_ENDPOINT: 'wss://x',
      }),
    ).toThrow(
      /FANOUT_CONCURRENCY must be at least 1; IS_QUERY_PARAM must be "true" or "false"; WS_ENDPOINT must be an http\(s\) URL/,
    );
  });

  test.each(['userId', 'status', 'conversationId', 'itemId', 'startsAt'])(
    'REAL_TIME_ITEM_KEY=%s is refused: platform items use that attribute',
    (name) => {
      expect(() => loadConfig(['REAL_TIME_ITEM_KEY'], { REAL_TIME_ITEM_KEY: name })).toThrow(
        `REAL_TIME_ITEM_KEY must not be "${name}": presence, calendar or chat items use that attribute`,
      );
    },
  );

  test('ordinary key names still pass', () => {
    expect(loadConfig(['REAL_TIME_ITEM_KEY'], { REAL_TIME_ITEM_KEY: 'vehicleId' })).toEqual({
      realTimeItemKey: 'vehicleId',
    });
  });
});

describe('conflation settings', () => {
  const fanoutEnvironment = (overrides: Record<string, string>) => {
    const model = loadPlatformModel({
      templatePath: join(__dirname, '../../template.yaml'),
      parameterOverrides: overrides,
      verifyEntryPoints: false,
    });
    const fanout = model.functions.get('OnReceiveRealTimeItem');
    return loadConfig(['COALESCE_POSTS', 'CONFLATE_CHANGES', 'CONFLATE_KEY_PREFIXES'], fanout?.environment ?? {});
  };

  test('coalescing on, conflation off by default; the template passes the three parameters to the fan-out', () => {
    expect(fanoutEnvironment({})).toEqual({ coalescePosts: true, conflateChanges: false, conflateKeyPrefixes: [] });
    expect(
      fanoutEnvironment({ CoalescePosts: 'false', ConflateChanges: 'true', ConflateKeyPrefixes: 'vehicle:, dash:' }),
    ).toEqual({
      coalescePosts: false,
      conflateChanges: true,
      conflateKeyPrefixes: ['vehicle:', 'dash:'],
    });
  });
});
