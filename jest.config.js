// Two projects over every package: fast unit tests, and integration tests against real DynamoDB Local and the local
// runtime. Each package keeps its tests in <package>/test/{unit,integration}; the SAM application's are in test/.
// @middy/* and jose are ESM-only, so it goes through the same SWC transform as our TypeScript.
const transform = {
  '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
};
const transformIgnorePatterns = ['/node_modules/(?!(@middy|jose)/)'];
// The SDK warns once per process that Node 20 support ends in 2027; tests and the runtime run on Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** @type {import('jest').Config} */
module.exports = {
  // testTimeout is a global option (jest ignores it inside projects); integration tests start real services.
  testTimeout: 60000,
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
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
  ],
};
