/**
 * Runs inside each function's worker thread: loads the function's bundle once (its cold start), then runs
 * invocations as the parent sends them. Several invocations may be in flight at once; each is answered by id.
 * Bundled by esbuild at start-up (plain JS in the worker, whatever loader the parent runs under).
 */
import Module from 'node:module';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { routeAwsRequests } from './aws-network';
import { type FromWorker, parseEventJson, type ToWorker, toLambdaError, type WorkerBootData } from './protocol';

type Handler = (event: unknown, context: unknown, callback: (error?: unknown, result?: unknown) => void) => unknown;

const boot = workerData as WorkerBootData;
const port = parentPort;
if (!port) throw new Error('worker-main runs only as a worker thread');
const send = (message: FromWorker) => port.postMessage(message);
/** Invocations the parent gave up on (timed out): their late results are dropped, as Lambda would. */
const cancelled = new Set<string>();

process.on('unhandledRejection', (reason) => {
  const error = toLambdaError(reason);
  send({
    type: 'fatal',
    error: {
      ...error,
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: `${error.errorType}: ${error.errorMessage}`,
    },
  });
  process.exit(128);
});
process.on('uncaughtException', (thrown) => {
  send({ type: 'fatal', error: toLambdaError(thrown) });
  process.exit(129);
});

// Lambda's NODE_PATH ends in /var/runtime/node_modules, where the runtime's AWS SDK v3 lives: a require() the
// function's own node_modules cannot satisfy falls back to it. The local runtime's installation plays that part.
type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: { paths?: string[] }) => string;
const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
const resolveFilename = moduleInternals._resolveFilename;
moduleInternals._resolveFilename = function resolveWithRuntimeSdk(request, parent, isMain, options) {
  try {
    return resolveFilename.call(this, request, parent, isMain, options);
  } catch (error) {
    if (!request.startsWith('@aws-sdk/') || (error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    return resolveFilename.call(this, request, parent, isMain, { paths: [boot.runtimeModulesDir] });
  }
};

async function loadHandler(): Promise<Handler | undefined> {
  let module: Record<string, unknown>;
  try {
    module =
      boot.format === 'esm'
        ? ((await import(pathToFileURL(boot.bundlePath).href)) as Record<string, unknown>)
        : (require(boot.bundlePath) as Record<string, unknown>);
  } catch (thrown) {
    const error = toLambdaError(thrown);
    const code = (thrown as { code?: string }).code;
    const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
    send({ type: 'init-error', error: missing ? { ...error, errorType: 'Runtime.ImportModuleError' } : error });
    return undefined;
  }
  const handler = module[boot.exportName] ?? (module.default as Record<string, unknown> | undefined)?.[boot.exportName];
  if (typeof handler !== 'function') {
    send({
      type: 'init-error',
      error: {
        errorType: 'Runtime.HandlerNotFound',
        errorMessage: `${boot.handler} is undefined or not exported`,
        stack: [],
      },
    });
    return undefined;
  }
  return handler as Handler;
}

/**
 * MemorySize caps the whole function on Lambda (the kernel kills the sandbox), not only V8's heap. A worker shares
 * its process, so its own heap and buffers stand for it: over the limit at two checks in a row (one reading may
 * hold garbage the next collection frees), it reports and exits, and the parent reports Lambda's "signal: killed".
 */
function watchMemory(): void {
  const limit = boot.memoryLimitMb * 1024 * 1024;
  let over = 0;
  const check = () => {
    const heap = getHeapStatistics();
    const used = heap.used_heap_size + heap.external_memory;
    over = used > limit ? over + 1 : 0;
    if (over < 2) return;
    send({
      type: 'out-of-memory',
      usedMb: Math.ceil(used / 1024 / 1024),
      heapMb: Math.ceil(heap.used_heap_size / 1024 / 1024),
      externalMb: Math.ceil(heap.external_memory / 1024 / 1024),
    });
    process.exit(137);
  };
  setInterval(check, 200).unref();
}

function invoke(handler: Handler, id: string, eventJson: string | Uint8Array, deadline: number): void {
  let settled = false;
  const finish = (thrown: unknown, result?: unknown) => {
    if (settled) return;
    settled = true;
    if (cancelled.delete(id)) return;
    if (thrown !== null && thrown !== undefined) {
      send({ type: 'result', id, ok: false, error: toLambdaError(thrown) });
      return;
    }
    let payload: string | undefined;
    try {
      // Lambda serialises the result as JSON: undefined becomes null, Dates become strings.
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (error) {
      send({
        type: 'result',
        id,
        ok: false,
        error: {
          errorType: 'Runtime.MarshalError',
          errorMessage: `Unable to stringify response body: ${String(error)}`,
          stack: [],
        },
      });
      return;
    }
    send({ type: 'result', id, ok: true, payload: payload ?? 'null' });
  };
  const context = {
    awsRequestId: id,
    functionName: boot.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: boot.invokedFunctionArn,
    memoryLimitInMB: boot.memoryLimitInMB,
    logGroupName: boot.logGroupName,
    logStreamName: boot.logStreamName,
    // Invocations share the worker's event loop, so "wait for an empty loop" cannot be honoured; the flag is kept
    // because middlewares set it.
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: (error?: unknown, result?: unknown) => finish(error, result),
    fail: (error: unknown) => finish(error ?? new Error('handled')),
    succeed: (result: unknown) => finish(null, result),
  };
  try {
    const returned = handler(parseEventJson(eventJson), context, (error, result) => finish(error, result));
    if (
      returned !== null &&
      typeof returned === 'object' &&
      typeof (returned as Promise<unknown>).then === 'function'
    ) {
      (returned as Promise<unknown>).then(
        (result) => finish(null, result),
        (error: unknown) => finish(error ?? new Error('The handler rejected without a reason')),
      );
    } else if (handler.length < 3) {
      // A synchronous handler without a callback: its return value is the result.
      finish(null, returned);
    }
  } catch (thrown) {
    finish(thrown);
  }
}

watchMemory();
if (boot.awsRoutes) {
  // Before the function's code loads: its module scope may already create clients or send requests.
  const told = new Set<string>();
  routeAwsRequests(boot.awsRoutes, (host, message) => {
    if (told.has(host)) return;
    told.add(host);
    send({ type: 'aws-host-refused', host, message });
  });
}
void loadHandler().then((handler) => {
  if (!handler) return;
  port.on('message', (message: ToWorker) => {
    if (message.type === 'invoke') invoke(handler, message.id, message.event, message.deadline);
    else if (message.type === 'cancel') cancelled.add(message.id);
    else if (message.type === 'ping') send({ type: 'pong' });
  });
  send({ type: 'ready' });
});
