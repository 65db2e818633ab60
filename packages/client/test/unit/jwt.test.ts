import { tokenExpiresAt } from '../../src';
import { jwt } from '../tokens';

describe('tokenExpiresAt', () => {
  test('reads exp (seconds) as epoch ms, without checking the signature', () => {
    expect(tokenExpiresAt(jwt({ sub: 'u1', exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
    // Payloads whose base64url needs padding, and characters base64url spells differently.
    expect(tokenExpiresAt(jwt({ sub: 'ü?>', exp: 1 }))).toBe(1000);
  });

  test('undefined for anything else', () => {
    for (const token of [
      undefined,
      '',
      'abc',
      'a.b.c',
      'a.!!!.c',
      jwt({ sub: 'u1' }),
      jwt({ exp: '1' }),
      'x.bnVsbA.y',
    ]) {
      expect(tokenExpiresAt(token)).toBeUndefined();
    }
  });
});
