/** Runs template functions like Lambda: esbuild bundles, one worker thread per function, timeouts enforced. */
export {
  buildFunctionBundles,
  buildWorkerRuntime,
  FunctionBuildError,
  type FunctionBuilds,
  type FunctionCode,
  moduleFormat,
} from './build';
export { createFunctionRunner, FunctionRunner, type FunctionRunnerOptions } from './function-runner';
