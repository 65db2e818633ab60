/**
 * What the benchmark's clients read from a WebSocket message: the item deliveries it carries — the frame itself, or
 * each element of a `batch` frame. Lone item frames are read without JSON.parse (the clients share the CPU with the
 * runtime they measure); batches are parsed, once per message.
 */

export interface Delivery {
  itemId: string;
  /** The change's stream sequence number. */
  seq: string;
  /** The `sentAt` the writer put in the item (epoch ms). */
  sentAt: number;
  /** The writer's counter `n`, when the item has one. */
  n?: number;
  /** `conflated` of the frame: older changes of the item it replaced. */
  conflated?: number;
}

/** The item deliveries in one WebSocket message (none for snapshots, pongs …). */
export function deliveriesIn(text: string): Delivery[] {
  if (text.startsWith('{"type":"item"')) {
    const itemId = stringAfter(text, '"itemId":"');
    const seq = stringAfter(text, '"seq":"');
    if (itemId === undefined || seq === undefined) return [];
    const n = numberAfter(text, '"n":');
    const conflated = numberAfter(text, '"conflated":');
    return [
      {
        itemId,
        seq,
        sentAt: numberAfter(text, '"sentAt":') ?? Number.NaN,
        ...(n === undefined ? {} : { n }),
        ...(conflated === undefined ? {} : { conflated }),
      },
    ];
  }
  if (!text.startsWith('{"type":"batch"')) return [];
  const batch = JSON.parse(text) as {
    messages: { type: string; itemId?: string; seq?: string; conflated?: number; item?: Record<string, unknown> }[];
  };
  const deliveries: Delivery[] = [];
  for (const frame of batch.messages) {
    if (frame.type !== 'item' || typeof frame.itemId !== 'string' || typeof frame.seq !== 'string') continue;
    const n = frame.item?.n;
    deliveries.push({
      itemId: frame.itemId,
      seq: frame.seq,
      sentAt: typeof frame.item?.sentAt === 'number' ? frame.item.sentAt : Number.NaN,
      ...(typeof n === 'number' ? { n } : {}),
      ...(typeof frame.conflated === 'number' ? { conflated: frame.conflated } : {}),
    });
  }
  return deliveries;
}

function stringAfter(text: string, marker: string): string | undefined {
  const at = text.indexOf(marker);
  if (at < 0) return undefined;
  const start = at + marker.length;
  return text.slice(start, text.indexOf('"', start));
}

function numberAfter(text: string, marker: string): number | undefined {
  const at = text.indexOf(marker);
  if (at < 0) return undefined;
  // A number with more than 15 significant digits reaches the client as a string: skip the quote if so.
  const start = at + marker.length + (text.charAt(at + marker.length) === '"' ? 1 : 0);
  let end = start;
  while (end < text.length && '0123456789.-e+'.includes(text.charAt(end))) end++;
  return end > start ? Number(text.slice(start, end)) : undefined;
}
