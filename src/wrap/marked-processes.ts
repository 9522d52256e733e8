// Finding every process started by a wrapped program, including daemons that left its process
// group with setsid: each carries the supervisor's unique WEBSOCKIFY_WRAP_ID in its environment
// (inherited, like LD_PRELOAD, which rebinding needs anyway). Linux /proc only.

import { readdir, readFile } from 'node:fs/promises';

export const WRAP_ID_VARIABLE = 'WEBSOCKIFY_WRAP_ID';

/** PIDs (other than ours) whose environment holds WEBSOCKIFY_WRAP_ID=`id`. */
export async function findMarkedProcesses(id: string): Promise<number[]> {
  const needle = Buffer.from(`\0${WRAP_ID_VARIABLE}=${id}\0`);
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return pids;
  }
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return;
      try {
        // Leading NUL so the first variable matches like the others.
        const environ = Buffer.concat([Buffer.from([0]), await readFile(`/proc/${entry}/environ`)]);
        if (environ.includes(needle)) pids.push(Number(entry));
      } catch {
        // Gone, or not ours to read.
      }
    }),
  );
  return pids;
}
