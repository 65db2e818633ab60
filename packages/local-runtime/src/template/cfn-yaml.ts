import { readFileSync } from 'node:fs';
import {
  type CollectionTag,
  isMap,
  isScalar,
  LineCounter,
  parseDocument,
  type ScalarTag,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { TemplateError } from './errors';

/** A CloudFormation template as plain data; short tags are turned into their long JSON forms. */
export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Transform?: unknown;
  Parameters?: Record<string, Record<string, unknown>>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Globals?: Record<string, Record<string, unknown>>;
  Resources?: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
}

export interface CfnResource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  [attribute: string]: unknown;
}

/** Short tag → long form key, e.g. !Ref → Ref, !Sub → Fn::Sub. */
const SHORT_TAGS: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  Sub: 'Fn::Sub',
  GetAtt: 'Fn::GetAtt',
  Join: 'Fn::Join',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  FindInMap: 'Fn::FindInMap',
  Base64: 'Fn::Base64',
  GetAZs: 'Fn::GetAZs',
  ImportValue: 'Fn::ImportValue',
  Cidr: 'Fn::Cidr',
  Length: 'Fn::Length',
  ToJsonString: 'Fn::ToJsonString',
  Transform: 'Fn::Transform',
};

// Each tag may be written on a scalar (`!Ref X`), a sequence (`!If [...]`) or a mapping; the yaml package picks a
// tag definition by node kind, so every short tag is registered three times.
const customTags = Object.entries(SHORT_TAGS).flatMap(([short, long]): (ScalarTag | CollectionTag)[] => {
  const scalar: ScalarTag = { tag: `!${short}`, resolve: (value: string) => ({ [long]: value }) };
  const collection = (kind: 'seq' | 'map'): CollectionTag => ({
    tag: `!${short}`,
    collection: kind,
    resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [long]: node.toJSON() }),
  });
  return [scalar, collection('seq'), collection('map')];
});

/** Where each resource and parameter is written (`file:line`), for messages about it. */
const locations = new WeakMap<CfnTemplate, Map<string, string>>();

/** `template.yaml:42` for a resource or parameter of a parsed template, when known. */
export function locationOf(template: CfnTemplate, logicalId: string): string | undefined {
  return locations.get(template)?.get(logicalId);
}

/** Parses CloudFormation YAML (or JSON) text, short tags included. */
export function parseCfnTemplate(text: string, fileName = 'template.yaml'): CfnTemplate {
  const lineCounter = new LineCounter();
  // uniqueKeys: CloudFormation rejects duplicate keys, and a silently dropped one would be a confusing local bug.
  const document = parseDocument(text, { customTags, uniqueKeys: true, prettyErrors: false, lineCounter });
  const [problem] = document.errors;
  if (problem) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    throw new TemplateError(`${fileName}:${line}:${col}: not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  let doc: unknown;
  try {
    doc = document.toJS();
  } catch (error) {
    throw new TemplateError(`${fileName} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TemplateError(`${fileName} is not a CloudFormation template (expected a mapping at the top level).`);
  }
  const template = doc as CfnTemplate;
  if (!template.Resources || typeof template.Resources !== 'object') {
    throw new TemplateError(`${fileName} has no Resources section.`);
  }
  const where = new Map<string, string>();
  for (const section of ['Parameters', 'Resources']) {
    const node = document.get(section, true);
    if (!isMap(node)) continue;
    for (const pair of node.items) {
      if (isScalar(pair.key) && pair.key.range) {
        where.set(String(pair.key.value), `${fileName}:${lineCounter.linePos(pair.key.range[0]).line}`);
      }
    }
  }
  locations.set(template, where);
  return template;
}

/** Reads and parses a template file. */
export function readCfnTemplate(path: string): CfnTemplate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TemplateError(
      `Cannot read the template ${path}: ${error instanceof Error ? error.message : String(error)}. Pass --template <path>.`,
    );
  }
  return parseCfnTemplate(text, path);
}
