/** Escapes text for an XML element or attribute. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** A tree of elements as S3 writes them: nested objects, arrays for repeated elements, scalars as text. */
export type XmlValue = string | number | boolean | undefined | XmlNode | XmlNode[];
export interface XmlNode {
  [element: string]: XmlValue | XmlValue[];
}

function render(name: string, value: XmlValue | XmlValue[]): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item) => render(name, item)).join('');
  if (typeof value === 'object') {
    const inner = Object.entries(value)
      .map(([child, v]) => render(child, v))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${xmlEscape(String(value))}</${name}>`;
}

/** A complete XML document with a namespace (S3's unless another service's is given) on its root element. */
export function xmlDocument(
  root: string,
  body: XmlNode,
  namespace = 'http://s3.amazonaws.com/doc/2006-03-01/',
): string {
  const inner = Object.entries(body)
    .map(([name, value]) => render(name, value))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${namespace}">${inner}</${root}>`;
}

/** S3's error document (no namespace, as S3 sends it). */
export function errorDocument(code: string, message: string, extra: Record<string, string>): string {
  const fields = Object.entries(extra)
    .map(([name, value]) => render(name, value))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>${fields}</Error>`;
}

function xmlUnescape(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[entity] ?? '';
  });
}

/** The text of every `<name>…</name>` inside each `<block>…</block>` of a request body (the bodies S3 takes are flat). */
export function xmlBlocks(xml: string, block: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const blockPattern = new RegExp(`<${block}(?:\\s[^>]*)?>([\\s\\S]*?)</${block}>`, 'g');
  for (const match of xml.matchAll(blockPattern)) {
    const fields: Record<string, string> = {};
    for (const field of (match[1] ?? '').matchAll(/<([A-Za-z0-9]+)(?:\s[^>]*)?>([\s\S]*?)<\/\1>/g)) {
      if (field[1]) fields[field[1]] = xmlUnescape(field[2] ?? '');
    }
    out.push(fields);
  }
  return out;
}
