import type { FunctionSpec, LocalLogger } from '../types';
import type { CfnResource, CfnTemplate } from './cfn-yaml';
import type { IntrinsicResolver } from './intrinsics';
import { anyProperties, parseProperties } from './schemas';

/** What the parts of the model builder (events, WebSocket APIs) need from the template being read. */
export interface TemplateContext {
  readonly template: CfnTemplate;
  readonly resolver: IntrinsicResolver;
  /** Resources whose Condition is true (or that have none), by logical id. */
  readonly active: ReadonlyMap<string, CfnResource>;
  readonly logger: LocalLogger;
  readonly stackName: string;
  /** The local Ref value of a resource (names, URLs, ids). */
  ref(logicalId: string): unknown;
  /** The local GetAtt value (AWS-shaped ARNs), undefined when unknown. */
  getAtt(logicalId: string, attribute: string): unknown;
  /** Records a part of the template that is not run locally; the start goes on without it. */
  skip(id: string, type: string, reason: string): void;
  /** Maps a resolved function reference (ARN, qualified ARN, name or invocation URI) back to its logical id. */
  functionIdOf(reference: unknown, functions: Map<string, FunctionSpec>): string | undefined;
}

/** The active resources of one type, with their properties resolved (raw AWS::ApiGatewayV2 APIs, for example). */
export function resourcesOfType(
  ctx: TemplateContext,
  type: string,
): { logicalId: string; props: Record<string, unknown> }[] {
  return [...ctx.active]
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => ({
      logicalId: id,
      props: parseProperties(
        anyProperties,
        ctx.resolver.resolve(resource.Properties ?? {}, `${id}.Properties`),
        `${id}.Properties`,
        id,
      ) as Record<string, unknown>,
    }));
}
