import type { ServerMessage } from '@real-time-platform/protocol';

/** Server → client frames as the server encodes them. Their shapes are in the protocol package. */

/** A message as the UTF-8 bytes posted to a connection. */
export function encodeMessage(message: ServerMessage): Uint8Array {
  return Buffer.from(JSON.stringify(message), 'utf8');
}
