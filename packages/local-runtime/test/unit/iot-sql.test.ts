import fc from 'fast-check';
import { compileIotRule, IotSqlError, topicMatches, validateTopicFilter } from '../../src/iot/sql';
import { loadPlatformModel } from '../../src/template';
import { appTemplate } from '../helpers/paths';

// The template's own IotIngestRule after !Sub (RealTimeItemKey=realTimeItemKey).
const TEMPLATE_SQL = (() => {
  const model = loadPlatformModel({ templatePath: appTemplate, verifyEntryPoints: false });
  const sql = model.iotRules[0]?.sql;
  if (sql === undefined) throw new Error('template.yaml has no IoT rule');
  return sql;
})();

function run(sql: string, payload: unknown, topic = 'rtp/items/3', clientId = 'device-1') {
  return compileIotRule(sql).evaluate({ topic, payload, clientId });
}

function compileError(sql: string): IotSqlError {
  try {
    compileIotRule(sql, 'my_rule');
  } catch (err) {
    if (err instanceof IotSqlError) return err;
    throw err;
  }
  throw new Error(`compiled: ${sql}`);
}

describe('the template rule', () => {
  const rule = compileIotRule(TEMPLATE_SQL);

  it('takes the key from the topic and defaults itemId', () => {
    expect(rule.evaluate({ topic: 'rtp/items/3', payload: { speed: 42 } })).toEqual({
      speed: 42,
      realTimeItemKey: '3',
      itemId: 'latest',
    });
  });

  it.each([
    ['rtp/items/presence:u1', {}],
    ['rtp/items/x', { realTimeItemKey: 'chat:c1', itemId: 'conversation', participants: ['mallory'] }],
    ['rtp/items/x', { realTimeItemKey: '$calendar-shares:alice', itemId: 'mallory' }],
    ['rtp/items/calendar:alice', { itemId: 'e1' }],
    ['rtp/items/x', { realTimeItemKey: 'friends:alice', itemId: 'mallory', status: 'accepted' }],
    ['rtp/items/inbox:bob', {}],
  ])("drops keys of the platform's domains (%s %j): devices cannot forge them", (topic, payload) => {
    expect(rule.evaluate({ topic, payload })).toBeUndefined();
  });

  it.each([{ itemId: '$snapshot#victim#1', connectionId: 'victim' }, { itemId: '$x' }])(
    'drops reserved "$" itemIds (%j): devices cannot forge snapshot markers',
    (payload) => {
      expect(rule.evaluate({ topic: 'rtp/items/3', payload })).toBeUndefined();
    },
  );

  it('keeps a non-string itemId as published (DynamoDB refuses it into the error action)', () => {
    expect(rule.evaluate({ topic: 'rtp/items/3', payload: { itemId: 7 } })).toEqual({
      realTimeItemKey: '3',
      itemId: 7,
    });
  });

  it("keeps the payload's own key and itemId", () => {
    expect(
      rule.evaluate({ topic: 'rtp/items/3', payload: { realTimeItemKey: 'bus-9', itemId: 'gps', speed: 1 } }),
    ).toEqual({ realTimeItemKey: 'bus-9', itemId: 'gps', speed: 1 });
  });

  it('keeps a non-string key as published (DynamoDB decides whether it fits the table)', () => {
    expect(rule.evaluate({ topic: 'rtp/items/3', payload: { realTimeItemKey: 7 } })).toEqual({
      realTimeItemKey: 7,
      itemId: 'latest',
    });
  });

  it('leaves the key out when the topic has no third level', () => {
    expect(rule.evaluate({ topic: 'rtp/items', payload: { a: 1 } })).toEqual({ a: 1, itemId: 'latest' });
  });

  it('reports the wildcard and its topic filter', () => {
    expect(rule.selectsWildcard).toBe(true);
    expect(rule.topicFilter).toBe('rtp/items/#');
    expect(rule.matches('rtp/items/3')).toBe(true);
    expect(rule.matches('rtp/items/3/gps')).toBe(true);
    expect(rule.matches('rtp/other/3')).toBe(false);
  });

  it('copies nothing from a non-object payload', () => {
    expect(rule.evaluate({ topic: 'rtp/items/3', payload: Buffer.from([0xff, 0x00]) })).toEqual({
      realTimeItemKey: '3',
      itemId: 'latest',
    });
    expect(rule.selectsWildcard).toBe(true);
  });

  it('never lets "__proto__" in a payload change the output prototype', () => {
    const payload = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const out = rule.evaluate({ topic: 'rtp/items/3', payload }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('SELECT', () => {
  it('selects attributes, nested paths and aliases', () => {
    expect(
      run("SELECT color, a.b.c, a.b AS inner, 5 AS n, 'x' AS s FROM 't'", { color: 'red', a: { b: { c: 1 } } }, 't'),
    ).toEqual({
      color: 'red',
      c: 1,
      inner: { c: 1 },
      n: 5,
      s: 'x',
    });
  });

  it('nests dotted aliases', () => {
    expect(run("SELECT foo.bar AS bar.baz FROM 't'", { foo: { bar: 'RED' } }, 't')).toEqual({ bar: { baz: 'RED' } });
  });

  it('adds items to the payload with SELECT *, and a later item overwrites an earlier key', () => {
    expect(run("SELECT *, 15 AS speed, 'x' AS color FROM 't'", { color: 'red', temperature: 50 }, 't')).toEqual({
      color: 'x',
      temperature: 50,
      speed: 15,
    });
  });

  it('leaves Undefined values out', () => {
    expect(run("SELECT missing, a.b AS x, 1 AS one FROM 't'", { a: 3 }, 't')).toEqual({ one: 1 });
  });

  it('supports literals: numbers, negative numbers, strings, booleans, null', () => {
    expect(
      run("SELECT 1.5 AS a, -2 AS b, 'hi' AS c, true AS d, FALSE AS e, null AS f, 1e3 AS g FROM 't'", {}, 't'),
    ).toEqual({
      a: 1.5,
      b: -2,
      c: 'hi',
      d: true,
      e: false,
      f: null,
      g: 1000,
    });
  });

  it('is case-insensitive for keywords and function names', () => {
    expect(run("select Topic(2) as k from 'a/b' where TRUE", {}, 'a/b')).toEqual({ k: 'b' });
  });

  it('names an un-aliased function after the function', () => {
    expect(run("SELECT topic() FROM 'a/#'", {}, 'a/b')).toEqual({ topic: 'a/b' });
  });
});

describe('functions', () => {
  it('topic(), topic(n) (1-based; out of range is Undefined)', () => {
    expect(
      run("SELECT topic() AS t, topic(1) AS a, topic(3) AS c, topic(9) AS z, topic(0) AS zero FROM '#'", {}, 'x/y/z'),
    ).toEqual({
      t: 'x/y/z',
      a: 'x',
      c: 'z',
    });
  });

  it('isUndefined / isNull', () => {
    expect(
      run("SELECT isUndefined(a) AS ua, isUndefined(b) AS ub, isNull(b) AS nb, isNull(a) AS na FROM '#'", { b: null }),
    ).toEqual({
      ua: true,
      ub: false,
      nb: true,
      na: false,
    });
  });

  it('timestamp(), clientid(), newuuid()', () => {
    const before = Date.now();
    const out = run("SELECT timestamp() AS ts, clientid() AS c, newuuid() AS id FROM '#'", {}) as Record<
      string,
      unknown
    >;
    expect(out.ts).toBeGreaterThanOrEqual(before);
    expect(out.c).toBe('device-1');
    expect(out.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(compileIotRule("SELECT clientid() AS c FROM '#'").evaluate({ topic: 'a', payload: {} })).toEqual({});
  });

  it('lower / upper (strings only)', () => {
    expect(run("SELECT lower(s) AS l, upper(s) AS u, lower(n) AS ln FROM '#'", { s: 'AbC', n: 1 })).toEqual({
      l: 'abc',
      u: 'ABC',
    });
  });

  it('concat: strings, mixed values, arrays, Undefined', () => {
    expect(
      run("SELECT concat('a', s, 1) AS s1, concat(arr, arr) AS a2, concat('x', missing) AS u FROM '#'", {
        s: 'b',
        arr: [1],
      }),
    ).toEqual({ s1: 'ab1', a2: [1, 1] });
  });
});

describe('CASE', () => {
  it('simple form: first matching WHEN, ELSE, no match without ELSE is Undefined', () => {
    const sql = `SELECT CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' ELSE 'stop' END AS i,
      CASE color WHEN 'blue' THEN 1 END AS j FROM '#'`;
    expect(run(sql, { color: 'yellow' })).toEqual({ i: 'caution' });
    expect(run(sql, { color: 'red' })).toEqual({ i: 'stop' });
  });

  it('simple form: an Undefined subject makes the CASE Undefined (even with ELSE)', () => {
    expect(run("SELECT CASE color WHEN 'x' THEN 1 ELSE 2 END AS i FROM '#'", {})).toEqual({});
  });

  it('searched form', () => {
    const sql = "SELECT CASE WHEN speed > 100 THEN 'fast' WHEN speed > 10 THEN 'ok' ELSE 'slow' END AS pace FROM '#'";
    expect(run(sql, { speed: 120 })).toEqual({ pace: 'fast' });
    expect(run(sql, { speed: 50 })).toEqual({ pace: 'ok' });
    expect(run(sql, {})).toEqual({ pace: 'slow' });
  });

  it('nests', () => {
    const sql = "SELECT CASE a WHEN 1 THEN CASE WHEN b THEN 'x' ELSE 'y' END ELSE 'z' END AS r FROM '#'";
    expect(run(sql, { a: 1, b: true })).toEqual({ r: 'x' });
    expect(run(sql, { a: 1, b: false })).toEqual({ r: 'y' });
    expect(run(sql, { a: 2 })).toEqual({ r: 'z' });
  });
});

describe('WHERE', () => {
  const cases: [string, unknown, boolean][] = [
    ['speed > 40', { speed: 42 }, true],
    ['speed > 40', { speed: 40 }, false],
    ['speed >= 40', { speed: 40 }, true],
    ['speed < 40', { speed: 39.5 }, true],
    ['speed <= 40', { speed: 41 }, false],
    ["kind = 'bus'", { kind: 'bus' }, true],
    ["kind <> 'bus'", { kind: 'car' }, true],
    ["kind <> 'bus'", {}, false],
    ["kind = 'bus'", { kind: 'BUS' }, false],
    ["'5' = 5", {}, false],
    ["name > 'm'", { name: 'zed' }, true],
    ["speed > 'a'", { speed: 3 }, false],
    ['a.b = 1', { a: { b: 1 } }, true],
    ['obj = obj', { obj: { x: [1, 2] } }, true],
    ['speed > 40 AND kind = 1', { speed: 50, kind: 1 }, true],
    ['speed > 40 AND kind = 1', { speed: 50, kind: 2 }, false],
    ['speed > 40 OR kind = 1', { speed: 1, kind: 1 }, true],
    ['missing > 1 OR true', {}, true],
    ['missing > 1 AND true', {}, false],
    ['NOT (speed > 40)', { speed: 10 }, true],
    ['NOT missing', {}, false],
    ['NOT NOT true', {}, true],
    ['isUndefined(speed)', {}, true],
    ['NOT isUndefined(speed) AND (speed > 1 OR speed < -1)', { speed: -5 }, true],
    ["topic(3) = '3'", {}, true],
    ['speed', { speed: 1 }, false],
    ['flag', { flag: true }, true],
  ];
  it.each(cases)('%s with %j → %s', (where, payload, passes) => {
    const out = run(`SELECT * FROM 'rtp/items/#' WHERE ${where}`, payload);
    expect(out !== undefined).toBe(passes);
  });

  it('AND binds tighter than OR', () => {
    expect(run("SELECT * FROM '#' WHERE true OR false AND false", {})).toBeDefined();
    expect(run("SELECT * FROM '#' WHERE (true OR false) AND false", {})).toBeUndefined();
  });
});

describe('refused SQL names the rule and the construct', () => {
  const refused: [string, RegExp][] = [
    ["SET @a = 1 SELECT * FROM 't'", /SET clause/],
    ["SELECT VALUE color FROM 't'", /SELECT VALUE/],
    ["SELECT md5(a) AS h FROM 't'", /function md5\(\) is not supported/],
    ["SELECT a + 1 AS b FROM 't'", /arithmetic operator '\+'/],
    ["SELECT * FROM 't' WHERE a != 1", /'!='/],
    ["SELECT * FROM 't' WHERE a IN (1, 2)", /operator IN/],
    ["SELECT * FROM 't' WHERE a LIKE 'x'", /operator LIKE/],
    ["SELECT a[0] AS b FROM 't'", /array indexing/],
    ['SELECT * FROM "t"', /double-quoted/],
    ['SELECT * FROM t', /quoted topic filter/],
    ["SELECT * FROM 'a/#/b'", /'#' must be the whole last level/],
    ["SELECT * FROM 'a/b+'", /'\+' must be a whole level/],
    ["SELECT * FROM ''", /empty/],
    ["SELECT 1 FROM 't'", /needs a name: add AS/],
    ["SELECT CASE a END AS x FROM 't'", /at least one WHEN/],
    ["SELECT CASE a WHEN 1 THEN 2 AS x FROM 't'", /expected END/],
    ["SELECT topic(1, 2) AS x FROM 't'", /takes 0–1 argument/],
    ["SELECT concat('a') AS x FROM 't'", /at least 2/],
    ["SELECT * FROM 't' WHERE 1 < 2 < 3", /chained comparison/],
    ["SELECT (SELECT a FROM 't') AS x FROM 't'", /nested SELECT/],
    ["SELECT * FROM 't' WHERE", /unexpected end/],
    ["SELECT * FROM 't' extra", /unexpected 'extra'/],
    ["SELECT 'abc FROM 't'", /unterminated string/],
    ["SELECT *, * + 1 AS x FROM 't'", /arithmetic operator/],
    ["SELECT a AS x, * * FROM 't'", /expected FROM but found '\*'/],
    ['', /expected SELECT/],
  ];
  it.each(refused)('%s', (sql, message) => {
    const error = compileError(sql);
    expect(error.message).toMatch(/^IoT rule my_rule: /);
    expect(error.message).toMatch(message);
  });

  it('refuses nesting deeper than the parser allows with its own error', () => {
    const deep = `SELECT * FROM 't' WHERE ${'('.repeat(5000)}true${')'.repeat(5000)}`;
    expect(compileError(deep).message).toMatch(/nested more than/);
    expect(compileError(`SELECT * FROM 't' WHERE ${'NOT '.repeat(5000)}true`).message).toMatch(/nested more than/);
  });
});

describe('topic filters', () => {
  const table: [string, string, boolean][] = [
    ['rtp/items/#', 'rtp/items/3', true],
    ['rtp/items/#', 'rtp/items/3/gps/x', true],
    ['rtp/items/#', 'rtp/items', true],
    ['rtp/items/#', 'rtp/items/', true],
    ['rtp/items/#', 'rtp/itemsX/3', false],
    ['rtp/items/#', 'rtp', false],
    ['rtp/+/3', 'rtp/items/3', true],
    ['rtp/+/3', 'rtp/items/4', false],
    ['rtp/+/3', 'rtp//3', true],
    ['rtp/+', 'rtp/items/3', false],
    ['+/+', 'a/b', true],
    ['+', 'a', true],
    ['+', '/a', false],
    ['#', 'a/b/c', true],
    ['#', '$SYS/broker/heartbeat', false],
    ['+/broker/#', '$SYS/broker/x', false],
    ['$SYS/#', '$SYS/broker/x', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/', false],
    ['a/b', 'A/b', false],
  ];
  it.each(table)('%s matches %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('validates filters', () => {
    expect(() => validateTopicFilter('a/+/#')).not.toThrow();
    expect(() => validateTopicFilter('#/a')).toThrow(IotSqlError);
    expect(() => validateTopicFilter('a/b#')).toThrow(IotSqlError);
  });
});

describe('properties', () => {
  const sqlAlphabet = fc.constantFrom(
    'SELECT',
    'FROM',
    'WHERE',
    'CASE',
    'WHEN',
    'THEN',
    'ELSE',
    'END',
    'AS',
    'AND',
    'OR',
    'NOT',
    '*',
    ',',
    '(',
    ')',
    '.',
    '=',
    '<>',
    '<',
    '>=',
    '-',
    "'rtp/items/#'",
    "'x'",
    '42',
    '1.5e3',
    'topic',
    'isUndefined',
    'concat',
    'a',
    'b.c',
    'true',
    'null',
    ' ',
  );

  it('the parser throws nothing but IotSqlError, on arbitrary strings and on token soup', () => {
    const check = (sql: string) => {
      try {
        compileIotRule(sql);
      } catch (err) {
        if (!(err instanceof IotSqlError)) throw err;
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 200 }), check), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 100 }), check), { numRuns: 500 });
    fc.assert(
      fc.property(fc.array(sqlAlphabet, { maxLength: 40 }), (parts) => check(parts.join(' '))),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.array(sqlAlphabet, { maxLength: 30 }), (parts) => check(`SELECT ${parts.join(' ')}`)),
      { numRuns: 3000 },
    );
  });

  it('a compiled rule never throws on any payload, topic or client id', () => {
    const rules = [
      compileIotRule(TEMPLATE_SQL),
      compileIotRule(
        "SELECT *, concat(a, b) AS c, lower(a) AS l, CASE WHEN a > b THEN a ELSE b END AS m FROM '#' WHERE NOT (a = b) OR a.x <> 1",
      ),
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.uint8Array().map((bytes) => Buffer.from(bytes)),
        ),
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (payload, topic, clientId) => {
          for (const rule of rules) {
            rule.matches(topic);
            const out = rule.evaluate({ topic, payload, clientId });
            if (out !== undefined) expect(typeof out).toBe('object');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the template rule always yields the key and itemId the payload gave, or the topic and "latest"', () => {
    const rule = compileIotRule(TEMPLATE_SQL);
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/),
        (payload, key) => {
          const out = rule.evaluate({ topic: `rtp/items/${key}`, payload }) as Record<string, unknown>;
          const own = (name: string, fallback: unknown) => (Object.hasOwn(payload, name) ? payload[name] : fallback);
          expect(out.realTimeItemKey).toEqual(own('realTimeItemKey', key));
          expect(out.itemId).toEqual(own('itemId', 'latest'));
        },
      ),
      { numRuns: 500 },
    );
  });
});
