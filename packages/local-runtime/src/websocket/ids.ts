import { randomBytes } from 'node:crypto';

// API Gateway's connection, request and message ids are 11 bytes of base64 with one "=" of padding
// (e.g. "R1kmxc2VNjMCFIA=", "JC1dgf9yoAMCK-g="). The URL-safe alphabet keeps them usable in the
// @connections path without escaping, as AWS's own ids are. Drawing from a pool keeps the per-message
// cost to a slice instead of a crypto call.
const ID_BYTES = 11;
const POOL_BYTES = ID_BYTES * 1024;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

/** A fresh id shaped like API Gateway's WebSocket ids (16 characters ending in "="). */
export function awsStyleId(): string {
  if (offset + ID_BYTES > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const id = `${pool.toString('base64url', offset, offset + ID_BYTES)}=`;
  offset += ID_BYTES;
  return id;
}

/** An X-Amzn-Trace-Id value ("Root=1-{epoch hex}-{24 hex}") like the one API Gateway adds to $connect. */
export function traceId(epochMs: number): string {
  const seconds = Math.floor(epochMs / 1000).toString(16);
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')}`;
}
