/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 60000,
  maxWorkers: 2,
  // A worker that has run its last file takes 0.4–0.65 s to exit on its own here (measured from
  // the last test's output to the process's end), with no handle or request left open (dumped
  // every 100 ms after each file's afterAll). At jest's default of 500 ms, 7 of 8 runs ended with
  // "a worker process has failed to exit gracefully"; a real leak still shows, 5 s later.
  workerGracefulExitTimeout: 5000,
  verbose: true,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
};
