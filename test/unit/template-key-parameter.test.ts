import { join } from 'node:path';
import { loadPlatformModel, readCfnTemplate, TemplateError } from '@real-time-platform/local-runtime';
import { loadConfig } from '../../src/config/env';
import { DOMAIN_ATTRIBUTE_NAMES } from '../../src/domain/keys';

// RealTimeItemKey names RealTimeData's partition key, the query parameter clients subscribe with and an identifier in
// the IoT rule's SQL. A value one part refuses must be refused by the template itself, before anything starts.

const templatePath = join(__dirname, '..', '..', 'template.yaml');
const parameter = readCfnTemplate(templatePath).Parameters?.RealTimeItemKey ?? {};
const allowed = new RegExp(`^(?:${String(parameter.AllowedPattern)})$`);
const functionsAccept = (name: string) => {
  try {
    loadConfig(['REAL_TIME_ITEM_KEY'], { REAL_TIME_ITEM_KEY: name });
    return true;
  } catch {
    return false;
  }
};
const start = (RealTimeItemKey: string) =>
  loadPlatformModel({ templatePath, verifyEntryPoints: false, parameterOverrides: { RealTimeItemKey } });

test('the AllowedPattern refuses every attribute name platform items use, and the functions agree', () => {
  for (const name of DOMAIN_ATTRIBUTE_NAMES) {
    expect(`${name}: ${allowed.test(name)}`).toBe(`${name}: false`);
    expect(`${name}: ${functionsAccept(name)}`).toBe(`${name}: false`);
  }
});

test.each(['vehicleId', 'realTimeItemKey', 'device_id', '_x', 'a'.repeat(64)])('%s is accepted everywhere', (name) => {
  expect(allowed.test(name)).toBe(true);
  expect(functionsAccept(name)).toBe(true);
  expect(start(name).parameters.RealTimeItemKey).toBe(name);
});

test.each([
  ['vehicle-id', 'letters, digits or underscores'],
  ['userId', 'not an attribute platform items use'],
  ['3d', 'not starting with a digit'],
  ['a'.repeat(65), '1-64'],
])('RealTimeItemKey=%s is refused before anything starts, with the reason', (name, reason) => {
  expect(functionsAccept(name)).toBe(false);
  let error: unknown;
  try {
    start(name);
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(TemplateError);
  expect((error as Error).message).toContain(`Parameter RealTimeItemKey=${JSON.stringify(name)} is refused`);
  expect((error as Error).message).toContain(reason);
});
