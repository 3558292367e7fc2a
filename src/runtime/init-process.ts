// Starts tsrun-init with a socket to talk over, on either engine. Under Bun,
// Bun.spawn does it in about 0.2 ms; node:child_process costs 3.5 ms there
// (its module load, then a net.Socket around the pipe), which `create`, `run`
// and `exec` would pay on every call. Node keeps node:child_process.
import { writeSync } from 'node:fs';
import { TsrunError } from '../errors';
import { backoff } from '../state/sleep';

/** The spawned init: what the runtime needs of it. */
export interface InitProcess {
  /** Its pid (stage 0, which the container process is cloned from): the systemd driver puts it in the unit. */
  pid: number;
  kill(signal: NodeJS.Signals): void;
  /** Lets the runtime exit while the init lives on. */
  unref(): void;
  /** Its exit, once known. */
  exit: { code: number | null; signal: string | null } | undefined;
}

/** A byte stream to the init: frames go out whole, chunks come in. */
export interface InitTransport {
  write(data: Uint8Array): void;
  /** Calls onData per chunk, then onEnd once (EOF or error). */
  listen(onData: (chunk: Buffer) => void, onEnd: () => void): void;
  close(): void;
}

/** What a mode other than the container's init needs: its arguments before syncFd, our fds to pass, an environment. */
export interface InitMode {
  args: string[];
  /** Our fds, which the init gets as 3, 4, ... (after the preserved ones). */
  fds: number[];
  env: Record<string, string>;
}

/**
 * Runs `binary syncFd` with our stdio as its 0-2, `preserveFds` more of our
 * fds (3 .. 3+N-1) passed through, and one end of a socketpair at syncFd.
 */
export function spawnInit(binary: string, preserveFds: number, mode?: InitMode): { proc: InitProcess; transport: InitTransport } {
  const fds: number[] = [];
  for (let i = 0; i < preserveFds; i++) fds.push(3 + i);
  fds.push(...(mode?.fds ?? []));
  const how = { fds, syncFd: 3 + fds.length, args: mode?.args ?? [], env: mode?.env ?? {} };
  try {
    return bunRuntime() ? spawnWithBun(bunRuntime()!, binary, how) : spawnWithNode(binary, how);
  } catch (e) {
    if (e instanceof TsrunError) throw e;
    throw new TsrunError(`start ${binary}: ${(e as Error).message}`);
  }
}

// --- Bun ---------------------------------------------------------------------

interface BunSubprocess {
  readonly pid: number;
  readonly stdio: (number | undefined)[];
  readonly exited: Promise<number>;
  readonly signalCode: string | null;
  kill(signal?: string | number): void;
  unref(): void;
}
interface BunApi {
  spawn(cmd: string[], opts: { stdio: (string | number)[]; env: Record<string, string>; argv0?: string }): BunSubprocess;
  file(fd: number): { stream(): ReadableStream<Uint8Array> };
}

function bunRuntime(): BunApi | undefined {
  return (globalThis as { Bun?: BunApi }).Bun;
}

interface SpawnHow {
  fds: number[];
  syncFd: number;
  args: string[];
  env: Record<string, string>;
}

function spawnWithBun(bun: BunApi, binary: string, how: SpawnHow): { proc: InitProcess; transport: InitTransport } {
  const { syncFd } = how;
  const stdio: (string | number)[] = ['inherit', 'inherit', 'inherit', ...how.fds];
  stdio.push('pipe'); // a socketpair; our end is non-blocking
  const child = bun.spawn([binary, ...how.args, String(syncFd)], { stdio, env: how.env, argv0: 'tsrun-init' });
  const fd = child.stdio[syncFd];
  if (typeof fd !== 'number') {
    child.kill('SIGKILL');
    throw new TsrunError('start tsrun-init: no channel socket');
  }
  const proc: InitProcess = {
    pid: child.pid,
    exit: undefined,
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
    unref: () => child.unref(),
  };
  child.exited.then(
    (code) => {
      proc.exit = child.signalCode ? { code: null, signal: child.signalCode } : { code, signal: null };
    },
    () => undefined,
  );
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const transport: InitTransport = {
    write: (data) => writeAllNonBlocking(fd, data),
    listen: (onData, onEnd) => {
      reader = bun.file(fd).stream().getReader();
      const pump = (): void => {
        reader!.read().then(
          (r) => {
            if (r.done) return onEnd();
            onData(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
            pump();
          },
          () => onEnd(),
        );
      };
      pump();
    },
    // the fd itself closes when we exit: Bun's reader may still watch it
    close: () => {
      reader?.cancel().catch(() => undefined);
    },
  };
  return { proc, transport };
}

/** The socket is non-blocking: a plan larger than its buffer goes in pieces. */
function writeAllNonBlocking(fd: number, data: Uint8Array): void {
  let off = 0;
  let pause = backoff(10);
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
      pause = backoff(10); // the init is reading: short pauses again
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a dead init: the closed channel tells the caller how it ended
      if (code === 'EPIPE' || code === 'ECONNRESET') return;
      if (code !== 'EAGAIN') throw new TsrunError(`write to tsrun-init: ${(e as Error).message}`);
      pause();
    }
  }
}

// --- Node --------------------------------------------------------------------

function spawnWithNode(binary: string, how: SpawnHow): { proc: InitProcess; transport: InitTransport } {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const { syncFd } = how;
  const stdio: (number | 'pipe')[] = [0, 1, 2, ...how.fds];
  stdio.push('pipe'); // a socketpair, as a net.Socket
  const child = spawn(binary, [...how.args, String(syncFd)], { stdio, env: how.env, argv0: 'tsrun-init' });
  const socket = child.stdio[syncFd] as import('node:net').Socket | null;
  if (!socket) {
    child.kill('SIGKILL');
    throw new TsrunError('start tsrun-init: no channel socket');
  }
  child.on('error', () => undefined); // reported through the closed channel
  const proc: InitProcess = {
    pid: child.pid ?? 0,
    exit: undefined,
    kill: (signal) => {
      child.kill(signal);
    },
    unref: () => child.unref(),
  };
  child.on('exit', (code, signal) => {
    proc.exit = { code, signal };
  });
  const transport: InitTransport = {
    write: (data) => {
      socket.write(data);
    },
    listen: (onData, onEnd) => {
      socket.on('data', onData);
      socket.on('close', onEnd);
      socket.on('error', onEnd);
    },
    close: () => socket.destroy(),
  };
  return { proc, transport };
}
