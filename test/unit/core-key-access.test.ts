import { calendarAccessRule } from '../../src/domain/calendar-access';
import {
  authorizeKeys,
  createKeyAccessPolicy,
  firstDenied,
  type KeyAccessRule,
  ownerOnlyRule,
  requirementsOf,
} from '../../src/domain/key-access';
import { presenceAccessRule } from '../../src/domain/presence';

// What an access decision rests on: the rows a subscription must ConditionCheck when it is written, so a grant taken
// back between the decision and the write cannot leave a live subscription.

const shares = new Set(['u1|u2']);
const friendships = new Set(['u2|u3']);
const chatMembers: KeyAccessRule = {
  prefix: 'chat:',
  // Membership never changes: no requirement, like the real chat rule.
  canRead: async (caller) => (caller ? { allowed: true } : { allowed: false, code: 'UNAUTHORIZED', message: 'no' }),
};
const policy = createKeyAccessPolicy([
  ownerOnlyRule('inbox:'),
  ownerOnlyRule('friends:'),
  calendarAccessRule({ isSharedWith: async (owner, viewer) => shares.has(`${owner}|${viewer}`) }),
  presenceAccessRule({ visibility: 'friends', areFriends: async (a, b) => friendships.has(`${a}|${b}`) }),
  chatMembers,
]);

describe('authorizeKeys', () => {
  test('only keys granted by a revocable row carry a requirement: shares and friendships', async () => {
    const verdict = await authorizeKeys(policy, { userId: 'u2' }, [
      'vehicle-7',
      'inbox:u2',
      'friends:u2',
      'calendar:u2',
      'presence:u2',
      'calendar:u1',
      'presence:u3',
      'chat:c1',
    ]);
    expect(verdict).toEqual({
      allowed: true,
      requirements: [
        { key: 'calendar:u1', requires: { key: '$calendar-shares:u1', itemId: 'u2', condition: 'exists' } },
        {
          key: 'presence:u3',
          requires: { key: 'friends:u2', itemId: 'u3', condition: { attribute: 'status', equals: 'accepted' } },
        },
      ],
    });
  });

  test('the first refused key wins, with its reason; firstDenied says the same', async () => {
    const keys = ['calendar:u1', 'calendar:u9', 'presence:u9'];
    const verdict = await authorizeKeys(policy, { userId: 'u2' }, keys);
    expect(verdict).toMatchObject({ allowed: false, key: 'calendar:u9', decision: { code: 'FORBIDDEN' } });
    expect(await firstDenied(policy, { userId: 'u2' }, keys)).toMatchObject({
      key: 'calendar:u9',
      decision: { code: 'FORBIDDEN' },
    });
    expect(await firstDenied(policy, { userId: 'u2' }, ['calendar:u1'])).toBeUndefined();
  });

  test('an anonymous caller gets no requirements for public keys and UNAUTHORIZED for guarded ones', async () => {
    expect(await authorizeKeys(policy, undefined, ['vehicle-7'])).toEqual({ allowed: true, requirements: [] });
    expect(await authorizeKeys(policy, undefined, ['calendar:u1'])).toMatchObject({
      allowed: false,
      decision: { code: 'UNAUTHORIZED' },
    });
  });
});

test('requirementsOf keeps one requirement per key and skips refused or unguarded decisions', () => {
  const requires = { key: '$calendar-shares:u1', itemId: 'u2', condition: 'exists' as const };
  expect(
    requirementsOf(
      ['calendar:u1', 'calendar:u1', 'vehicle-7', 'calendar:u9'],
      [
        { allowed: true, requires },
        { allowed: true, requires },
        { allowed: true },
        { allowed: false, code: 'FORBIDDEN', message: 'no' },
      ],
    ),
  ).toEqual([{ key: 'calendar:u1', requires }]);
});
