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
