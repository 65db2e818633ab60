import { PORTS } from './ports';
import { loadPlatformModel, readCfnTemplate } from './template';
import type { EnvJson } from './template/environment';

/**
 * SAM's env.json for `sam local invoke --env-vars env.json`: one entry per function that points it, running in SAM's
 * Docker container, at the services `npm start` runs on the host (host.docker.internal). SAM applies an entry only
 * to variables the template declares, and resolves a resource's !Ref to its logical id; so an entry holds the
 * declared AWS_ENDPOINT_URL_* and WS_ENDPOINT, and every declared variable built from a resource (table names, queue
 * URLs …) with the value `npm start` gives it. Variables built from parameters only are left to SAM, so that
 * `--parameter-overrides` still decide them.
 */
export const DOCKER_HOST = 'host.docker.internal';

const dockerUrl = (port: number) => `http://${DOCKER_HOST}:${port}`;

/** env.json for a template, with each parameter set given (e.g. one that enables the conditional functions). */
export function samEnvJson(templatePath: string, parameterSets: Record<string, string>[] = [{}]): EnvJson {
  const template = readCfnTemplate(templatePath);
  const resourceIds = Object.keys(template.Resources ?? {});
  const globals = (template.Globals as { Function?: { Environment?: { Variables?: Record<string, unknown> } } })
    ?.Function?.Environment?.Variables;
  const out: EnvJson = { Parameters: { POWERTOOLS_METRICS_DISABLED: 'true' } };
  for (const parameterOverrides of parameterSets) {
    const model = loadPlatformModel({
      templatePath,
      parameterOverrides,
      verifyEntryPoints: false,
      endpoints: {
        dynamodb: dockerUrl(PORTS.dynamodb.defaultPort),
        webSocketManagement: dockerUrl(PORTS.webSocket.defaultPort),
        s3: dockerUrl(PORTS.s3.defaultPort),
        eventbridge: dockerUrl(PORTS.eventBridge.defaultPort),
        sqs: dockerUrl(PORTS.sqs.defaultPort),
      },
    });
    for (const spec of model.functions.values()) {
      if (out[spec.logicalId]) continue;
      const own = (
        template.Resources?.[spec.logicalId]?.Properties?.Environment as { Variables?: Record<string, unknown> }
      )?.Variables;
      const entry: Record<string, string> = {};
      for (const name of [...(spec.declaredVariables ?? [])].sort()) {
        const raw = own?.[name] ?? globals?.[name];
        const value = spec.environment[name];
        if (value === undefined) continue;
        if (name.startsWith('AWS_ENDPOINT_URL') || name === 'WS_ENDPOINT' || namesResource(raw, resourceIds)) {
          entry[name] = value;
        }
      }
      out[spec.logicalId] = entry;
    }
  }
  return out;
}

/** Whether a template value (!Ref, !GetAtt, !Sub …) is built from one of the template's resources. */
function namesResource(raw: unknown, resourceIds: string[]): boolean {
  const text = JSON.stringify(raw ?? null);
  return resourceIds.some(
    (id) =>
      text.includes(`"Ref":"${id}"`) ||
      text.includes(`"Fn::GetAtt":["${id}"`) ||
      text.includes(`"Fn::GetAtt":"${id}.`) ||
      text.includes(`\${${id}}`) ||
      text.includes(`\${${id}.`),
  );
}
