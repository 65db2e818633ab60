import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import * as ws from 'ws';
import { textFrameHeader, writeTextFrame } from '../../src/websocket/text-frame';

// The reference is ws itself: what its sender writes for the joined payload (the gateway's path before this writer),
// byte for byte. ws exports its Sender without types.
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};
const wsFrame = (payload: Buffer) =>
  Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));

/** What writeTextFrame puts on a socket. */
function written(chunks: Buffer[]): Buffer {
  const socket = new PassThrough();
  const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  writeTextFrame(socket, chunks, size);
  socket.end();
  return socket.read() ?? Buffer.alloc(0);
}

test.each([0, 1, 125, 126, 127, 65_535, 65_536, 131_072, 1_048_576])(
  'the header for a %i-byte payload is the one ws writes',
  (length) => {
    const payload = Buffer.alloc(length, 'a');
    // Buffer.equals: jest's toEqual compares a megabyte byte by byte, in seconds.
    expect(Buffer.concat([textFrameHeader(length), payload]).equals(wsFrame(payload))).toBe(true);
  },
);

test('a payload in any number of pieces, cut anywhere (inside a UTF-8 character too), is written as ws writes it whole', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'grapheme', maxLength: 3000 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (text, cuts) => {
        const payload = Buffer.from(text);
        const points = [...new Set(cuts.map((cut) => cut % (payload.length + 1)))].sort((a, b) => a - b);
        const chunks = [...points, payload.length].map((end, i) => payload.subarray(i === 0 ? 0 : points[i - 1], end));
        expect(written(chunks).equals(wsFrame(payload))).toBe(true);
      },
    ),
    { numRuns: 500 },
  );
});

test('a 128 KB message in 64 KB reads is one frame: FIN set, opcode text, the whole length in the header', () => {
  const payload = Buffer.alloc(128 * 1024, 'z');
  const bytes = written([payload.subarray(0, 65_536), payload.subarray(65_536)]);

  expect(bytes[0]).toBe(0x81);
  expect(bytes[1]).toBe(127);
  expect(bytes.readBigUInt64BE(2)).toBe(BigInt(payload.length));
  expect(bytes.length).toBe(10 + payload.length);
});
