import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../../src';

// The helper itself, on the application's small HTTP API fixture (the JWT authorizer in front of a function that
// echoes the caller): signed-in requests pass the real authorizer, and stop() leaves nothing behind.

const repositoryRoot = join(__dirname, '..', '..', '..', '..');
const template = join(repositoryRoot, 'test', 'fixtures', 'templates', 'http-authorizer.yaml');

let platform: TestPlatform | undefined;
afterAll(async () => platform?.stop());

test('signIn makes tokens the started authorizer accepts, with the audience it requires; stop() removes the work dir', async () => {
  platform = await startTestPlatform({
    templatePath: template,
    auth: 'jwt',
    parameterOverrides: { JwtAudience: 'test-support' },
  });
  const { workDir } = platform;
  expect(relative(repositoryRoot, workDir)).toMatch(/^\.local\/test-/);
  expect(existsSync(workDir)).toBe(true);

  const me = await platform.http('GET', '/me', { as: 'u1' });
  const anonymous = await platform.http('GET', '/me');
  const otherAudience = await platform.signIn('u1', { aud: 'another-app' });
  const foreign = await platform.http('GET', '/me', { headers: otherAudience.headers });

  expect(me).toMatchObject({ status: 200, body: { caller: { userId: 'u1' } } });
  expect(anonymous.status).toBe(401);
  expect(foreign.status).toBe(403);
  await platform.stop();
  platform = undefined;
  expect(existsSync(workDir)).toBe(false);
});
