// Jest runs the TypeScript tests as native ES modules (ts-jest in ESM mode), because
// yargs and execa are ESM-only. `npm test` sets NODE_OPTIONS=--experimental-vm-modules.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // Tests spawn real servers and child processes; never leave them behind silently.
  detectOpenHandles: false,
  forceExit: false,
};
