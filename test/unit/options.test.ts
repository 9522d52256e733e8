// The library's side of the error taxonomy: options resolved by resolveOptions() (and the
// server constructors that call it) are refused with a ConfigError whose code and option say
// what was wrong, in the library's words (`heartbeat`, `tls.cert`), never a command-line flag;
// the CLI words the same errors with flags, from the option table.

import { describe, expect, it } from '@jest/globals';
import * as http from 'node:http';
import { resolveOptions, type WebsockifyOptions } from '../../src/config/options.js';
import { cliMessage } from '../../src/cli/usage-error.js';
import {
  ConfigError,
  WebsockifyError,
  attachWebsockify,
  loadAuthPlugin,
  loadTokenPlugin,
  WebsockifyServer,
} from '../../src/index.js';
import { silentLogger } from '../../src/config/defaults.js';

const BASE: WebsockifyOptions = { target: '127.0.0.1:5900' };

function refusal(f: () => unknown): WebsockifyError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(WebsockifyError);
    return err as WebsockifyError;
  }
  throw new Error('not refused');
}

describe('bad values name the library key', () => {
  const cases: [Partial<WebsockifyOptions>, string, string][] = [
    [{ heartbeat: -1 }, 'heartbeat', 'option heartbeat: expected a number of seconds, got -1'],
    [{ timeout: Number.NaN }, 'timeout', 'option timeout: expected a number of seconds, got NaN'],
    [{ idleTimeout: Infinity }, 'idleTimeout', 'option idleTimeout: expected a number of seconds, got Infinity'],
    [{ connectTimeout: -5 }, 'connectTimeout', 'option connectTimeout: expected a number of seconds, got -5'],
    [{ maxMessageSize: 0 }, 'maxMessageSize', 'option maxMessageSize: expected a positive number of bytes, got 0'],
    [{ maxFrameSize: 1.5 }, 'maxFrameSize', 'option maxFrameSize: expected a positive number of bytes, got 1.5'],
    [{ highWaterMark: -1 }, 'highWaterMark', 'option highWaterMark: expected a positive number of bytes, got -1'],
    [
      { listen: { path: 'x.sock', mode: 0o1777 } },
      'listen.mode',
      'option listen.mode: expected permission bits between 0 and 0o777, got 1023',
    ],
    [
      { tls: { cert: 'c.pem', minVersion: 'SSLv3' as 'TLSv1' } },
      'tls.minVersion',
      "option tls.minVersion: expected one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, got 'SSLv3'",
    ],
    [{ web: '' }, 'web', 'option web: web root is empty (give a directory)'],
  ];

  it.each(cases)('%j', (bad, key, message) => {
    const err = refusal(() => resolveOptions({ ...BASE, ...bad }));
    expect(err).toBeInstanceOf(ConfigError);
    expect({ code: err.code, option: err.option, message: err.message }).toEqual({
      code: 'ERR_OPTION_VALUE',
      option: key,
      message,
    });
    expect(err.message).not.toContain('--');
  });

  it('the server constructor and attachWebsockify refuse the same way', () => {
    const server = refusal(() => new WebsockifyServer({ ...BASE, heartbeat: -1 }));
    expect(server.message).toBe('option heartbeat: expected a number of seconds, got -1');
    const app = http.createServer();
    const attached = refusal(() => attachWebsockify(app, { ...BASE, maxFrameSize: 0 }));
    expect(attached.option).toBe('maxFrameSize');
  });

  it('the CLI words them with flags', () => {
    const err = refusal(() => resolveOptions({ ...BASE, heartbeat: -1 }));
    expect(cliMessage(err)).toBe('option --heartbeat: expected a number of seconds, got -1');
    const mode = refusal(() => resolveOptions({ ...BASE, listen: { path: 'x.sock', mode: 0o1777 } }));
    expect(cliMessage(mode)).toMatch(/^option --unix-listen-mode: /);
  });
});

describe('rules across options', () => {
  it('webAuth needs auth and web: ERR_OPTION_DEPENDENCY; the CLI says it as the reference does', () => {
    const err = refusal(() => resolveOptions({ ...BASE, webAuth: true, web: '.' }));
    expect({ code: err.code, option: err.option, message: err.message }).toEqual({
      code: 'ERR_OPTION_DEPENDENCY',
      option: 'webAuth',
      message: 'option webAuth needs option auth',
    });
    expect(cliMessage(err)).toBe('You must use --auth-plugin to use --web-auth');
    const noWeb = refusal(() => resolveOptions({ ...BASE, webAuth: true, auth: { authenticate() {} } }));
    expect(cliMessage(noWeb)).toBe('You must use --web to use --web-auth');
  });

  it('a target is required, and only one kind of it', () => {
    const none = refusal(() => resolveOptions({}));
    expect([none.code, none.option, none.message]).toEqual([
      'ERR_OPTION_MISSING',
      'target',
      'a target is required (target or resolveTarget)',
    ]);
    const both = refusal(() => resolveOptions({ ...BASE, resolveTarget: () => ({ kind: 'tcp', host: 'h', port: 1 }) }));
    expect(both.code).toBe('ERR_OPTION_CONFLICT');
  });

  it('defaults come from DEFAULTS; the logger defaults to a silent one', () => {
    const o = resolveOptions(BASE);
    expect([o.maxMessageSize, o.maxFrameSize, o.connectTimeoutMs, o.heartbeatMs]).toEqual([
      16777216, 1048576, 10000, 0,
    ]);
    expect(o.logger).toBe(silentLogger);
  });
});

describe('plugins and TLS files', () => {
  it('an unknown plugin: ERR_PLUGIN naming tokenPlugin or authPlugin; the CLI names the flag', async () => {
    const context = { logger: silentLogger };
    const token = (await loadTokenPlugin('Nope', undefined, context).catch((e: unknown) => e)) as WebsockifyError;
    expect([token.code, token.option]).toEqual(['ERR_PLUGIN', 'tokenPlugin']);
    expect(token.message).toMatch(/^tokenPlugin: unknown plugin 'Nope' \(built-in: TokenFile, /);
    expect(cliMessage(token)).toMatch(/^--token-plugin: unknown plugin 'Nope'/);
    const auth = (await loadAuthPlugin('Nope', undefined, context).catch((e: unknown) => e)) as WebsockifyError;
    expect([auth.code, auth.option]).toEqual(['ERR_PLUGIN', 'authPlugin']);
  });

  it("a built-in plugin's missing source names the source's key; the CLI names both flags", async () => {
    const err = (await loadAuthPlugin('BasicHTTPAuth', undefined, { logger: silentLogger }).catch(
      (e: unknown) => e,
    )) as WebsockifyError;
    expect(err.message).toBe('authPlugin: BasicHTTPAuth needs authSource user:password');
    expect(cliMessage(err)).toBe('--auth-plugin: BasicHTTPAuth needs --auth-source user:password');
  });

  it('a certificate that cannot be read: ERR_TLS_SETUP naming tls.cert; the CLI names --cert', () => {
    const err = refusal(() => new WebsockifyServer({ ...BASE, tls: { cert: '/nonexistent/cert.pem' } }));
    expect([err.name, err.code, err.option]).toEqual(['TlsSetupError', 'ERR_TLS_SETUP', 'tls.cert']);
    expect(err.message).toBe("cannot read '/nonexistent/cert.pem' (tls.cert): ENOENT");
    expect(cliMessage(err)).toBe("cannot read '/nonexistent/cert.pem' (--cert): ENOENT");
  });
});
