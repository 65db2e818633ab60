import { existsSync, statSync } from 'node:fs';
import { dirname, extname, relative, resolve } from 'node:path';
import { DEFAULT_REGION, functionArn, functionNameOfArn, LOCAL_ACCOUNT_ID, PARTITION } from '../arns';
import {
  type BucketSpec,
  type FunctionSpec,
  type LocalLogger,
  type PlatformModel,
  type SkippedPart,
  silentLogger,
  type TableSpec,
} from '../types';
import { type CfnResource, type CfnTemplate, locationOf, readCfnTemplate } from './cfn-yaml';
import type { TemplateContext } from './context';
import { composeEnvironment, DEFAULT_ENDPOINTS, type LocalEndpoints, readEnvJson } from './environment';
import { show, TemplateError } from './errors';
import { type FunctionEventsOut, functionEvents } from './events';
import { mergeGlobals } from './globals';
import { rawHttpApiRoutes } from './http-apis';
import { IntrinsicResolver, NO_VALUE, type ResourceResolver } from './intrinsics';
import { iotRules } from './iot-rules';
import { messagingModel } from './messaging';
import { resolveParameters } from './parameters';
import {
  apiGatewayChildId,
  apiGatewayId,
  generatedBucketName,
  generatedPhysicalName,
  PLACEHOLDER_STREAM_LABEL,
  seededUuid,
} from './physical-ids';
import { anyProperties, parseProperties, simpleTableProperties, tableProperties } from './schemas';
import { rawWebSocketApis, samWebSocketApis } from './websocket-apis';

export interface LoadPlatformModelOptions {
  templatePath: string;
  /** Parameter values that replace the template's defaults (like `--parameter-overrides`). */
  parameterOverrides?: Record<string, string>;
  /** AWS::Region; default us-east-1. */
  region?: string;
  /** AWS::AccountId; default 123456789012. */
  accountId?: string;
  /** AWS::StackName; default "local". */
  stackName?: string;
  /**
   * Put before every table's physical name (default none). Tables named in the template (`TableName`) are the same
   * for every runtime of one Environment: two runtimes on one DynamoDB Local would then stream each other's changes,
   * and each one's fan-out, finding the other's connections unknown to its gateway (410), would delete their rows.
   * Runtimes that must share a DynamoDB Local (test suites run in parallel) each take a prefix of their own. Names
   * written out in env.json (as SAM's `sam local` needs them) are taken as written, unprefixed.
   */
  tableNamePrefix?: string;
  /** SAM's env.json: `{ "<LogicalId>": {VAR: value}, "Parameters": {VAR: value} }`. */
  envJsonPath?: string;
  /** Local service endpoints; defaults are the documented ports (8000 and 3001). */
  endpoints?: LocalEndpoints;
  /** More variables forced into every function's environment (they win over the template and env.json). */
  extraEnvironment?: Record<string, string>;
  /**
   * Variables forced into single functions, by logical id (they win over the template, env.json and
   * extraEnvironment), e.g. `{JwtAuthorizerFunction: {JWT_SECRET: '…'}}`. Unlike env.json they need not be declared
   * in the template: they carry what only local runs have, such as a secret that lives in Secrets Manager on AWS.
   */
  functionEnvironment?: Record<string, Record<string, string>>;
  /**
   * Check that every function's entry file exists (default true). Tools that only read the model's shape, e.g.
   * tests of the template, may turn it off.
   */
  verifyEntryPoints?: boolean;
  logger?: LocalLogger;
}

const ENTRY_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** Resource types the runtime runs (or reads for what it runs). */
const RUN_LOCALLY = new Set([
  'AWS::Serverless::Function',
  'AWS::Lambda::Function',
  'AWS::DynamoDB::Table',
  'AWS::Serverless::SimpleTable',
  'AWS::SQS::Queue',
  'AWS::SNS::Topic',
  'AWS::SNS::Subscription',
  'AWS::S3::Bucket',
  'AWS::IoT::TopicRule',
  'AWS::Serverless::WebSocketApi',
  'AWS::Serverless::HttpApi',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Authorizer',
  'AWS::ApiGatewayV2::Stage',
  'AWS::ApiGatewayV2::Deployment',
]);
/** Types with nothing to run locally (permissions, logs, alarms, encryption, names): not worth a line at start. */
const INERT =
  /^AWS::(IAM|Logs|CloudWatch|KMS|SSM|SecretsManager|ApplicationAutoScaling|CloudFormation|XRay|Route53|CertificateManager)::|^AWS::Lambda::(Permission|Version|Alias|LayerVersion|LayerVersionPermission|EventInvokeConfig|Url)$|^AWS::Serverless::LayerVersion$|Policy$|^AWS::ApiGatewayV2::(DomainName|ApiMapping|RouteResponse|IntegrationResponse|Model)$|^AWS::ApiGateway::Account$/;

/** Where a function's code is and how it loads (the part of its spec that can make it unable to run locally). */
type FunctionCodeSpec = Pick<
  FunctionSpec,
  'handler' | 'entryPoint' | 'exportName' | 'runtime' | 'external' | 'buildMethod' | 'moduleFormat'
>;

/** Reads template.yaml (and env.json) and resolves it into the model the local runtime runs. */
export function loadPlatformModel(options: LoadPlatformModelOptions): PlatformModel {
  const templatePath = resolve(options.templatePath);
  return buildPlatformModel(readCfnTemplate(templatePath), { ...options, templatePath });
}

/** Same as loadPlatformModel, for a template already parsed (templatePath still anchors relative paths). */
export function buildPlatformModel(template: CfnTemplate, options: LoadPlatformModelOptions): PlatformModel {
  try {
    return new ModelBuilder(template, options).build();
  } catch (error) {
    // Said where the resource (or parameter) at fault is written: `template.yaml:42: Function X …`.
    const location =
      error instanceof TemplateError && error.resource ? locationOf(template, error.resource) : undefined;
    if (!location || !(error instanceof TemplateError)) throw error;
    throw new TemplateError(`${location}: ${error.message}`, error.resource);
  }
}

type Props = Record<string, unknown>;

class ModelBuilder implements TemplateContext {
  readonly logger: LocalLogger;
  private readonly root: string;
  private readonly region: string;
  private readonly accountId: string;
  readonly stackName: string;
  readonly resolver: IntrinsicResolver;
  private readonly parameters: Record<string, string>;
  readonly active = new Map<string, CfnResource>();
  private readonly skipped: SkippedPart[] = [];
  private readonly refCache = new Map<string, unknown>();
  private readonly refInProgress = new Set<string>();

  constructor(
    readonly template: CfnTemplate,
    private readonly options: LoadPlatformModelOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.root = dirname(resolve(options.templatePath));
    this.region = options.region ?? DEFAULT_REGION;
    this.accountId = options.accountId ?? LOCAL_ACCOUNT_ID;
    this.stackName = options.stackName ?? 'local';
    const { values, refValues } = resolveParameters(template.Parameters ?? {}, options.parameterOverrides ?? {});
    this.parameters = values;
    const pseudo: Record<string, string | string[]> = {
      'AWS::Region': this.region,
      'AWS::AccountId': this.accountId,
      'AWS::StackName': this.stackName,
      'AWS::StackId': `arn:${PARTITION}:cloudformation:${this.region}:${this.accountId}:stack/${this.stackName}/${seededUuid(this.stackName)}`,
      'AWS::Partition': PARTITION,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::NotificationARNs': [],
    };
    const resources: ResourceResolver = {
      ref: (id) => this.ref(id),
      getAtt: (id, attribute) => this.getAtt(id, attribute),
    };
    this.resolver = new IntrinsicResolver(template, { ...refValues, ...pseudo }, resources);
  }

  build(): PlatformModel {
    for (const [logicalId, resource] of Object.entries(this.template.Resources ?? {})) {
      if (!resource || typeof resource !== 'object' || typeof resource.Type !== 'string') {
        throw new TemplateError(`Resources.${logicalId} has no Type.`, logicalId);
      }
      if (resource.Condition !== undefined && !this.resolver.condition(show(resource.Condition))) {
        this.logger.debug(`${logicalId} skipped: its condition ${show(resource.Condition)} is false`);
        continue;
      }
      parseProperties(anyProperties, resource.Properties, `${logicalId}.Properties`, logicalId);
      this.active.set(logicalId, resource);
    }

    const functions = new Map<string, FunctionSpec>();
    const events: FunctionEventsOut = {
      streamSources: [],
      httpRoutes: [],
      schedules: [],
      sqsEvents: [],
      snsEvents: [],
      s3Events: [],
    };
    const tables: TableSpec[] = [];
    const buckets: BucketSpec[] = [];
    for (const [logicalId, resource] of this.active) {
      switch (resource.Type) {
        case 'AWS::Serverless::Function': {
          const props = this.functionProps(resource);
          functions.set(logicalId, this.functionSpec(logicalId, resource, props));
          functionEvents(this, logicalId, props, events);
          break;
        }
        case 'AWS::S3::Bucket':
          buckets.push({ logicalId, bucketName: this.bucketName(logicalId) });
          break;
        case 'AWS::DynamoDB::Table':
          tables.push(this.tableSpec(logicalId, resource));
          break;
        case 'AWS::Serverless::SimpleTable':
          tables.push(this.simpleTableSpec(logicalId, resource));
          break;
        case 'AWS::Lambda::Function': {
          // Kept as a function that cannot run, so that routes and events naming it still exist (and answer 500).
          const name = String(this.ref(logicalId));
          functions.set(
            logicalId,
            this.unavailableFunction(
              logicalId,
              name,
              resource.Type,
              'the local runtime builds functions from their source, so it runs AWS::Serverless::Function only; declare it as one with CodeUri and Handler',
            ),
          );
          break;
        }
        default:
          if (!RUN_LOCALLY.has(resource.Type) && !INERT.test(resource.Type)) {
            this.skip(logicalId, resource.Type, 'not emulated locally');
          }
          break;
      }
    }
    const webSocketApis = [...samWebSocketApis(this, functions), ...rawWebSocketApis(this, functions)];
    const httpRoutes = [...events.httpRoutes, ...rawHttpApiRoutes(this, functions)];
    const rules = iotRules(this, functions);
    const messaging = messagingModel(this, functions);
    const envJson = readEnvJson(this.options.envJsonPath);
    const endpoints = { ...DEFAULT_ENDPOINTS, ...this.options.endpoints };
    for (const spec of functions.values()) {
      spec.declaredVariables = Object.keys(spec.environment);
      spec.environment = composeEnvironment(spec, {
        envJson,
        region: this.region,
        endpoints,
        webSocketStage: webSocketApis[0]?.stage,
        lambdaLogging: this.loggingConfig(spec.logicalId),
        extraEnvironment: this.options.extraEnvironment,
        functionEnvironment: this.options.functionEnvironment?.[spec.logicalId],
        logger: this.logger,
      });
    }
    for (const logicalId of Object.keys(this.options.functionEnvironment ?? {})) {
      if (!functions.has(logicalId)) {
        this.logger.warn(
          `variables for ${logicalId} not applied: the template has no active function of that name ` +
            `(${[...functions.keys()].join(', ') || 'none'})`,
        );
      }
    }
    return {
      stackName: this.stackName,
      skipped: this.skipped,
      region: this.region,
      accountId: this.accountId,
      parameters: { ...this.parameters },
      functions,
      tables,
      webSocketApis,
      httpApiIds: this.httpApiIds(events.httpRoutes.length > 0),
      streamSources: events.streamSources,
      httpRoutes,
      schedules: events.schedules,
      ...messaging,
      buckets,
      s3Events: events.s3Events,
      sqsEvents: events.sqsEvents,
      snsEvents: events.snsEvents,
      iotRules: rules,
    };
  }

  /** What !Ref gives for each HTTP API; SAM's implicit ServerlessHttpApi when HttpApi events name no API of ours. */
  private httpApiIds(hasSamEvents: boolean): string[] {
    const ids = [...this.active]
      .filter(
        ([, resource]) =>
          resource.Type === 'AWS::Serverless::HttpApi' ||
          (resource.Type === 'AWS::ApiGatewayV2::Api' && resource.Properties?.ProtocolType === 'HTTP'),
      )
      .map(([logicalId]) => String(this.ref(logicalId)));
    const implicit = apiGatewayId(this.stackName, 'ServerlessHttpApi');
    return hasSamEvents && !this.active.has('ServerlessHttpApi') ? [...ids, implicit] : ids;
  }

  // ---------------------------------------------------------------- Ref / GetAtt

  ref(logicalId: string): unknown {
    if (this.refCache.has(logicalId)) return this.refCache.get(logicalId);
    const resource = this.active.get(logicalId) ?? this.template.Resources?.[logicalId];
    if (!resource || (resource.Condition !== undefined && !this.active.has(logicalId))) return undefined;
    if (this.refInProgress.has(logicalId)) {
      throw new TemplateError(`${logicalId} refers to itself while its name is being resolved.`, logicalId);
    }
    this.refInProgress.add(logicalId);
    try {
      const value = this.computeRef(logicalId, resource);
      this.refCache.set(logicalId, value);
      return value;
    } finally {
      this.refInProgress.delete(logicalId);
    }
  }

  private computeRef(logicalId: string, resource: CfnResource): unknown {
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::Serverless::SimpleTable':
        return `${this.options.tableNamePrefix ?? ''}${
          this.explicitName(logicalId, resource, 'TableName') ?? generatedPhysicalName(this.stackName, logicalId)
        }`;
      case 'AWS::SQS::Queue':
        // The local SQS's URL for the queue, which SDKs and the CLI use as QueueUrl.
        return `${(this.options.endpoints?.sqs ?? DEFAULT_ENDPOINTS.sqs).replace(/\/$/, '')}/${this.accountId}/${this.queueName(logicalId)}`;
      case 'AWS::SNS::Topic':
        return this.arn('sns', this.topicName(logicalId));
      case 'AWS::Serverless::Function':
      case 'AWS::Lambda::Function':
        // As `sam local` does: the logical id unless the template names the function.
        return this.explicitName(logicalId, resource, 'FunctionName') ?? logicalId;
      case 'AWS::Serverless::WebSocketApi':
      case 'AWS::Serverless::HttpApi':
      case 'AWS::Serverless::Api':
      case 'AWS::ApiGatewayV2::Api':
      case 'AWS::ApiGateway::RestApi':
        return apiGatewayId(this.stackName, logicalId);
      case 'AWS::ApiGatewayV2::Stage':
        return this.explicitName(logicalId, resource, 'StageName') ?? apiGatewayChildId(this.stackName, logicalId);
      case 'AWS::ApiGatewayV2::Route':
      case 'AWS::ApiGatewayV2::Integration':
      case 'AWS::ApiGatewayV2::Authorizer':
      case 'AWS::ApiGatewayV2::Deployment':
        return apiGatewayChildId(this.stackName, logicalId);
      case 'AWS::IAM::Role':
        return (
          this.explicitName(logicalId, resource, 'RoleName') ?? generatedPhysicalName(this.stackName, logicalId, 64)
        );
      case 'AWS::S3::Bucket':
        return this.explicitName(logicalId, resource, 'BucketName') ?? generatedBucketName(this.stackName, logicalId);
      default:
        return generatedPhysicalName(this.stackName, logicalId);
    }
  }

  getAtt(logicalId: string, attribute: string): unknown {
    const resource = this.active.get(logicalId);
    if (!resource) return undefined;
    const name = () => String(this.ref(logicalId));
    switch (resource.Type) {
      case 'AWS::Serverless::Function':
      case 'AWS::Lambda::Function':
        return attribute === 'Arn' ? functionArn(this.region, this.accountId, name()) : undefined;
      case 'AWS::DynamoDB::Table':
      case 'AWS::Serverless::SimpleTable': {
        const arn = this.arn('dynamodb', `table/${name()}`);
        if (attribute === 'Arn') return arn;
        if (attribute === 'StreamArn') return `${arn}/stream/${PLACEHOLDER_STREAM_LABEL}`;
        return undefined;
      }
      case 'AWS::SQS::Queue':
        if (attribute === 'Arn') return this.arn('sqs', this.queueName(logicalId));
        if (attribute === 'QueueName') return this.queueName(logicalId);
        if (attribute === 'QueueUrl') return name();
        return undefined;
      case 'AWS::SNS::Topic':
        if (attribute === 'TopicArn') return name();
        if (attribute === 'TopicName') return this.topicName(logicalId);
        return undefined;
      case 'AWS::Serverless::WebSocketApi':
      case 'AWS::ApiGatewayV2::Api': {
        if (attribute === 'ApiId') return name();
        const websocket =
          resource.Type === 'AWS::Serverless::WebSocketApi' || resource.Properties?.ProtocolType === 'WEBSOCKET';
        if (attribute === 'ApiEndpoint') {
          return `${websocket ? 'wss' : 'https'}://${name()}.execute-api.${this.region}.amazonaws.com`;
        }
        return undefined;
      }
      case 'AWS::IAM::Role':
        if (attribute === 'Arn') return `arn:${PARTITION}:iam::${this.accountId}:role/${name()}`;
        return undefined;
      case 'AWS::S3::Bucket':
        if (attribute === 'Arn') return `arn:${PARTITION}:s3:::${name()}`;
        return undefined;
      default:
        return undefined;
    }
  }

  private explicitName(logicalId: string, resource: CfnResource, property: string): string | undefined {
    const raw = resource.Properties?.[property];
    if (raw === undefined) return undefined;
    const value = this.resolver.resolve(raw, `${logicalId}.Properties.${property}`);
    return value === NO_VALUE || value === undefined ? undefined : String(value);
  }

  /** The bucket's name, checked against S3's naming rules (the local S3 also uses it as a folder name). */
  private bucketName(logicalId: string): string {
    const name = String(this.ref(logicalId));
    const valid =
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
    if (!valid) {
      throw new TemplateError(
        `Bucket ${logicalId}: BucketName ${JSON.stringify(name)} is not a valid S3 bucket name (3–63 characters: ` +
          'lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit). Fix BucketName.',
        logicalId,
      );
    }
    return name;
  }

  private queueName(logicalId: string): string {
    const resource = this.active.get(logicalId);
    const explicit = resource && this.explicitName(logicalId, resource, 'QueueName');
    if (explicit) return explicit;
    const fifo = resource?.Properties?.FifoQueue === true || resource?.Properties?.FifoQueue === 'true';
    return fifo
      ? `${generatedPhysicalName(this.stackName, logicalId, 75)}.fifo`
      : generatedPhysicalName(this.stackName, logicalId, 80);
  }

  private topicName(logicalId: string): string {
    const resource = this.active.get(logicalId);
    return (
      (resource && this.explicitName(logicalId, resource, 'TopicName')) ??
      generatedPhysicalName(this.stackName, logicalId, 256)
    );
  }

  private arn(service: string, resource: string): string {
    return `arn:${PARTITION}:${service}:${this.region}:${this.accountId}:${resource}`;
  }

  functionIdOf(reference: unknown, functions: Map<string, FunctionSpec>): string | undefined {
    if (typeof reference !== 'string') return undefined;
    // Integration URIs wrap the ARN: arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations
    const wrapped = /\/functions\/(.+)\/invocations$/.exec(reference);
    const arnOrName = wrapped?.[1] ?? reference;
    const name = functionNameOfArn(arnOrName) ?? arnOrName;
    for (const spec of functions.values()) {
      if (spec.functionName === name || spec.logicalId === name) return spec.logicalId;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- functions

  private functionProps(resource: CfnResource): Props {
    const globals = (this.template.Globals?.Function ?? {}) as Props;
    return mergeGlobals(globals, resource.Properties ?? {}) as Props;
  }

  private prop(logicalId: string, props: Props, name: string): unknown {
    if (props[name] === undefined) return undefined;
    const value = this.resolver.resolve(props[name], `${logicalId}.Properties.${name}`);
    return value === NO_VALUE ? undefined : value;
  }

  /** Records a part of the template that is not run locally (listed at start); the rest starts without it. */
  skip(id: string, type: string, reason: string): void {
    this.skipped.push({ id, type, reason });
  }

  /** A function that stays in the model (its routes and events exist) but fails every invocation with `reason`. */
  private unavailableFunction(logicalId: string, name: string, type: string, reason: string): FunctionSpec {
    this.skip(logicalId, type, reason);
    return {
      logicalId,
      handler: 'index.handler',
      entryPoint: '',
      exportName: 'handler',
      timeoutSeconds: 3,
      memoryMb: 128,
      environment: {},
      functionName: name,
      functionArn: functionArn(this.region, this.accountId, name),
      unavailable: `Function ${logicalId} cannot run locally: ${reason}`,
    };
  }

  private functionSpec(logicalId: string, resource: CfnResource, props: Props): FunctionSpec {
    let code: FunctionCodeSpec;
    try {
      code = this.functionCode(logicalId, resource, props);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      const reason = error.message.replace(new RegExp(`^Function ${logicalId}(?::| has| uses| is| needs)? ?`), '');
      return {
        ...this.unavailableFunction(logicalId, String(this.ref(logicalId)), resource.Type, reason),
        environment: this.templateEnvironment(logicalId, props),
      };
    }
    const timeout = Number(this.prop(logicalId, props, 'Timeout') ?? 3);
    const memory = Number(this.prop(logicalId, props, 'MemorySize') ?? 128);
    if (!Number.isFinite(timeout) || timeout < 1 || timeout > 900) {
      throw new TemplateError(
        `Function ${logicalId} has Timeout ${timeout}; Lambda allows 1 to 900 seconds.`,
        logicalId,
      );
    }
    if (!Number.isFinite(memory) || memory < 128 || memory > 10240) {
      throw new TemplateError(
        `Function ${logicalId} has MemorySize ${memory}; Lambda allows 128 to 10240 MB.`,
        logicalId,
      );
    }
    const functionName = String(this.ref(logicalId));
    return {
      logicalId,
      ...code,
      timeoutSeconds: timeout,
      memoryMb: memory,
      environment: this.templateEnvironment(logicalId, props),
      functionName,
      functionArn: functionArn(this.region, this.accountId, functionName),
    };
  }

  /** Where a function's code is and how it loads; a TemplateError says why it cannot run locally. */
  private functionCode(logicalId: string, resource: CfnResource, props: Props): FunctionCodeSpec {
    const packageType = this.prop(logicalId, props, 'PackageType');
    if (packageType === 'Image') {
      throw new TemplateError(
        `Function ${logicalId} is a container image (PackageType: Image); the local runtime runs Node.js zip functions only.`,
        logicalId,
      );
    }
    const runtime = this.prop(logicalId, props, 'Runtime');
    if (typeof runtime !== 'string' || !runtime.startsWith('nodejs')) {
      throw new TemplateError(
        `Function ${logicalId} has Runtime ${JSON.stringify(runtime)}; the local runtime runs Node.js functions only. ` +
          'Set Runtime: nodejs22.x (here or in Globals.Function).',
        logicalId,
      );
    }
    if (props.InlineCode !== undefined) {
      throw new TemplateError(
        `Function ${logicalId} uses InlineCode; the local runtime bundles source files. Move the code to a file and set CodeUri and Handler.`,
        logicalId,
      );
    }
    const handler = this.prop(logicalId, props, 'Handler');
    const dot = typeof handler === 'string' ? handler.lastIndexOf('.') : -1;
    if (typeof handler !== 'string' || dot <= 0 || dot === handler.length - 1) {
      throw new TemplateError(
        `Function ${logicalId} needs a Handler like "on-connect.handler" (file name, a dot, the exported function).`,
        logicalId,
      );
    }
    const codeUri = this.prop(logicalId, props, 'CodeUri') ?? '.';
    if (typeof codeUri !== 'string') {
      throw new TemplateError(
        `Function ${logicalId} has a CodeUri that is not a local folder (${JSON.stringify(codeUri)}); set CodeUri to the folder of its source.`,
        logicalId,
      );
    }
    const codeDir = resolve(this.root, codeUri);
    const buildProperties = (resource.Metadata?.BuildProperties ?? {}) as Props;
    const entryPoints = buildProperties.EntryPoints
      ? this.resolver.resolve(buildProperties.EntryPoints, `${logicalId}.Metadata.BuildProperties.EntryPoints`)
      : undefined;
    const firstEntry = Array.isArray(entryPoints) ? entryPoints[0] : undefined;
    const entryPoint = this.findEntryPoint(logicalId, codeDir, handler.slice(0, dot), firstEntry);
    const external = this.resolver.resolve(
      buildProperties.External ?? [],
      `${logicalId}.Metadata.BuildProperties.External`,
    );
    return {
      handler,
      entryPoint,
      exportName: handler.slice(dot + 1),
      runtime,
      external: Array.isArray(external) ? external.map(String) : [],
      ...(typeof resource.Metadata?.BuildMethod === 'string' ? { buildMethod: resource.Metadata.BuildMethod } : {}),
      ...(buildProperties.Format === 'esm' || buildProperties.Format === 'cjs'
        ? { moduleFormat: buildProperties.Format }
        : {}),
    };
  }

  private findEntryPoint(logicalId: string, codeDir: string, handlerModule: string, entry: unknown): string {
    const fromMetadata = typeof entry === 'string';
    const base = resolve(codeDir, fromMetadata ? entry : handlerModule);
    // Handler "on-connect.handler" names a module without extension; EntryPoints usually carry one.
    const candidates = extname(base) && fromMetadata ? [base] : [base, ...ENTRY_EXTENSIONS.map((ext) => base + ext)];
    const found = candidates.find((path) => existsSync(path) && statSync(path).isFile());
    if (found) return found;
    if (this.options.verifyEntryPoints === false) return candidates[fromMetadata ? 0 : 1] ?? base;
    const shown = relative(this.root, base) || base;
    throw new TemplateError(
      fromMetadata
        ? `Function ${logicalId}: its entry point ${shown} (Metadata.BuildProperties.EntryPoints[0], relative to CodeUri) ` +
            'does not exist. Create the file or fix EntryPoints / CodeUri in the template.'
        : `Function ${logicalId}: no source file for Handler module ${shown} (tried ${ENTRY_EXTENSIONS.join(', ')}). ` +
            'Create the file, fix Handler / CodeUri, or add Metadata.BuildProperties.EntryPoints.',
      logicalId,
    );
  }

  private templateEnvironment(logicalId: string, props: Props): Record<string, string> {
    const environment = this.prop(logicalId, props, 'Environment') as { Variables?: unknown } | undefined;
    const variables = environment?.Variables;
    if (variables === undefined) return {};
    if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) {
      throw new TemplateError(`Function ${logicalId}: Environment.Variables must be a mapping.`, logicalId);
    }
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        out[name] = String(value);
      } else {
        throw new TemplateError(
          `Function ${logicalId}: environment variable ${name} resolves to ${JSON.stringify(value)}, not a string.`,
          logicalId,
        );
      }
    }
    return out;
  }

  /** LoggingConfig becomes the variables Lambda sets for it (Powertools' Logger honours AWS_LAMBDA_LOG_LEVEL). */
  private loggingConfig(logicalId: string): Record<string, string> {
    const resource = this.active.get(logicalId);
    if (!resource) return {};
    const props = this.functionProps(resource);
    const config = this.prop(logicalId, props, 'LoggingConfig') as Props | undefined;
    if (!config) return {};
    const out: Record<string, string> = {};
    if (typeof config.LogFormat === 'string') out.AWS_LAMBDA_LOG_FORMAT = config.LogFormat;
    if (config.LogFormat === 'JSON' && typeof config.ApplicationLogLevel === 'string') {
      out.AWS_LAMBDA_LOG_LEVEL = config.ApplicationLogLevel;
    }
    return out;
  }

  // ---------------------------------------------------------------- tables

  private tableSpec(logicalId: string, resource: CfnResource): TableSpec {
    const where = `Table ${logicalId}`;
    const resolved = this.resolver.resolve(resource.Properties ?? {}, `${logicalId}.Properties`);
    const p = parseProperties(tableProperties, resolved, where, logicalId);
    const defined = new Set(p.AttributeDefinitions.map((d) => d.AttributeName));
    const globalSecondaryIndexes = p.GlobalSecondaryIndexes?.length ? p.GlobalSecondaryIndexes : undefined;
    const localSecondaryIndexes = p.LocalSecondaryIndexes?.length ? p.LocalSecondaryIndexes : undefined;
    const keys = [
      ...p.KeySchema,
      ...[...(globalSecondaryIndexes ?? []), ...(localSecondaryIndexes ?? [])].flatMap((i) => i.KeySchema),
    ];
    for (const key of keys) {
      if (!defined.has(key.AttributeName)) {
        throw new TemplateError(
          `${where}: key attribute ${key.AttributeName} is missing from AttributeDefinitions.`,
          logicalId,
        );
      }
    }
    const ttl = p.TimeToLiveSpecification;
    return {
      logicalId,
      tableName: String(this.ref(logicalId)),
      attributeDefinitions: p.AttributeDefinitions,
      keySchema: p.KeySchema,
      ...(globalSecondaryIndexes ? { globalSecondaryIndexes } : {}),
      ...(localSecondaryIndexes ? { localSecondaryIndexes } : {}),
      ...(p.StreamSpecification ? { streamViewType: p.StreamSpecification.StreamViewType } : {}),
      ...(ttl?.Enabled && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
    };
  }

  private simpleTableSpec(logicalId: string, resource: CfnResource): TableSpec {
    const resolved = this.resolver.resolve(resource.Properties ?? {}, `${logicalId}.Properties`);
    const p = parseProperties(simpleTableProperties, resolved, `Table ${logicalId}`, logicalId);
    // SAM's SimpleTable default key: id (String).
    const key = p.PrimaryKey ?? { Name: 'id', Type: 'String' };
    const type = ({ String: 'S', Number: 'N', Binary: 'B' } as const)[key.Type];
    return {
      logicalId,
      tableName: String(this.ref(logicalId)),
      attributeDefinitions: [{ AttributeName: key.Name, AttributeType: type }],
      keySchema: [{ AttributeName: key.Name, KeyType: 'HASH' }],
    };
  }
}
