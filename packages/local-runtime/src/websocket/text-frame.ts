/**
 * One server → client text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked) written from the pieces a posted body
 * arrived in, without joining them first. An @connections POST of 100 KB arrives as two or more socket reads; joining
 * them made a copy of every message, garbage by the megabyte when large items are fanned out (docs/reliability.md,
 * backpressure). The client sees the same single frame `ws.send` would have written.
 *
 * The frame is written to the connection's socket under one cork, in one tick, exactly as ws's own sender writes a
 * header and its payload, so nothing ws sends (a pong, a close frame) can land inside it. That holds because the
 * gateway negotiates no compression and sends no Blobs, the only cases in which ws queues a message for later.
 */
import type { Duplex } from 'node:stream';

const FIN_TEXT = 0x81;

/** The frame header for a text payload of `length` bytes, sent unmasked as a server must. */
export function textFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([FIN_TEXT, length]);
  if (length <= 0xffff) {
    const header = Buffer.allocUnsafe(4);
    header[0] = FIN_TEXT;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.allocUnsafe(10);
  header[0] = FIN_TEXT;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

/** Writes `chunks` (`size` bytes in all) to `socket` as one text frame. */
export function writeTextFrame(socket: Duplex, chunks: readonly Buffer[], size: number): void {
  socket.cork();
  socket.write(textFrameHeader(size));
  for (const chunk of chunks) socket.write(chunk);
  socket.uncork();
}
