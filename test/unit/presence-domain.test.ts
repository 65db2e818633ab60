import {
  type ItemChange,
  offlinePresence,
  updatePresenceActionSchema,
  validateFrame,
} from '@real-time-platform/protocol';
import fc from 'fast-check';
import { type FriendStatus, friendshipFromItem, planFriendRequest } from '../../src/domain/friends';
import { createKeyAccessPolicy } from '../../src/domain/key-access';
import {
  connectTransition,
  disconnectTransition,
  isPresenceChange,
  pageConnectionIdOf,
  pageOf,
  presenceAccessRule,
  presenceDetailType,
  presenceMessage,
  presenceOrItemMessage,
  publicPresenceItem,
} from '../../src/domain/presence';

const change = (event: ItemChange['event'], item: Record<string, unknown>, key = 'presence:u1'): ItemChange => ({
  event,
  key,
  itemId: 'state',
  item: { realTimeItemKey: key, itemId: 'state', ...item },
  seq: '000000000000000000042',
  at: 1763800000000,
});

const page = { url: 'https://www.example.co.uk/a', title: 'A', domain: 'example.co.uk' };

describe('presence frames', () => {
  test('coming online is a join carrying the state without internal attributes', () => {
    const frame = presenceMessage(
      change('MODIFY', {
        userId: 'u1',
        status: 'online',
        connections: 1,
        since: 10,
        lastSeenAt: 10,
        transition: 'join',
        latestPage: page,
      }),
    );
    expect(frame).toEqual({
      type: 'presence',
      event: 'join',
      key: 'presence:u1',
      userId: 'u1',
      presence: { status: 'online', connections: 1, since: 10, lastSeenAt: 10, latestPage: page },
      seq: '000000000000000000042',
      at: 1763800000000,
    });
  });

  test("the connection that set the page is internal: kept out of frames, read back for the store's close", () => {
    const item = { userId: 'u1', status: 'online', connections: 2, transition: 'update', page, latestPage: page };
    const frame = presenceMessage(change('MODIFY', { ...item, pageConnectionId: 'tab-a=' }));
    expect(frame.presence).toEqual({ status: 'online', connections: 2, page, latestPage: page });
    expect(
      JSON.stringify(presenceOrItemMessage(change('MODIFY', { ...item, pageConnectionId: 'tab-a=' }))),
    ).not.toContain('tab-a=');
    expect(pageConnectionIdOf({ page, pageConnectionId: 'tab-a=' })).toBe('tab-a=');
    // No page, no owner: a leftover id (or a mangled one) never makes a close take anything down.
    expect(pageConnectionIdOf({ latestPage: page, pageConnectionId: 'tab-a=' })).toBeUndefined();
    expect(pageConnectionIdOf({ page, pageConnectionId: 7 })).toBeUndefined();
    expect(pageConnectionIdOf(undefined)).toBeUndefined();
    expect(publicPresenceItem({ itemId: 'state', page, pageConnectionId: 'tab-a=' })).toEqual({
      itemId: 'state',
      page,
    });
  });

  test('a first ever connection (INSERT) is a join even without the mark', () => {
    expect(presenceMessage(change('INSERT', { status: 'online', connections: 1 })).event).toBe('join');
  });

  test('a second tab and a page change are updates; going offline is a leave', () => {
    expect(presenceMessage(change('MODIFY', { status: 'online', connections: 2, transition: 'update' })).event).toBe(
      'update',
    );
    const withPage = presenceMessage(
      change('MODIFY', { status: 'online', connections: 1, transition: 'update', page, latestPage: page }),
    );
    expect(withPage).toMatchObject({ event: 'update', presence: { page, latestPage: page } });
    const leave = presenceMessage(
      change('MODIFY', { status: 'offline', connections: 0, transition: 'leave', latestPage: page }),
    );
    expect(leave).toMatchObject({ event: 'leave', presence: { status: 'offline', connections: 0, latestPage: page } });
    expect(leave.presence.page).toBeUndefined();
  });

  test('removing the item is a leave, whatever its last image said', () => {
    const frame = presenceMessage(change('REMOVE', { status: 'online', connections: 3, page }));
    expect(frame).toMatchObject({ event: 'leave', presence: { status: 'offline', connections: 0 } });
    expect(frame.presence.page).toBeUndefined();
  });

  test('only presence:<userId> / state items become presence frames; everything else stays an item frame', () => {
    expect(presenceOrItemMessage(change('MODIFY', { status: 'online' })).type).toBe('presence');
    expect(presenceOrItemMessage({ ...change('MODIFY', {}), itemId: 'other' }).type).toBe('item');
    expect(presenceOrItemMessage(change('MODIFY', {}, 'vehicle-3')).type).toBe('item');
    expect(isPresenceChange({ key: 'presence:', itemId: 'state' })).toBe(false);
  });

  test('a mangled image still gives a well-formed frame', () => {
    const frame = presenceMessage(change('MODIFY', { status: 42, connections: 'many', page: 'x', since: -1 }));
    expect(frame.presence).toEqual({ status: 'offline', connections: 0 });
  });

  test('EventBridge detail types', () => {
    expect(['join', 'leave', 'update'].map((e) => presenceDetailType(e as never))).toEqual([
      'presence.connected',
      'presence.disconnected',
      'presence.updated',
    ]);
  });
});

describe('transitions', () => {
  test('the first connection brings the user online; more add to the count', () => {
    expect(connectTransition(undefined)).toBe('come-online');
    expect(connectTransition(offlinePresence('u1'))).toBe('come-online');
    expect(connectTransition({ userId: 'u1', status: 'online', connections: 1 })).toBe('add-connection');
  });

  test('only the last connection takes the user offline', () => {
    expect(disconnectTransition({ userId: 'u1', status: 'online', connections: 2 })).toBe('remove-connection');
    expect(disconnectTransition({ userId: 'u1', status: 'online', connections: 1 })).toBe('go-offline');
    // A count that drifted to 0 while online still ends offline rather than negative.
    expect(disconnectTransition({ userId: 'u1', status: 'online', connections: 0 })).toBe('go-offline');
    expect(disconnectTransition(undefined)).toBe('settle-only');
    expect(disconnectTransition(offlinePresence('u1'))).toBe('settle-only');
  });
});

describe('update-presence frames', () => {
  const parse = (frame: unknown) => validateFrame(updatePresenceActionSchema, frame);

  test('a page gets its registrable domain; localhost and IPs keep their host', () => {
    const ok = parse({ action: 'update-presence', url: 'https://docs.example.co.uk/x?y=1', title: 'Docs' });
    expect(ok.ok && pageOf(ok.frame)).toEqual({
      url: 'https://docs.example.co.uk/x?y=1',
      title: 'Docs',
      domain: 'example.co.uk',
    });
    const local = parse({ url: 'http://localhost:3000/app' });
    expect(local.ok && pageOf(local.frame)).toEqual({
      url: 'http://localhost:3000/app',
      title: '',
      domain: 'localhost',
    });
  });

  test('an empty url hides the page', () => {
    const hidden = parse({ url: '', title: 'ignored' });
    expect(hidden.ok && pageOf(hidden.frame)).toBeUndefined();
  });

  test.each([
    ['a missing url', {}, /url must be a string/],
    ['a non-URL', { url: 'not a url' }, /url must be an http\(s\) URL/],
    ['a javascript: URL', { url: 'javascript:alert(1)' }, /url must be an http\(s\) URL/],
    ['a data: URL', { url: 'data:text/html,<script>' }, /url must be an http\(s\) URL/],
    ['a huge URL', { url: `https://example.com/${'a'.repeat(2100)}` }, /at most 2048 characters/],
    ['a huge title', { url: 'https://example.com', title: 't'.repeat(301) }, /title must be at most 300/],
    ['a title with control characters', { url: 'https://example.com', title: 'a\u0000b' }, /control characters/],
    ['a number as url', { url: 42 }, /url must be a string/],
  ])('%s is refused with a clear message', (_name, frame, message) => {
    const result = parse(frame);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  test('a 300-character title and a 2048-character URL are accepted', () => {
    const url = `https://example.com/${'a'.repeat(2048 - 20)}`;
    expect(url).toHaveLength(2048);
    expect(parse({ url, title: 't'.repeat(300) }).ok).toBe(true);
  });

  test('no frame makes validation or pageOf throw', () => {
    fc.assert(
      fc.property(
        fc.record({ url: fc.oneof(fc.webUrl(), fc.string(), fc.anything()), title: fc.anything() }),
        (frame) => {
          const result = parse(frame);
          if (result.ok) pageOf(result.frame);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('friend requests', () => {
  test('no relation → request; they asked → accept; otherwise idempotent', () => {
    expect(planFriendRequest(undefined)).toEqual({ kind: 'request' });
    expect(planFriendRequest('pending')).toEqual({ kind: 'accept' });
    expect(planFriendRequest('requested')).toEqual({ kind: 'unchanged', status: 'requested' });
    expect(planFriendRequest('accepted')).toEqual({ kind: 'unchanged', status: 'accepted' });
  });

  test('rows that are not friendships are ignored', () => {
    expect(friendshipFromItem('u2', { status: 'accepted', since: 5 })).toEqual({
      userId: 'u2',
      status: 'accepted',
      since: 5,
    });
    expect(friendshipFromItem('u2', { status: 'best-friends' as FriendStatus })).toBeUndefined();
    expect(friendshipFromItem('u2', undefined)).toBeUndefined();
  });
});

describe('who may watch presence', () => {
  const friendships = new Set(['u1|u2']);
  const policy = (visibility: 'all' | 'friends') =>
    createKeyAccessPolicy([
      presenceAccessRule({ visibility, areFriends: async (a, b) => friendships.has(`${a}|${b}`) }),
    ]);

  test('anonymous callers never see presence', async () => {
    expect(await policy('all')(undefined, 'presence:u1')).toMatchObject({ allowed: false, code: 'UNAUTHORIZED' });
  });

  test('visibility all: any signed-in user', async () => {
    expect(await policy('all')({ userId: 'u9' }, 'presence:u1')).toEqual({ allowed: true });
  });

  test('visibility friends: oneself and accepted friends only, with a reason', async () => {
    const friends = policy('friends');
    expect(await friends({ userId: 'u1' }, 'presence:u1')).toEqual({ allowed: true });
    // A friend's access rests on the caller's side of the friendship, still accepted when the subscription is written.
    expect(await friends({ userId: 'u1' }, 'presence:u2')).toEqual({
      allowed: true,
      requires: { key: 'friends:u1', itemId: 'u2', condition: { attribute: 'status', equals: 'accepted' } },
    });
    const refused = await friends({ userId: 'u3' }, 'presence:u2');
    expect(refused).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    expect(refused.allowed === false && refused.message).toMatch(/"presence:u2".*accepted friends/);
  });
});
