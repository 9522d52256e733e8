// The wrap supervisor: runs the wrapped program with rebind.so preloaded so that its bind() to
// the public port lands on a loopback port, applies --wrap-mode when it exits (exit, ignore,
// respawn with a rate limit), warns when it never binds, and stops its whole process group. A
// watchdog (watchdog.ts) stops the program's whole tree if websockify dies without stopping it.

import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Logger } from '../log/logger.js';
import { randomUUID } from 'node:crypto';
import { resolveCommand } from './command.js';
import { findMarkedProcesses, WRAP_ID_VARIABLE } from './marked-processes.js';
import { isPortListening } from './listening.js';
import { RespawnLimiter } from './respawn-limiter.js';
import { startWatchdog, websockifyInitPath, type Watchdog } from './watchdog.js';
import { rebuildCommand } from '../config/rebuild-command.js';
import { defaultPackageRoot } from './rebind-library.js';

export type WrapMode = 'exit' | 'ignore' | 'respawn';

/** A program and its arguments: never empty. */
export type CommandLine = readonly [program: string, ...args: string[]];

export interface SupervisorOptions {
  /** The program and its arguments. */
  command: CommandLine;
  mode: WrapMode;
  /** The port the program binds (REBIND_OLD_PORT). */
  programPort: number;
  /** The loopback port its bind is moved to (REBIND_NEW_PORT). */
  movedPort: number;
  /** Absolute path of rebind.so. */
  rebindLibrary: string;
  logger: Logger;
  /** The program's stdin: ours (default), or /dev/null (when ours is a listening socket). */
  stdin?: 'inherit' | 'ignore';
  /** Time between SIGTERM and SIGKILL when stopping. */
  graceMs?: number;
  /** Warn when the program has not bound its port this long after a start. */
  bindWarningMs?: number;
  respawnLimiter?: RespawnLimiter;
  /** websockify-init for the watchdog (default: this package's build); false for none. */
  init?: string | false;
}

export interface SupervisorEvents {
  /** exit mode: the program ended; websockify should end with this status. */
  exit: [status: number];
  /** Every start of the program (for logs and tests). */
  start: [pid: number];
}

/** The shell convention: the exit code, or 128+N for death by signal N. */
function exitStatus(exitCode: number | undefined, signal: string | undefined): number {
  if (exitCode !== undefined) return exitCode;
  const number = signal ? osConstants.signals[signal as NodeJS.Signals] : undefined;
  return number === undefined ? 1 : 128 + number;
}

/** Runs the program in its own process group, so that stopping it reaches everything it started. */
function spawnProgram(file: string, command: CommandLine, env: NodeJS.ProcessEnv, stdin: 'inherit' | 'ignore') {
  return execa(file, command.slice(1), {
    env,
    extendEnv: true,
    stdio: [stdin, 'inherit', 'inherit'],
    detached: true,
    reject: false,
    cleanup: false,
    forceKillAfterDelay: false,
    argv0: command[0],
  });
}

/** A started program, typed by execa from the options above. */
type Program = ReturnType<typeof spawnProgram>;

/** process.kill that reports whether the target existed instead of throwing ESRCH. */
function sendSignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export class WrapSupervisor extends EventEmitter<SupervisorEvents> {
  private child: Program | undefined;
  private childExited: Promise<number> | undefined;
  private stopping = false;
  private respawnTimer: AbortController | undefined;
  /** Process groups of every start; members may outlive the leader (daemonizing programs). */
  private readonly groups = new Set<number>();
  private readonly limiter: RespawnLimiter;
  private readonly file: string;
  private readonly label: string;
  /** Marks every process descending from the program, even daemons outside its group. */
  private readonly wrapId = `${process.pid}-${randomUUID()}`;
  /** Started with the first start; undefined without websockify-init. */
  private watchdog: Watchdog | undefined;
  private watchdogStarted = false;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.limiter = opts.respawnLimiter ?? new RespawnLimiter();
    // Throws WrapCommandError (127/126) for a missing or non-executable program.
    this.file = resolveCommand(opts.command[0]);
    this.label = `'${opts.command.join(' ')}'`;
  }

  /** The running program's PID, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Environment of the program: ours plus the preload, the old and the new port. */
  private environment(): NodeJS.ProcessEnv {
    const preload = process.env.LD_PRELOAD;
    return {
      LD_PRELOAD: preload ? `${this.opts.rebindLibrary} ${preload}` : this.opts.rebindLibrary,
      REBIND_OLD_PORT: String(this.opts.programPort),
      REBIND_NEW_PORT: String(this.opts.movedPort),
      // Without the watchdog, rebind.so makes our direct child ask for SIGTERM when we die.
      ...(this.watchdog ? {} : { REBIND_PARENT_PID: String(process.pid) }),
      [WRAP_ID_VARIABLE]: this.wrapId,
    };
  }

  /** Starts the program. Resolves once it has been spawned; rejects if it cannot be. */
  async start(): Promise<void> {
    if (!this.watchdogStarted) {
      this.watchdogStarted = true;
      const init = this.opts.init === undefined ? websockifyInitPath() : this.opts.init || undefined;
      const started = await startWatchdog(init, this.wrapId, this.opts.graceMs ?? 5000);
      if ('failed' in started) {
        // rebind.so's parent-death signal (environment()) still stops the program itself.
        if (init !== undefined) {
          this.opts.logger.warn(
            `no watchdog for the wrapped program (${started.failed}): if websockify is killed, only the ` +
              `program itself is stopped, not what it started; rebuild with ${rebuildCommand(defaultPackageRoot())}`,
          );
        }
      } else {
        this.watchdog = started;
      }
    }
    this.limiter.recordStart(Date.now());
    this.opts.logger.info(`Starting ${this.label}`);
    const child = spawnProgram(this.file, this.opts.command, this.environment(), this.opts.stdin ?? 'inherit');
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const pid = child.pid!;
    this.groups.add(pid);
    this.emit('start', pid);
    this.childExited = child.then((result) => exitStatus(result.exitCode, result.signal));
    void this.childExited.then((status) => this.onExit(child, status));
    void this.watchBind(child);
  }

  private onExit(child: Program, status: number): void {
    if (this.child === child) this.child = undefined;
    if (this.stopping) return;
    const { logger } = this.opts;
    switch (this.opts.mode) {
      case 'exit':
        logger.info(`Wrapped command exited with status ${status}`);
        this.emit('exit', status);
        return;
      case 'ignore':
        logger.info(`Wrapped command exited (or daemonized) with status ${status}; continuing (--wrap-mode=ignore)`);
        return;
      case 'respawn':
        void this.respawn(status);
    }
  }

  private async respawn(status: number): Promise<void> {
    const delay = this.limiter.delayBeforeNextStart(Date.now());
    if (delay > 0) {
      this.opts.logger.warn(
        `Wrapped command exited with status ${status}; respawning too fast, next start in ${(delay / 1000).toFixed(1)} s`,
      );
      this.respawnTimer = new AbortController();
      try {
        await sleep(delay, undefined, { signal: this.respawnTimer.signal });
      } catch {
        return; // stopped meanwhile
      }
    } else {
      this.opts.logger.info(`Wrapped command exited with status ${status}; respawning`);
    }
    if (this.stopping) return;
    await this.start().catch((err: Error) => {
      this.opts.logger.error(`Respawning ${this.label} failed: ${err.message}`);
    });
  }

  /** Warns once if the program is still running but has not bound its port after a while. */
  private async watchBind(child: Program): Promise<void> {
    const deadline = Date.now() + (this.opts.bindWarningMs ?? 5000);
    while (Date.now() < deadline) {
      await sleep(250);
      if (this.child !== child || this.stopping) return;
      if (await isPortListening(this.opts.movedPort)) return;
    }
    if (this.child !== child || this.stopping) return;
    this.opts.logger.warn(
      `${this.label} has not bound port ${this.opts.programPort} (moved to ${this.opts.movedPort}) ` +
        `${((this.opts.bindWarningMs ?? 5000) / 1000).toFixed(0)} s after starting. Likely causes: it is a static ` +
        `binary or a Go program, which LD_PRELOAD cannot affect; it listens on another port than ` +
        `${this.opts.programPort} (tell websockify with --wrap-port); or it is still starting.`,
    );
  }

  /**
   * Stops the program and everything in its process groups: SIGTERM, then SIGKILL after the
   * grace period. Resolves with its exit status (undefined when it was not running).
   */
  async stop(): Promise<number | undefined> {
    this.stopping = true;
    this.respawnTimer?.abort();
    const running = this.child?.pid !== undefined ? this.childExited : undefined;
    this.signalGroups('SIGTERM');
    const graceMs = this.opts.graceMs ?? 5000;
    const deadline = Date.now() + graceMs;
    let status: number | undefined;
    if (running) {
      const timer = setTimeout(() => {
        this.opts.logger.warn(`${this.label} did not stop within ${graceMs / 1000} s; killing it`);
        this.signalGroups('SIGKILL');
      }, graceMs);
      status = await running;
      clearTimeout(timer);
    }
    // Members that outlived the leader get the rest of the grace period, then SIGKILL.
    while (this.signalGroups(0) && Date.now() < deadline) await sleep(50);
    this.signalGroups('SIGKILL');
    await this.stopMarkedProcesses(deadline);
    this.watchdog?.release();
    return status;
  }

  /** Daemons that left the process group (setsid) are found by their environment mark. */
  private async stopMarkedProcesses(deadline: number): Promise<void> {
    let pids = await findMarkedProcesses(this.wrapId);
    if (pids.length === 0) return;
    this.opts.logger.info(`Stopping ${pids.length} process(es) the wrapped command left running`);
    for (const pid of pids) sendSignal(pid, 'SIGTERM');
    const until = Math.max(deadline, Date.now() + 1000);
    while (pids.length > 0 && Date.now() < until) {
      await sleep(50);
      pids = await findMarkedProcesses(this.wrapId);
    }
    for (const pid of pids) sendSignal(pid, 'SIGKILL');
  }

  /** Sends `signal` to every process group started; true if any group still exists. */
  private signalGroups(signal: NodeJS.Signals | 0): boolean {
    let alive = false;
    for (const group of this.groups) {
      if (sendSignal(-group, signal)) alive = true;
      else this.groups.delete(group); // nobody left in it
    }
    return alive;
  }
}
