import { MAX_MESSAGE_BYTES, snapshotFrameSchema } from '@real-time-platform/protocol';
import fc from 'fast-check';
import { encodeToken } from '../../src/adapters/item-store';
import { type SnapshotPage, SnapshotPager } from '../../src/domain/snapshot-pages';

const parse = (page: SnapshotPage) => snapshotFrameSchema.parse(JSON.parse(Buffer.from(page.data).toString('utf8')));

/** Every page of a snapshot of `items`, `partial` when more items than maxItems were offered. */
function pagesOf(key: string, items: Record<string, unknown>[], options: { maxBytes?: number; maxItems?: number }) {
  const pager = new SnapshotPager({
    key,
    position: '000000000000000000042',
    nextTokenOf: (i) => encodeToken(key, i),
    ...options,
  });
  const pages: SnapshotPage[] = [];
  let partial = false;
  for (const item of items) {
    if (pager.count === pager.maxItems) {
      partial = true;
      break;
    }
    pages.push(...pager.add(item));
  }
  pages.push(pager.finish(partial));
  return { pages, partial, pager };
}

describe('snapshot pages', () => {
  test('30 KB items fill 128 KB pages in order; a giant item becomes a stub; all pages share the position', () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ itemId: `i${i}`, blob: 'x'.repeat(30_000) }));
    items.splice(5, 0, { itemId: 'huge', blob: 'y'.repeat(200_000) });
    const { pages } = pagesOf('3', items, {});
    const frames = pages.map(parse);
    expect(frames.length).toBeGreaterThan(2);
    for (const page of pages) expect(page.data.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(frames.flatMap((f) => f.items.map((i) => i.itemId))).toEqual([
      'i0',
      'i1',
      'i2',
      'i3',
      'i4',
      'huge',
      'i5',
      'i6',
      'i7',
      'i8',
      'i9',
    ]);
    expect(frames.flatMap((f) => f.items).find((i) => i.itemId === 'huge')).toEqual({
      itemId: 'huge',
      truncated: true,
    });
    expect(frames.map((f) => f.page)).toEqual(frames.map((_, i) => i));
    expect(new Set(frames.map((f) => f.position))).toEqual(new Set(['000000000000000000042']));
    expect(frames.slice(0, -1).every((f) => f.more === true && f.complete === undefined)).toBe(true);
    expect(frames.at(-1)).toMatchObject({ complete: true });
    expect(frames.at(-1)?.more).toBeUndefined();
  });

  test('an empty snapshot is one complete page with no items', () => {
    expect(pagesOf('3', [], {}).pages.map(parse)).toEqual([
      { type: 'snapshot', key: '3', items: [], position: '000000000000000000042', page: 0, complete: true },
    ]);
  });

  test('past maxItems the last page says complete: false with the GET /items/{key} token after its last item', () => {
    const items = Array.from({ length: 5 }, (_, i) => ({ itemId: `i${i}` }));
    const frames = pagesOf('3', items, { maxItems: 3 }).pages.map(parse);
    expect(frames).toEqual([
      {
        type: 'snapshot',
        key: '3',
        items: [{ itemId: 'i0' }, { itemId: 'i1' }, { itemId: 'i2' }],
        position: '000000000000000000042',
        page: 0,
        complete: false,
        nextToken: encodeToken('3', 'i2'),
      },
    ]);
  });

  test('property: whatever the mix of sizes and itemIds, every page fits and carries every item in order', () => {
    const itemId = fc.oneof(
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
    );
    const item = fc.record({
      itemId,
      blob: fc.oneof(
        fc.string({ maxLength: 50 }),
        fc.nat(6000).map((n) => '€'.repeat(n)),
        fc.nat(3000).map((n) => '\u0001'.repeat(n)),
      ),
    });
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 2_000, max: 20_000 }),
        fc.string({ minLength: 1, maxLength: 200 }),
        (items, maxItems, maxBytes, key) => {
          const { pages, partial } = pagesOf(key, items, { maxItems, maxBytes });
          const frames = pages.map(parse);
          for (const page of pages) expect(page.data.byteLength).toBeLessThanOrEqual(maxBytes);
          const sent = frames.flatMap((f) => f.items);
          const expected = items.slice(0, maxItems);
          expect(sent).toHaveLength(expected.length);
          sent.forEach((got, i) => {
            const want = expected[i] as Record<string, unknown>;
            if (got.truncated === true) expect(got).toEqual({ itemId: want.itemId, truncated: true });
            else expect(got).toEqual(want);
          });
          expect(frames.map((f) => f.page)).toEqual(frames.map((_, i) => i));
          expect(frames.slice(0, -1).every((f) => f.more === true)).toBe(true);
          const last = frames.at(-1);
          expect(partial).toBe(items.length > maxItems);
          if (partial)
            expect(last).toMatchObject({
              complete: false,
              nextToken: encodeToken(key, String(expected.at(-1)?.itemId)),
            });
          else expect(last).toMatchObject({ complete: true });
        },
      ),
      { numRuns: 300 },
    );
  });
});
