// Address arguments as the reference splits them (on the last colon, brackets removed), and
// their formatting for logs.

import { describe, expect, it } from '@jest/globals';
import { formatHostPort, parseListenSpec, parseTargetSpec } from '../../src/config/address.js';
import { ConfigError } from '../../src/errors/config-error.js';

describe('parseListenSpec', () => {
  it.each([
    ['6080', undefined, 6080],
    ['0', undefined, 0],
    [':6080', undefined, 6080],
    ['127.0.0.1:6080', '127.0.0.1', 6080],
    ['localhost:0', 'localhost', 0],
    ['[::1]:6080', '::1', 6080],
    ['[::]:6080', '::', 6080],
    ['::1:6080', '::1', 6080],
    ['[]:6080', undefined, 6080],
    ['h:00080', 'h', 80],
    ['h:65535', 'h', 65535],
  ])('%p listens on host %p port %p', (spec, host, port) => {
    expect(parseListenSpec(spec)).toEqual({ host, port });
  });

  it.each([
    ['', /'' is not a port number/],
    ['x', /'x' is not a port number/],
    ['host:', /'' is not a port number/],
    ['host:65536', /port 65536 is out of range/],
    ['host:123456', /'123456' is not a port number/],
    ['host:-1', /'-1' is not a port number/],
    ['host:80.0', /'80.0' is not a port number/],
    ['host: 80', /' 80' is not a port number/],
  ])('%p is refused: %p', (spec, message) => {
    expect(() => parseListenSpec(spec)).toThrow(ConfigError);
    expect(() => parseListenSpec(spec)).toThrow(message);
    expect(() => parseListenSpec(spec)).toThrow(expect.objectContaining({ option: 'listen' }));
  });
});

describe('parseTargetSpec', () => {
  it.each([
    ['localhost:5900', 'localhost', 5900],
    ['127.0.0.1:1', '127.0.0.1', 1],
    ['[::1]:5900', '::1', 5900],
    ['::1:5900', '::1', 5900],
    ['vnc.example:65535', 'vnc.example', 65535],
  ])('%p is host %p port %p', (spec, host, port) => {
    expect(parseTargetSpec(spec)).toEqual({ host, port });
  });

  it.each([
    ['5900', /'5900' is not of the form host:port/],
    [':5900', /':5900' has no host/],
    ['[]:5900', /'\[\]:5900' has no host/],
    ['host:0', /port 0 is out of range \(1-65535\)/],
    ['host:70000', /port 70000 is out of range/],
    ['host:vnc', /'vnc' is not a port number/],
  ])('%p is refused: %p', (spec, message) => {
    expect(() => parseTargetSpec(spec)).toThrow(ConfigError);
    expect(() => parseTargetSpec(spec)).toThrow(message);
    expect(() => parseTargetSpec(spec)).toThrow(expect.objectContaining({ option: 'target' }));
  });
});

describe('formatHostPort', () => {
  it('brackets IPv6 literals, and shows all interfaces as a bare :port', () => {
    expect(formatHostPort('::1', 5900)).toBe('[::1]:5900');
    expect(formatHostPort('127.0.0.1', 5900)).toBe('127.0.0.1:5900');
    expect(formatHostPort('vnc.example', 1)).toBe('vnc.example:1');
    expect(formatHostPort(undefined, 6080)).toBe(':6080');
  });
});
