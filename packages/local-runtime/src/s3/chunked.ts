import { Transform, type TransformCallback } from 'node:stream';

/**
 * Strips the `aws-chunked` framing the SDKs and the CLI use for streamed uploads (SigV4 streaming, or unsigned
 * payloads with a checksum trailer): `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0…\r\n[trailers]\r\n`.
 * Signatures and trailing checksums are not verified: the local S3 accepts any signature.
 */
export class AwsChunkedDecoder extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes of chunk data still to pass through, then the CRLF after it. */
  private remaining = 0;
  private state: 'header' | 'data' | 'data-crlf' | 'trailer' = 'header';
  private finished = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (!this.finished) {
      callback(new Error('the aws-chunked body ended before its final 0-size chunk'));
      return;
    }
    callback();
  }

  private drain(): void {
    while (this.buffer.length > 0 && !this.finished) {
      if (this.state === 'header') {
        const end = this.buffer.indexOf('\r\n');
        if (end < 0) {
          if (this.buffer.length > 4096) throw new Error('an aws-chunked chunk header is longer than 4 KB');
          return;
        }
        const line = this.buffer.subarray(0, end).toString('latin1');
        this.buffer = this.buffer.subarray(end + 2);
        const size = Number.parseInt(line.split(';')[0] ?? '', 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`invalid aws-chunked chunk header ${line}`);
        if (size === 0) {
          // Trailers (x-amz-checksum-…, x-amz-trailer-signature) follow the last chunk; nothing of them is stored.
          this.state = 'trailer';
          this.finished = true;
          this.buffer = Buffer.alloc(0);
          return;
        }
        this.remaining = size;
        this.state = 'data';
      } else if (this.state === 'data') {
        const take = Math.min(this.remaining, this.buffer.length);
        this.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-crlf';
      } else if (this.state === 'data-crlf') {
        if (this.buffer.length < 2) return;
        this.buffer = this.buffer.subarray(2);
        this.state = 'header';
      } else {
        return;
      }
    }
  }
}
