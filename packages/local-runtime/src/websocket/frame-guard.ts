/**
 * Watches the raw bytes a client sends and reports the first data frame whose payload is larger than the
 * frame limit. `ws` only enforces a per-message limit (maxPayload), while API Gateway also limits single
 * frames (32 KB), so this reads just the frame headers and skips over payloads without copying them.
 */
export class FrameSizeGuard {
  private readonly header = Buffer.alloc(14);
  private have = 0;
  private need = 2;
  private skip = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds one chunk from the socket; false once a data frame over the limit has been seen. */
  feed(chunk: Buffer): boolean {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      this.header[this.have++] = chunk[i++] as number;
      if (this.have < this.need) continue;
      const second = this.header[1] as number;
      const len7 = second & 0x7f;
      if (this.have === 2) {
        this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((second & 0x80) !== 0 ? 4 : 0);
        if (this.need > 2) continue;
      }
      const payload =
        len7 === 126
          ? this.header.readUInt16BE(2)
          : len7 === 127
            ? this.header.readUInt32BE(2) * 2 ** 32 + this.header.readUInt32BE(6)
            : len7;
      const opcode = (this.header[0] as number) & 0x0f;
      // Control frames (opcode >= 8) are capped at 125 bytes by the protocol itself.
      if (opcode < 8 && payload > this.maxFrameBytes) return false;
      this.skip = payload;
      this.have = 0;
      this.need = 2;
    }
    return true;
  }
}
