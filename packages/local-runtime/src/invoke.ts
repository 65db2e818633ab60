import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { createFunctionRunner, type FunctionRunnerOptions } from './functions';
import { awsHostRoutes } from './functions/aws-hosts';
import { DEFAULT_HOST, PORTS, publicUrl } from './ports';
import { DEFAULT_ENDPOINTS, type LoadPlatformModelOptions, loadPlatformModel, TemplateError } from './template';
import type { InvocationOutcome } from './types';

export interface InvokeOnceOptions extends Omit<LoadPlatformModelOptions, 'verifyEntryPoints'> {
  /** The function's logical id in the template. */
  logicalId: string;
  /** A JSON file with the event (like `sam local invoke -e`); `{}` when neither this nor `event` is given. */
  eventPath?: string;
  /** The event itself, instead of a file. */
  event?: unknown;
  /** Options of the function runner (output, quiet, build folder …). */
  runner?: FunctionRunnerOptions;
}

/**
 * Runs one invocation of one template function the way `npm start` runs it (like `sam local invoke`, without
 * Docker): loads the model, bundles that function, invokes it once, stops its worker.
 */
export async function invokeOnce(options: InvokeOnceOptions): Promise<InvocationOutcome> {
  const { logicalId, eventPath, event, runner: runnerOptions, ...modelOptions } = options;
  const model = loadPlatformModel({ ...modelOptions, verifyEntryPoints: false });
  const spec = model.functions.get(logicalId);
  if (!spec) {
    throw new TemplateError(
      `No function ${logicalId} in ${options.templatePath}. Valid logical ids: ${[...model.functions.keys()].join(', ') || 'none'}.`,
      logicalId,
    );
  }
  if (spec.unavailable !== undefined) throw new TemplateError(spec.unavailable, logicalId);
  // Only the invoked function's entry point has to exist (as with `sam local invoke`), not every function's.
  if (!existsSync(spec.entryPoint)) {
    throw new TemplateError(
      `Function ${logicalId}: its entry point ${relative(process.cwd(), spec.entryPoint)} does not exist. Create the ` +
        'file or fix Metadata.BuildProperties.EntryPoints / Handler / CodeUri in the template.',
      logicalId,
    );
  }
  const payload = event !== undefined ? event : eventPath ? readEvent(eventPath) : {};
  // The services `npm start` runs (at the endpoints given, else their default ports) stand in for AWS hosts.
  const endpoints = { ...DEFAULT_ENDPOINTS, ...modelOptions.endpoints };
  const awsRoutes = awsHostRoutes(model, {
    webSocket: endpoints.webSocketManagement,
    httpApi: publicUrl(DEFAULT_HOST, PORTS.httpApi.defaultPort),
    services: { dynamodb: endpoints.dynamodb, s3: endpoints.s3, events: endpoints.eventbridge },
  });
  const runner = await createFunctionRunner([spec], { logger: modelOptions.logger, awsRoutes, ...runnerOptions });
  try {
    return await runner.invoke(logicalId, payload, 'invoke');
  } finally {
    await runner.close();
  }
}

function readEvent(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new TemplateError(
      `Cannot read the event file ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TemplateError(
      `The event file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
