// A lock per container, so that parallel create, start, delete, pause,
// resume and update on one container take turns. It is an abstract unix
// socket bound to a name derived from (root, id): binding is exclusive, and
// the kernel releases it when the holder exits however it dies, so a crash
// never leaves a stale lock behind. The socket is close-on-exec, so the
// container's init never inherits it.
import * as net from 'node:net';
import { TsrunError } from '../errors';
import { sleepAsync } from './sleep';

/** FNV-1a, 64 bits: a short, stable name for any (root, id). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  }
  return h.toString(16).padStart(16, '0');
}

export function lockName(root: string, id: string): string {
  return `\0tsrun-lock-${fnv1a64(`${root}\0${id}`)}`;
}

function tryBind(name: string): Promise<net.Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve(undefined);
      else reject(e);
    });
    server.listen(name, () => resolve(server));
  });
}

export interface Lock {
  release(): void;
}

export async function lockContainer(root: string, id: string, timeoutMs = 60_000): Promise<Lock> {
  const name = lockName(root, id);
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  for (;;) {
    const server = await tryBind(name);
    if (server) {
      server.unref();
      return { release: () => server.close() };
    }
    if (Date.now() > deadline) throw new TsrunError(`container ${id} is busy: another tsrun process holds its lock`);
    await sleepAsync(pause);
    pause = Math.min(pause * 2, 20);
  }
}

/** Runs fn while holding the container's lock. */
export async function withLock<T>(root: string, id: string, fn: () => T | Promise<T>): Promise<T> {
  const lock = await lockContainer(root, id);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
