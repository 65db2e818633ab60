import type { LambdaError } from '../types';
import type { AwsHostRoutes } from './aws-hosts';

/** What the worker needs to know about its function (workerData). */
export interface WorkerBootData {
  /** The bundle, or the handler file itself (plain CommonJS without a BuildMethod). */
  bundlePath: string;
  /** require() for CommonJS, import() for ES modules. */
  format: 'cjs' | 'esm';
  /** Where `@aws-sdk/*` resolves from when the function has no copy of its own (Lambda's runtime SDK). */
  runtimeModulesDir: string;
  /** MemorySize: what the function may use, JS heap and buffers together, before it is killed. */
  memoryLimitMb: number;
  /** Where requests to AWS hosts go locally; absent: the function's requests go out as they are. */
  awsRoutes?: AwsHostRoutes;
  exportName: string;
  handler: string;
  functionName: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
}

/**
 * Parent → worker. Events travel as JSON, text or UTF-8 bytes (a SerializedEvent's, transferred): Lambda hands
 * handlers a freshly parsed copy, and so do we.
 */
export type ToWorker =
  | { type: 'invoke'; id: string; event: string | Uint8Array; deadline: number }
  | { type: 'cancel'; id: string }
  | { type: 'ping' };

/** An event as the worker receives it (`ToWorker` invoke), parsed as the handler gets it. */
export function parseEventJson(json: string | Uint8Array): unknown {
  return JSON.parse(
    typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'),
  );
}

/** Worker → parent. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-error'; error: LambdaError }
  | { type: 'result'; id: string; ok: true; payload: string }
  | { type: 'result'; id: string; ok: false; error: LambdaError }
  | { type: 'fatal'; error: LambdaError }
  /** The function used more than its MemorySize (JS heap and buffers, in MB); the worker exits next. */
  | { type: 'out-of-memory'; usedMb: number; heapMb: number; externalMb: number }
  /** A request to an AWS host that no local service plays was failed (aws-hosts.ts). */
  | { type: 'aws-host-refused'; host: string; message: string }
  | { type: 'pong' };

/** Turns anything thrown into what Lambda's Node.js runtime reports. */
export function toLambdaError(thrown: unknown): LambdaError {
  if (thrown instanceof Error || (thrown !== null && typeof thrown === 'object' && 'message' in thrown)) {
    const error = thrown as Error;
    return {
      errorType: error.name || error.constructor?.name || 'Error',
      errorMessage: String(error.message ?? ''),
      stack: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  // Lambda reports a thrown primitive by its typeof, e.g. {"errorType":"string","errorMessage":"boom"}.
  return { errorType: typeof thrown, errorMessage: String(thrown), stack: [] };
}
