// Two projects over every package: fast unit tests, and integration tests against real DynamoDB Local and the local
// runtime. Each package keeps its tests in <package>/test/{unit,integration}; the SAM application's are in test/.
// @middy/* and jose are ESM-only, so it goes through the same SWC transform as our TypeScript.
const transform = {
  '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
};
const transformIgnorePatterns = ['/node_modules/(?!(@middy|jose)/)'];
// The SDK warns once per process that Node 20 support ends in 2027; tests and the runtime run on Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Suites that take minutes of load each — DynamoDB Local killed under 100 writes/s, ten clients through 1,000 changes —
// run with `npm run test:slow` (RTP_SLOW_TESTS=1), not in `npm test`, which CI runs on every change and which must stay
// well under its 15 minutes on a 2-core machine. The README's examples (3–4 minutes in CI, mostly waiting on the
// runtimes they start) do run in `npm test`: a README that lies is a bug every newcomer meets.
const slowTests = process.env.RTP_SLOW_TESTS === '1';
const slowSuites = ['<rootDir>/test/integration/faults.test.ts'];

/** @type {import('jest').Config} */
module.exports = {
  // testTimeout is a global option (jest ignores it inside projects); integration tests start real services.
  testTimeout: 60000,
  // Integration suites mostly wait on DynamoDB Local, sockets and timers: two workers even on 2 cores (jest's default
  // there is one).
  maxWorkers: 2,
  // Each test file loads its own copy of the AWS SDK, and V8 lets a worker's heap grow to ~2 GB before collecting the
  // old copies: tearing down such a process outlasts jest's 500 ms grace (650 ms measured at 1.5 GB), and jest warned
  // "a worker process has failed to exit gracefully" on most runs. A worker past 512 MB after a file is replaced
  // instead (the unit project runs in 77–80 s instead of 95 s). A worker's last file is not followed by that check,
  // so no test keeps hundreds of MB in its worker (build.test.ts loads the bundles in a child process).
  workerIdleMemoryLimit: '512MB',
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/packages/*/test/unit/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/packages/*/test/integration/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      testPathIgnorePatterns: slowTests ? ['/node_modules/'] : ['/node_modules/', ...slowSuites],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
  ],
};
