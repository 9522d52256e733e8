// Jest runs the TypeScript tests as native ES modules (ts-jest in ESM mode), because
// yargs and execa are ESM-only. The npm scripts set NODE_OPTIONS=--experimental-vm-modules.
//
// Two projects: `unit` (test/unit/: pure modules in process, no sockets or child processes,
// fast, run in parallel: `npm run test:unit`) and `integration` (everything else: real sockets,
// real child processes and programs; `npm test` runs both, one file at a time).

const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    // tsconfig.json has isolatedModules: ts-jest transpiles each file on its own (lint type-checks).
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
};

/** @type {import('jest').Config} */
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
    },
  ],
  testTimeout: 60000,
  // Tests spawn real servers and child processes; never leave them behind silently.
  detectOpenHandles: false,
  forceExit: false,
};
