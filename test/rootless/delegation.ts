// A cgroup delegated to the test user, made by root as a login manager would make one: a directory at the root
// of every cgroup hierarchy (v1 ones, name=systemd and the cgroup2 mount on this hybrid host), owned by the user
// with its cgroup.procs and tasks, and the user's commands started inside it (root moves the shell in, then
// setpriv drops to the user). remove() kills nothing: the tests end their containers first; it removes the
// directories, deepest first, and says what it could not remove.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestUser } from './user';

/** Mount points of every cgroup hierarchy (cgroup and cgroup2 mounts). */
export function hierarchyRoots(): string[] {
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2')
    .map((f) => f[1]);
}

/** A pure cgroup v2 host (the cgroup2 mount at /sys/fs/cgroup), as in ../shared/lab/cgv2-run. */
export const PURE_V2 = hierarchyRoots().length === 1 && fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
const V1 = '/sys/fs/cgroup';

export class Delegation {
  readonly name: string;
  readonly dirs: string[];
  /** Where the user's commands start: the delegated dirs on v1; on v2 a leaf below (no processes in an inner node). */
  private readonly joins: string[];

  constructor(readonly user: TestUser) {
    this.name = `tsrun-rootless-deleg-${process.pid}`;
    this.dirs = [...new Set(hierarchyRoots())].map((r) => path.join(r, this.name));
    this.joins = PURE_V2 ? this.dirs.map((d) => path.join(d, 'login')) : this.dirs;
    for (const d of [...this.dirs, ...this.joins]) {
      if (!fs.existsSync(d)) fs.mkdirSync(d);
      fs.chownSync(d, user.uid, user.gid);
      for (const f of ['cgroup.procs', 'tasks', 'cgroup.subtree_control', 'cgroup.threads']) {
        if (fs.existsSync(path.join(d, f))) fs.chownSync(path.join(d, f), user.uid, user.gid);
      }
    }
    // the cpuset a child copies needs values here first (v1 starts a new cpuset empty)
    for (const d of this.dirs) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const parent = path.join(path.dirname(d), f);
        if (fs.existsSync(path.join(d, f))) fs.writeFileSync(path.join(d, f), fs.readFileSync(parent, 'utf8').trim());
      }
    }
  }

  /** argv for TestUser.run's `via`: a root shell that joins the delegated cgroups, then becomes the user. */
  wrap(argv: string[]): string[] {
    const joins = this.joins.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
    return ['sh', '-c', `${joins} && exec "$@"`, 'join', 'setpriv', `--reuid=${this.user.uid}`, `--regid=${this.user.gid}`, '--clear-groups', '--', ...argv];
  }

  /** The directories of a container under the delegated ones, that exist. */
  childrenOf(id: string): string[] {
    return this.dirs.map((d) => path.join(d, id)).filter((d) => fs.existsSync(d));
  }

  /** A container's cgroup file: v1 by controller hierarchy, v2 the one directory. */
  file(id: string, v1Ctrl: string, v1File: string, v2File: string): string {
    return PURE_V2 ? path.join(V1, this.name, id, v2File) : path.join(V1, v1Ctrl, this.name, id, v1File);
  }

  memoryLimit(id: string): string {
    return fs.readFileSync(this.file(id, 'memory', 'memory.limit_in_bytes', 'memory.max'), 'utf8').trim();
  }

  pidsMax(id: string): string {
    return fs.readFileSync(this.file(id, 'pids', 'pids.max', 'pids.max'), 'utf8').trim();
  }

  frozen(id: string): boolean {
    const v = fs.readFileSync(this.file(id, 'freezer', 'freezer.state', 'cgroup.freeze'), 'utf8').trim();
    return v === 'FROZEN' || v === '1';
  }

  remove(): string[] {
    const left: string[] = [];
    for (const d of this.dirs) {
      if (!fs.existsSync(d)) continue;
      // the containers' leaves first (a created container's is left by a failed test), and v2's login leaf
      const r = spawnSync('find', [d, '-depth', '-mindepth', '1', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { encoding: 'utf8' });
      try {
        fs.rmdirSync(d);
      } catch (e) {
        left.push(`${d}: ${(e as Error).message} ${r.stderr}`.trim());
      }
    }
    return left;
  }
}
