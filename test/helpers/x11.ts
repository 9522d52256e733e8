// A TigerVNC X server for tests: its command line on a free display, and painting its root
// window (the colour a VNC client must then show).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { eventually } from './wait.js';

export const XVNC = '/usr/bin/Xtigervnc';
export const XSETROOT = '/usr/bin/xsetroot';

/** An X display number with no server on it (no lock file, no socket). */
export function freeDisplay(): number {
  for (let n = 40 + Math.floor(Math.random() * 50); ; n++) {
    if (!existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`)) return n;
  }
}

/**
 * `Xtigervnc :DISPLAY` serving RFB on `port`, 640x480x24, no authentication. No -interface: it
 * binds [::1] as well as IPv4, which a wrapping rebind.so must move too.
 */
export function xvncCommand(display: number, port: number): string[] {
  return [
    XVNC,
    `:${display}`,
    '-rfbport',
    String(port),
    '-SecurityTypes',
    'None',
    '-geometry',
    '640x480',
    '-depth',
    '24',
  ];
}

/** Paints the root window, retrying until the X server accepts connections. */
export async function paintRoot(display: number, colour: string, ms: number): Promise<void> {
  await eventually(
    () =>
      new Promise<boolean>((resolve) =>
        execFile(XSETROOT, ['-display', `:${display}`, '-solid', colour], (err) => resolve(!err)),
      ),
    `xsetroot to reach display :${display}`,
    { ms, every: 200 },
  );
}
