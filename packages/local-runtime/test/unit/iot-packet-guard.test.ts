import fc from 'fast-check';
import { MqttPacketSizeGuard } from '../../src/iot/broker';

/** An MQTT packet with the given type byte and body length, remaining length encoded as MQTT does. */
function packet(typeByte: number, bodyLength: number): Buffer {
  const length: number[] = [];
  let x = bodyLength;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    length.push(byte);
  } while (x > 0);
  return Buffer.concat([Buffer.from([typeByte, ...length]), Buffer.alloc(bodyLength, 0x61)]);
}

/** Splits bytes at the given cut points, as TCP may. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function feedAll(guard: MqttPacketSizeGuard, chunks: Buffer[]): string | undefined {
  let result: string | undefined;
  for (const chunk of chunks) result = guard.feed(chunk);
  return result;
}

describe('MqttPacketSizeGuard', () => {
  it('passes packets up to the limit, one- to four-byte remaining lengths', () => {
    const guard = new MqttPacketSizeGuard(20_000);
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 20_000]) {
      expect(guard.feed(packet(0x30, size))).toBeUndefined();
    }
  });

  it('refuses the first packet over the limit, and stays refused', () => {
    const guard = new MqttPacketSizeGuard(1000);
    expect(guard.feed(packet(0x30, 1000))).toBeUndefined();
    expect(guard.feed(packet(0x30, 1001).subarray(0, 3))).toMatch(/1001-byte packet is over the 1000-byte limit/);
    expect(guard.feed(packet(0x30, 1))).toMatch(/1001-byte packet/);
  });

  it('refuses a remaining length longer than four bytes', () => {
    expect(new MqttPacketSizeGuard(1000).feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toMatch(
      /malformed remaining length/,
    );
  });

  it('gives the same answer however the bytes are split into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (sizes, cuts) => {
          const bytes = Buffer.concat(sizes.map((size) => packet(0x32, size)));
          const expected = sizes.some((size) => size > 2000) ? 'refused' : 'passed';
          const whole = new MqttPacketSizeGuard(2000).feed(bytes);
          const chunked = feedAll(new MqttPacketSizeGuard(2000), split(bytes, cuts));
          expect(whole === undefined ? 'passed' : 'refused').toBe(expected);
          expect(chunked).toBe(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
