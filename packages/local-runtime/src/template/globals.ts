type Props = Record<string, unknown>;

function isIntrinsic(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || String(keys[0]).startsWith('Fn::'));
}

/** SAM's Globals rules: maps merge (the resource wins per key), lists concatenate, scalars are replaced. */
export function mergeGlobals(global: unknown, local: unknown): unknown {
  if (local === undefined) return global;
  if (global === undefined) return local;
  if (Array.isArray(global) && Array.isArray(local)) return [...global, ...local];
  const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v) && !isIntrinsic(v);
  if (isMap(global) && isMap(local)) {
    const out: Record<string, unknown> = { ...(global as Props) };
    for (const [key, value] of Object.entries(local as Props)) out[key] = mergeGlobals(out[key], value);
    return out;
  }
  return local;
}
