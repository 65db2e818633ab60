import { Readable } from 'node:stream';
import fc from 'fast-check';
import { eventKey, eventMatches, keyToRelativePath, relativePathToKey } from '../../src/s3';
import { AwsChunkedDecoder } from '../../src/s3/chunked';

async function decode(pieces: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(pieces).pipe(new AwsChunkedDecoder())) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

function frame(chunks: Buffer[], signed: boolean): Buffer {
  const ext = signed ? `;chunk-signature=${'a'.repeat(64)}` : '';
  const parts = chunks.flatMap((chunk) => [
    Buffer.from(`${chunk.length.toString(16)}${ext}\r\n`),
    chunk,
    Buffer.from('\r\n'),
  ]);
  const trailer = signed ? '\r\n' : 'x-amz-checksum-crc32:AAAAAA==\r\n\r\n';
  return Buffer.concat([...parts, Buffer.from(`0${ext}\r\n${trailer}`)]);
}

test('aws-chunked framing is removed however the network splits it', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 5 }),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }),
      async (chunks, signed, cuts) => {
        const framed = frame(
          chunks.map((c) => Buffer.from(c)),
          signed,
        );
        const pieces: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < framed.length; i++) {
          const size = cuts[i % cuts.length] ?? 1;
          pieces.push(framed.subarray(at, at + size));
          at += size;
        }
        expect(await decode(pieces)).toEqual(Buffer.concat(chunks.map((c) => Buffer.from(c))));
      },
    ),
    { numRuns: 200 },
  );
});

test('a body cut before its last chunk, or with a garbage header, is an error', async () => {
  const framed = frame([Buffer.from('hello')], true);
  await expect(decode([framed.subarray(0, framed.length - 20)])).rejects.toThrow(/before its final 0-size chunk/);
  await expect(decode([Buffer.from('zz\r\nhello\r\n')])).rejects.toThrow(/invalid aws-chunked chunk header/);
});

test('keys map to paths inside their bucket and back; "." and ".." segments are refused', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ minLength: 0, maxLength: 12 }), { minLength: 1, maxLength: 5 }), (segments) => {
      const key = segments.join('/');
      fc.pre(key.length > 0 && !key.split('/').some((s) => s === '.' || s === '..'));
      const path = keyToRelativePath(key);
      expect(path.split('/').every((name) => name !== '' && name !== '.' && name !== '..')).toBe(true);
      expect(relativePathToKey(path)).toBe(key);
    }),
    { numRuns: 500 },
  );
  expect(keyToRelativePath('dir/')).toBe('dir/%');
  expect(keyToRelativePath('a:b/100%')).toBe('a%3Ab/100%25');
  for (const key of ['../x', 'a/../../x', 'a/./b', '..', '']) expect(() => keyToRelativePath(key)).toThrow();
});

test('event keys are form-URL-encoded as S3 writes them; event patterns match like S3', () => {
  expect(eventKey('incoming/my file (1).ndjson')).toBe('incoming/my+file+%281%29.ndjson');
  expect(eventKey('a+b=ü')).toBe('a%2Bb%3D%C3%BC');
  expect(eventMatches('s3:ObjectCreated:*', 'ObjectCreated:Put')).toBe(true);
  expect(eventMatches('s3:ObjectCreated:*', 'ObjectCreated:CompleteMultipartUpload')).toBe(true);
  expect(eventMatches('s3:ObjectCreated:Put', 'ObjectCreated:CompleteMultipartUpload')).toBe(false);
  expect(eventMatches('s3:ObjectCreated:*', 'ObjectRemoved:Delete')).toBe(false);
});
