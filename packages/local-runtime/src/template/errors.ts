/**
 * Raised when template.yaml cannot run locally. The message names the resource (or parameter) and the fix, so the
 * CLI can print it as is and exit non-zero.
 */
export class TemplateError extends Error {
  override name = 'TemplateError';
  /** The logical id of the resource or parameter at fault, when there is one. */
  readonly resource: string | undefined;

  constructor(message: string, resource?: string) {
    super(message);
    this.resource = resource;
  }
}

/** A template value for an error message. Not String(): YAML can yield objects without a prototype, and it throws. */
export function show(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
