import type { CfnTemplate } from './cfn-yaml';
import { TemplateError } from './errors';

/** What `!Ref AWS::NoValue` resolves to: the enclosing property or list element is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** How Ref and GetAtt of resources resolve; the model builder supplies local, AWS-looking values. */
export interface ResourceResolver {
  /** The Ref value of a resource, or undefined when the template has no such (active) resource. */
  ref(logicalId: string): unknown;
  /** The value of GetAtt, or undefined when the resource or attribute is unknown. */
  getAtt(logicalId: string, attribute: string): unknown;
}

type Json = unknown;

/** Evaluates CloudFormation intrinsic functions and conditions against resolved parameters. */
export class IntrinsicResolver {
  private readonly conditionCache = new Map<string, boolean>();
  private readonly evaluating = new Set<string>();

  constructor(
    private readonly template: CfnTemplate,
    /** Parameters and pseudo parameters (AWS::Region …); lists for CommaDelimitedList / List<…> types. */
    private readonly parameters: Record<string, string | string[]>,
    private readonly resources: ResourceResolver,
  ) {}

  /** Resolves every intrinsic in `value`; `where` names the place for error messages. */
  resolve(value: Json, where: string): unknown {
    if (Array.isArray(value)) {
      return value.map((item, i) => this.resolve(item, `${where}[${i}]`)).filter((item) => item !== NO_VALUE);
    }
    if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, Json>);
      const [first] = entries;
      if (entries.length === 1 && first && isIntrinsicName(first[0])) {
        return this.evaluate(first[0], first[1], where);
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) {
        const resolved = this.resolve(item, `${where}.${key}`);
        if (resolved !== NO_VALUE) out[key] = resolved;
      }
      return out;
    }
    return value;
  }

  /** Resolves a value that must end up a string (numbers and booleans are stringified as CloudFormation does). */
  resolveString(value: Json, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new TemplateError(`${where} must be a string, but it resolves to ${describe(resolved)}.`);
  }

  /** The value of a named condition in the Conditions section. */
  condition(name: string, where = `Conditions.${name}`): boolean {
    const cached = this.conditionCache.get(name);
    if (cached !== undefined) return cached;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) {
      throw new TemplateError(
        `${where} refers to the condition ${name}, which is not in the Conditions section.`,
        name,
      );
    }
    if (this.evaluating.has(name)) {
      throw new TemplateError(`The condition ${name} depends on itself.`, name);
    }
    this.evaluating.add(name);
    try {
      const value = this.resolve(definition, `Conditions.${name}`);
      if (typeof value !== 'boolean') {
        throw new TemplateError(
          `The condition ${name} must be built from Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition.`,
          name,
        );
      }
      this.conditionCache.set(name, value);
      return value;
    } finally {
      this.evaluating.delete(name);
    }
  }

  private evaluate(fn: string, arg: Json, where: string): unknown {
    const at = `${where} (${fn})`;
    switch (fn) {
      case 'Ref':
        return this.ref(this.resolveString(arg, at), at);
      case 'Condition':
        return this.condition(this.resolveString(arg, at), at);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = this.getAttParts(arg, at);
        return this.getAtt(logicalId, attribute, at);
      }
      case 'Fn::Sub':
        return this.sub(arg, at);
      case 'Fn::Join': {
        const [delimiter, list] = expectList(arg, 2, at);
        const items = this.resolve(list, at);
        if (!Array.isArray(items)) throw new TemplateError(`${at}: the second argument must be a list.`);
        return items.map((item, i) => this.stringOf(item, `${at}[${i}]`)).join(this.resolveString(delimiter, at));
      }
      case 'Fn::Select': {
        const [index, list] = expectList(arg, 2, at);
        const items = this.resolve(list, at);
        const i = Number(this.resolve(index, at));
        if (!Array.isArray(items) || !Number.isInteger(i) || i < 0 || i >= items.length) {
          throw new TemplateError(`${at}: index ${String(i)} is out of range of ${describe(items)}.`);
        }
        return items[i];
      }
      case 'Fn::Split': {
        const [delimiter, source] = expectList(arg, 2, at);
        return this.resolveString(source, at).split(this.resolveString(delimiter, at));
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = expectList(arg, 3, at);
        return this.condition(this.resolveString(name, at), at)
          ? this.resolve(whenTrue, `${where}[true]`)
          : this.resolve(whenFalse, `${where}[false]`);
      }
      case 'Fn::Equals': {
        const [a, b] = expectList(arg, 2, at);
        return comparable(this.resolve(a, at)) === comparable(this.resolve(b, at));
      }
      case 'Fn::Not': {
        const [operand] = expectList(arg, 1, at);
        return !this.booleanOf(operand, at);
      }
      case 'Fn::And':
      case 'Fn::Or': {
        if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) {
          throw new TemplateError(`${at} takes a list of 2 to 10 conditions.`);
        }
        const values = arg.map((operand) => this.booleanOf(operand, at));
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Fn::FindInMap':
        return this.findInMap(arg, at);
      case 'Fn::Base64':
        return Buffer.from(this.resolveString(arg, at), 'utf8').toString('base64');
      case 'Fn::GetAZs': {
        const region = this.resolveString(arg, at) || this.parameters['AWS::Region'];
        return ['a', 'b', 'c'].map((zone) => `${String(region)}${zone}`);
      }
      case 'Fn::Length': {
        const items = this.resolve(arg, at);
        if (!Array.isArray(items)) throw new TemplateError(`${at} takes a list.`);
        return items.length;
      }
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolve(arg, at));
      case 'Fn::ImportValue':
        throw new TemplateError(
          `${at} imports an export of another stack, which does not exist locally. ` +
            'Pass the value as a template parameter (--parameter-overrides) instead of Fn::ImportValue.',
        );
      default:
        throw new TemplateError(`${at}: the local runtime cannot evaluate ${fn}. Use a parameter instead.`);
    }
  }

  private ref(name: string, at: string): unknown {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const parameter = this.parameters[name];
    if (parameter !== undefined) return parameter;
    const value = this.resources.ref(name);
    if (value !== undefined) return value;
    throw new TemplateError(`${at}: ${name} is neither a parameter nor an active resource of the template.`, name);
  }

  private getAtt(logicalId: string, attribute: string, at: string): unknown {
    const value = this.resources.getAtt(logicalId, attribute);
    if (value !== undefined) return value;
    throw new TemplateError(
      `${at}: ${logicalId}.${attribute} cannot be resolved locally (unknown resource, inactive resource or attribute).`,
      logicalId,
    );
  }

  private getAttParts(arg: Json, at: string): [string, string] {
    if (typeof arg === 'string') {
      // Attribute names may contain dots (Endpoint.Address): split at the first one only.
      const dot = arg.indexOf('.');
      if (dot > 0) return [arg.slice(0, dot), arg.slice(dot + 1)];
    } else if (Array.isArray(arg) && arg.length === 2) {
      return [this.resolveString(arg[0], at), this.resolveString(arg[1], at)];
    }
    throw new TemplateError(`${at} takes "Resource.Attribute" or [Resource, Attribute].`);
  }

  private sub(arg: Json, at: string): string {
    let text: string;
    let variables: Record<string, unknown> = {};
    if (typeof arg === 'string') {
      text = arg;
    } else if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string') {
      text = arg[0];
      const resolved = this.resolve(arg[1], at);
      if (resolved === null || typeof resolved !== 'object' || Array.isArray(resolved)) {
        throw new TemplateError(`${at}: the second argument must be a mapping of variables.`);
      }
      variables = resolved as Record<string, unknown>;
    } else {
      throw new TemplateError(`${at} takes a string or [string, {variables}].`);
    }
    return text.replace(/\$\{([^}]*)\}/g, (_match, inner: string) => {
      // ${!Literal} is CloudFormation's escape for a literal ${Literal}.
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      if (Object.hasOwn(variables, name)) return this.stringOf(variables[name], `${at} \${${name}}`);
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const dot = name.indexOf('.');
        return this.stringOf(this.getAtt(name.slice(0, dot), name.slice(dot + 1), at), `${at} \${${name}}`);
      }
      return this.stringOf(this.ref(name, at), `${at} \${${name}}`);
    });
  }

  private findInMap(arg: Json, at: string): unknown {
    if (!Array.isArray(arg) || arg.length < 3) throw new TemplateError(`${at} takes [MapName, TopKey, SecondKey].`);
    const [mapName, topKey, secondKey] = [0, 1, 2].map((i) => this.resolveString(arg[i], at));
    const value = this.template.Mappings?.[mapName ?? '']?.[topKey ?? '']?.[secondKey ?? ''];
    if (value !== undefined) return this.resolve(value, at);
    const fallback = arg[3] as { DefaultValue?: unknown } | undefined;
    if (fallback && typeof fallback === 'object' && 'DefaultValue' in fallback) {
      return this.resolve(fallback.DefaultValue, at);
    }
    throw new TemplateError(`${at}: Mappings.${mapName}.${topKey}.${secondKey} does not exist.`);
  }

  private booleanOf(value: Json, at: string): boolean {
    const resolved = this.resolve(value, at);
    if (typeof resolved === 'boolean') return resolved;
    if (resolved === 'true' || resolved === 'false') return resolved === 'true';
    throw new TemplateError(`${at} expects a condition, got ${describe(resolved)}.`);
  }

  private stringOf(value: unknown, at: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new TemplateError(`${at} must resolve to a string, got ${describe(value)}.`);
  }
}

function isIntrinsicName(key: string): boolean {
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::');
}

function expectList(arg: Json, length: number, at: string): Json[] {
  if (!Array.isArray(arg) || arg.length !== length) {
    throw new TemplateError(`${at} takes a list of ${length} argument${length === 1 ? '' : 's'}.`);
  }
  return arg;
}

/** Fn::Equals compares values as CloudFormation sees them: "8" equals 8. */
function comparable(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function describe(value: unknown): string {
  if (value === NO_VALUE) return 'AWS::NoValue';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value)})`;
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? `an object (${JSON.stringify(value)})` : JSON.stringify(value);
}
