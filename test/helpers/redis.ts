// A real redis-server for the TokenRedis tests: started on a given loopback port without
// persistence, ready once it says so; stopped after the test. seed() writes keys with ioredis.

import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { defer } from './cleanup.js';
import { withTimeout } from './wait.js';

const REDIS = '/usr/bin/redis-server';

/** Starts redis-server on `port` and resolves once it accepts connections; stopped after the test. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', () => reject(new Error(`redis-server exited: ${out}`)));
    }),
    15000,
    'redis-server start',
  );
  return child;
}

export async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

export async function seed(port: number, values: Record<string, string>, db = 0): Promise<void> {
  const client = new Redis({ host: '127.0.0.1', port, db, lazyConnect: true });
  await client.connect();
  for (const [k, v] of Object.entries(values)) await client.set(k, v);
  client.disconnect();
}
