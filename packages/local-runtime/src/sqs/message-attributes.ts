import { createHash } from 'node:crypto';

/** A message attribute as the SQS JSON API carries it (BinaryValue in base64). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** The MD5 of a message body, hex: SQS answers it and the SDKs compare it with what they sent. */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/**
 * MD5OfMessageAttributes as SQS computes it (and the SDKs check it): attributes sorted by name, each as
 * length-prefixed name, data type, a transport byte (1 string/number, 2 binary) and the length-prefixed value.
 */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const value = attributes[name] as MessageAttributeValue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(value.DataType, 'utf8'));
    if (value.DataType.startsWith('Binary')) {
      hash.update(Buffer.from([2]));
      field(Buffer.from(value.BinaryValue ?? '', 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      field(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}

/** Why a set of message attributes is refused (SQS's rules), or undefined when it is valid. */
export function messageAttributesProblem(attributes: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attributes);
  if (names.length > 10) return `Number of message attributes [${names.length}] exceeds the allowed maximum [10].`;
  for (const name of names) {
    const value = attributes[name] as MessageAttributeValue;
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
      return `Message attribute name '${name}' is invalid.`;
    }
    if (/^(aws\.|amazon\.)/i.test(name)) return `Message attribute name '${name}' uses a reserved prefix.`;
    if (typeof value?.DataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(value.DataType)) {
      return `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`;
    }
    const isBinary = value.DataType.startsWith('Binary');
    if (isBinary ? value.BinaryValue === undefined : value.StringValue === undefined) {
      return `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${value.DataType}'.`;
    }
    if (value.DataType.startsWith('Number') && !Number.isFinite(Number(value.StringValue))) {
      return `Can't cast the value of message attribute '${name}' to a number.`;
    }
  }
  return undefined;
}

/** The size SQS counts against the message limit: body plus each attribute's name, type and value. */
export function attributesSize(attributes: Record<string, MessageAttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size += value.BinaryValue !== undefined ? Buffer.from(value.BinaryValue, 'base64').length : 0;
    size += value.StringValue !== undefined ? Buffer.byteLength(value.StringValue) : 0;
  }
  return size;
}
