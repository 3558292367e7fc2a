// The criu that checkpoint tests run: Debian 13's 4.1, unpacked by `make criu-deps` into build/criu (Debian 12's
// 3.17 cannot start on Linux 6.13 and later; see scripts/criu-private.sh). Its absence is a missing precondition.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, precondition } from './harness';

export const PRIVATE_CRIU = path.join(REPO, 'build/criu/criu');
export const SYSTEM_CRIU = '/usr/sbin/criu';

/** `criu check` passes with the private criu (it is there, and works on this kernel). */
export function criuAvailable(): boolean {
  if (!precondition(fs.existsSync(PRIVATE_CRIU), `${PRIVATE_CRIU} is missing (make criu-deps)`)) return false;
  const r = spawnSync(PRIVATE_CRIU, ['check'], { encoding: 'utf8', timeout: 60_000 });
  return precondition(r.status === 0, `${PRIVATE_CRIU} check failed: ${(r.stderr || r.stdout).trim()}`);
}

/** The version criu prints, as [major, minor], or undefined when it is not there. */
export function criuVersion(bin: string): [number, number] | undefined {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  const m = /Version: (\d+)\.(\d+)/.exec(r.stdout ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The running kernel's version, as [major, minor]. */
export function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8'))!;
  return [Number(m[1]), Number(m[2])];
}

/** Waits until fn() is true; throws with `what` after timeoutMs. */
export async function waitFor(fn: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The numbers a counter wrote, one a line. */
export function counts(file: string): number[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/**
 * CRIU's kernel-feature cache: every criu run writes /run/criu.kdat.tmp and, /run not being a tmpfs here, leaves
 * it. The files absent when this module loaded (before criuAvailable() runs criu) are removed by the cleanup.
 */
const cacheAbsent = ['/run/criu.kdat', '/run/criu.kdat.tmp'].filter((f) => !fs.existsSync(f));
export function guardCriuCache(): () => void {
  return () => {
    for (const f of cacheAbsent) fs.rmSync(f, { force: true });
  };
}
