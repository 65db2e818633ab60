import type { IncomingMessage } from 'node:http';

/**
 * Reads a request body of at most `maxBytes`. A larger one (declared by content-length, or counted as a chunked
 * body arrives) rejects with `tooLarge()` at once; the rest is drained rather than buffered, so the server can
 * still answer on the connection. A client that goes away mid-body rejects too, rather than leave the request
 * hanging.
 */
export function readRequestBody(req: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let overflowed = false;
    req.on('data', (chunk: Buffer) => {
      if (overflowed) return;
      size += chunk.length;
      if (size > maxBytes) {
        overflowed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!overflowed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', reject);
    // An aborted upload may close without 'error'.
    req.on('close', () => {
      if (!req.complete) reject(new Error('request aborted'));
    });
  });
}
