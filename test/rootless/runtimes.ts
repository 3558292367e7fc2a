// tsrun and runc side by side for the rootless tests: each run by the same user on the same bundles, with its
// default state root under the user's XDG_RUNTIME_DIR. Bundles start from `tsrun spec --rootless` as the user.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TSRUN, type Config } from '../helpers/harness';
import { RUNC, type RunResult, type TestUser } from './user';

export interface Runtime {
  name: 'tsrun' | 'runc';
  bin: string;
  /** The state root each takes without --root: $XDG_RUNTIME_DIR/<dir>. */
  dir: string;
}

export const RUNTIMES: Runtime[] = [
  { name: 'tsrun', bin: TSRUN, dir: 'tsrun' },
  { name: 'runc', bin: RUNC, dir: 'runc' },
];

let counter = 0;

export function uniqueId(label: string): string {
  return `rl-${label}-${process.pid}-${++counter}`;
}

/** The config `tsrun spec --rootless` writes for this user, made non-interactive, with the user's rootfs. */
export function rootlessConfig(u: TestUser, args: string[]): Config {
  const dir = u.mkdir(`spec-${++counter}`);
  const r = u.run([TSRUN, 'spec', '--rootless'], { cwd: dir });
  if (r.code !== 0) throw new Error(`tsrun spec --rootless: ${r.stderr}`);
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.rmSync(dir, { recursive: true });
  c.process.terminal = false;
  c.process.args = args;
  c.root.path = u.rootfs;
  return c;
}

/** A bundle the user owns with `config` (edited). */
export function bundle(u: TestUser, config: Config, edit: (c: Config) => void = () => undefined): string {
  const dir = u.mkdir(`bundle-${++counter}`);
  const c = structuredClone(config);
  edit(c);
  u.writeFile(path.join(dir, 'config.json'), JSON.stringify(c, null, 2));
  return dir;
}

export function rt(u: TestUser, r: Runtime, args: string[], opts: Parameters<TestUser['run']>[1] = {}): RunResult {
  return u.run([r.bin, ...args], opts);
}

/** The entries a runtime left in its state root (none once every container is deleted). */
export function stateEntries(u: TestUser, r: Runtime, root = path.join(u.xdg, r.dir)): string[] {
  if (!fs.existsSync(root)) return [];
  // tsrun's seccomp cache may stay (nothing here loads seccomp); locks and containers must not
  return fs.readdirSync(root).filter((e) => e !== '.seccomp-cache');
}

/** What a failed or finished test must not leave: processes of the user, containers in the state root. */
export function leftovers(u: TestUser, r: Runtime, root?: string): string[] {
  const left = stateEntries(u, r, root).map((e) => `${r.name} state: ${e}`);
  // a process on its way out is not left behind: a runtime may return while its helper (tsrun's stage 0 after it
  // reported the exit status, a killed init) is still exiting; give such ones 2 s
  const end = Date.now() + 2000;
  while (u.pids().length && Date.now() < end) spawnSync('sleep', ['0.05']);
  const pids = u.pids();
  if (pids.length) left.push(`processes of ${u.name}: ${pids.join(' ')}`);
  return left;
}

/** delete --force of every container in the runtime's state root, as the user (the tests' own cleanup). */
export function deleteAll(u: TestUser, r: Runtime, root?: string): void {
  const dir = root ?? path.join(u.xdg, r.dir);
  for (const e of stateEntries(u, r, dir)) {
    if (e.startsWith('.')) continue;
    rt(u, r, ['--root', dir, 'delete', '--force', e]);
  }
}

export async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export function stateOf(u: TestUser, r: Runtime, id: string): { status: string; pid: number } | undefined {
  const s = rt(u, r, ['state', id]);
  return s.code === 0 ? JSON.parse(s.stdout) : undefined;
}
