import { describe, expect, it } from '@jest/globals';
import { VERSION } from '../src/index.js';
import yargs from 'yargs';

describe('scaffold', () => {
  it('loads ESM modules', () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof yargs).toBe('function');
  });
});
