/**
 * Runs inside each function's worker thread: loads the function's bundle once (its cold start), then runs
 * invocations as the parent sends them. Several invocations may be in flight at once; each is answered by id.
 * Bundled by esbuild at start-up (plain JS in the worker, whatever loader the parent runs under).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type FromWorker, type ToWorker, toLambdaError, type WorkerBootData } from './protocol';

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

function loadHandler(): Handler | undefined {
  let module: Record<string, unknown>;
  try {
    module = require(boot.bundlePath) as Record<string, unknown>;
  } catch (thrown) {
    const error = toLambdaError(thrown);
    const missing = (thrown as { code?: string }).code === 'MODULE_NOT_FOUND';
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

function invoke(handler: Handler, id: string, eventJson: string, deadline: number): void {
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
    const returned = handler(JSON.parse(eventJson), context, (error, result) => finish(error, result));
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

const handler = loadHandler();
if (handler) {
  port.on('message', (message: ToWorker) => {
    if (message.type === 'invoke') invoke(handler, message.id, message.event, message.deadline);
    else if (message.type === 'cancel') cancelled.add(message.id);
    else if (message.type === 'ping') send({ type: 'pong' });
  });
  send({ type: 'ready' });
}
