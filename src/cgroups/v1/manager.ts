// The cgroup v1 driver (pure v1 and hybrid hosts). One directory per
// hierarchy; on hybrid hosts also the unified (cgroup2) directory, which the
// init joins too and which carries hugetlb when hugetlb has no v1 hierarchy.

import { TsrunError, sysError } from '../../errors';
import type { Resources } from '../../spec/types';
import { OomWatchOptions, addProcessTo, pidsIn, pollOom, procsFilesOf, removeDirs, signalAll } from '../common';
import type { CgroupFs } from '../fs';
import type { CgroupManager } from '../manager';
import { uniqueDirs } from '../paths';
import type { Stats } from '../stats';
import type { CtlCtx, U64 } from '../util';
import { isFrozenAt } from '../frozen';
import { freezeV1, thawV1 } from './freezer';

import { load } from '../lazy';

const memory = () => load.v1Memory();

export class V1Manager implements CgroupManager {
  readonly version = 'v1' as const;

  constructor(
    private readonly fs: CgroupFs,
    readonly paths: Record<string, string>,
    private readonly opts: { unifiedMount?: string } = {},
  ) {}

  private dirs(): string[] {
    return uniqueDirs(this.paths);
  }

  procsFiles(): string[] {
    return procsFilesOf(this.dirs());
  }

  create(): void {
    for (const dir of this.dirs()) {
      try {
        if (dir === this.paths.cpuset) {
          load.v1Cpuset().createCpuset(this.fs, dir);
        } else {
          this.fs.mkdirp(dir);
        }
      } catch (e) {
        if (e instanceof TsrunError) throw e;
        throw sysError(`create the cgroup ${dir}`, e); // e.g. a user who is not root, with --rootless false
      }
    }
  }

  addProcess(pid: number): void {
    addProcessTo(this.fs, this.dirs(), pid);
  }

  apply(resources: Resources | undefined): void {
    if (resources) this.set(resources, false);
  }

  update(resources: Resources): void {
    this.set(resources, true);
  }

  private set(r: Resources, update: boolean): void {
    const { V1Resources } = load.v1Resources();
    new V1Resources(this.fs, this.paths, this.opts).set(r, update);
  }

  destroy(): void {
    removeDirs(this.fs, this.dirs());
  }

  exists(): boolean {
    return this.dirs().some((d) => this.fs.exists(d));
  }

  private anyDir(): string {
    for (const k of ['pids', 'memory', 'devices', 'freezer', 'cpu', 'name=systemd']) if (this.paths[k]) return this.paths[k];
    const d = this.dirs()[0];
    if (!d) throw new TsrunError('the container has no cgroup');
    return d;
  }

  pids(): number[] {
    return pidsIn(this.fs, this.anyDir());
  }

  killAll(signal: NodeJS.Signals | number = 'SIGKILL'): void {
    const freezer = this.paths.freezer && this.fs.exists(this.paths.freezer);
    if (freezer) freezeV1(this.fs, this.paths.freezer);
    try {
      signalAll(this.pids(), signal);
    } finally {
      if (freezer) thawV1(this.fs, this.paths.freezer);
    }
  }

  private freezerDir(what: string): string {
    const d = this.paths.freezer;
    if (!d) throw new TsrunError(`cannot ${what}: no freezer cgroup hierarchy is mounted on this host`);
    return d;
  }

  freeze(): void {
    freezeV1(this.fs, this.freezerDir('pause'));
  }

  thaw(): void {
    thawV1(this.fs, this.freezerDir('resume'));
  }

  isFrozen(): boolean {
    return isFrozenAt(this.paths, this.fs);
  }

  stats(): Stats {
    const { V1Resources } = load.v1Resources();
    return new V1Resources(this.fs, this.paths, this.opts).stats();
  }

  private memCtx(): CtlCtx {
    if (!this.paths.memory) throw new TsrunError('no memory cgroup hierarchy is mounted on this host');
    return { fs: this.fs, dir: this.paths.memory, update: false };
  }

  oomKillCount(): U64 {
    return memory().oomKillCount(this.memCtx());
  }

  watchOom(onOom: () => void, opts?: OomWatchOptions): () => void {
    const c = this.memCtx();
    const m = memory();
    return pollOom(() => m.oomKillCount(c), onOom, opts, () => m.underOom(c));
  }
}
