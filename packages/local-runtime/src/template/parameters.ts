import { show, TemplateError } from './errors';

/** Resolved template parameters: `values` as strings (for the model), `refValues` as Ref sees them (lists split). */
export interface ResolvedParameters {
  values: Record<string, string>;
  refValues: Record<string, string | string[]>;
}

/** Applies defaults and overrides, then checks each value the way CloudFormation would before a deploy. */
export function resolveParameters(
  declared: Record<string, Record<string, unknown>>,
  overrides: Record<string, string>,
): ResolvedParameters {
  for (const name of Object.keys(overrides)) {
    if (!(name in declared)) {
      throw new TemplateError(
        `Parameter override ${name} does not exist in the template (known: ${Object.keys(declared).join(', ') || 'none'}).`,
        name,
      );
    }
  }
  const values: Record<string, string> = {};
  const refValues: Record<string, string | string[]> = {};
  for (const [name, definition] of Object.entries(declared)) {
    const type = String(definition.Type ?? 'String');
    const raw = overrides[name] ?? definition.Default;
    if (raw === undefined || raw === null) {
      throw new TemplateError(
        `Parameter ${name} has no Default; pass a value with --parameter-overrides ${name}=<value>.`,
        name,
      );
    }
    if (type.startsWith('AWS::SSM::Parameter::Value') && overrides[name] === undefined) {
      throw new TemplateError(
        `Parameter ${name} is read from SSM Parameter Store, which does not exist locally; pass --parameter-overrides ${name}=<value>.`,
        name,
      );
    }
    const value = Array.isArray(raw) ? raw.map(String).join(',') : String(raw);
    checkConstraints(name, type, value, definition);
    values[name] = value;
    const isList = type === 'CommaDelimitedList' || type.startsWith('List<');
    refValues[name] = isList ? value.split(',').map((item) => item.trim()) : value;
  }
  return { values, refValues };
}

function checkConstraints(name: string, type: string, value: string, definition: Record<string, unknown>): void {
  const fail = (why: string) =>
    new TemplateError(
      `Parameter ${name}=${JSON.stringify(value)} ${why}. Pass another value with --parameter-overrides.`,
      name,
    );
  const allowed = definition.AllowedValues;
  if (Array.isArray(allowed) && !allowed.map(String).includes(value)) {
    throw fail(`is not one of the AllowedValues (${allowed.map(String).join(', ')})`);
  }
  if (typeof definition.AllowedPattern === 'string') {
    // CloudFormation matches the whole value against the pattern.
    const pattern = new RegExp(`^(?:${definition.AllowedPattern})$`);
    if (!pattern.test(value)) {
      // As CloudFormation does, the template's ConstraintDescription (the reason in words) replaces the pattern.
      const reason = definition.ConstraintDescription;
      throw fail(
        typeof reason === 'string' && reason.trim() !== ''
          ? `is refused: it ${reason.trim()}`
          : `does not match the AllowedPattern ${definition.AllowedPattern}`,
      );
    }
  }
  if (definition.MinLength !== undefined && value.length < Number(definition.MinLength)) {
    throw fail(`is shorter than MinLength ${show(definition.MinLength)}`);
  }
  if (definition.MaxLength !== undefined && value.length > Number(definition.MaxLength)) {
    throw fail(`is longer than MaxLength ${show(definition.MaxLength)}`);
  }
  if (type === 'Number' || type === 'List<Number>') {
    for (const item of value.split(',')) {
      const number = Number(item.trim());
      if (item.trim() === '' || !Number.isFinite(number)) throw fail('is not a number');
      if (definition.MinValue !== undefined && number < Number(definition.MinValue)) {
        throw fail(`is below MinValue ${show(definition.MinValue)}`);
      }
      if (definition.MaxValue !== undefined && number > Number(definition.MaxValue)) {
        throw fail(`is above MaxValue ${show(definition.MaxValue)}`);
      }
    }
  }
}
