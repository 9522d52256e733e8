// systemd socket activation, as sd_listen_fds(3) defines it: when LISTEN_PID is our PID, systemd
// passed LISTEN_FDS listening sockets starting at fd 3 (SD_LISTEN_FDS_START), named in
// LISTEN_FDNAMES. websockify serves exactly one. The variables are removed from the environment
// whether or not they were meant for us, so no program we start mistakes them for its own.
// This only finds the socket; inherited.ts listens on it.

import { ConfigError } from '../errors/config-error.js';

const SD_LISTEN_FDS_START = 3;

/** The socket systemd passed in, for WebsockifyOptions.listen. */
export interface ActivatedSocket {
  fd: number;
  name: string;
}

/**
 * Takes the socket passed by systemd, if any (LISTEN_PID = `pid`, LISTEN_FDS = 1). Throws
 * ConfigError for LISTEN_FDS above 1 or not a number. Always unsets LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES in `env`.
 */
export function takeActivatedSocket(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): ActivatedSocket | undefined {
  const { LISTEN_PID: forPid, LISTEN_FDS: count, LISTEN_FDNAMES: names } = env;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (forPid === undefined || forPid !== String(pid)) return undefined;
  if (count === undefined || !/^\d+$/.test(count)) {
    throw new ConfigError(
      `systemd socket activation: LISTEN_FDS is '${count ?? ''}', not a number`,
      undefined,
      'ERR_ENVIRONMENT',
    );
  }
  const n = Number(count);
  if (n === 0) return undefined;
  if (n > 1) {
    throw new ConfigError(
      `systemd passed ${n} sockets (LISTEN_FDS=${n}) but websockify serves exactly one: ` +
        'give the .socket unit a single ListenStream=',
      undefined,
      'ERR_ENVIRONMENT',
    );
  }
  const name = names?.split(':')[0];
  return { fd: SD_LISTEN_FDS_START, name: name ? `systemd: ${name}` : 'systemd' };
}
