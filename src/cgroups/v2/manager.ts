// The cgroup v2 driver: one directory (paths.unified). Controllers must be
// enabled in every ancestor (create.ts); a resource whose controller is not in
// the cgroup's cgroup.controllers is an error that names the field.

import { TsrunError, sysError } from '../../errors';
import type { Resources } from '../../spec/types';
import { OomWatchOptions, addProcessTo, pidsIn, pollOom, removeDirs, signalAll } from '../common';
import type { CgroupFs } from '../fs';
import type { CgroupManager } from '../manager';
import type { Stats } from '../stats';
import { type CtlCtx, type U64, writeError } from '../util';
import type { BpfSys } from './bpf-sys';
import type { EnableFailures } from './create';
import { isFrozenAt } from '../frozen';
import { freezeV2, thawV2 } from './freezer';

import { load } from '../lazy';

const memory = () => load.v2Memory();

export class V2Manager implements CgroupManager {
  readonly version = 'v2' as const;
  private failures: EnableFailures = new Map();

  constructor(
    private readonly fs: CgroupFs,
    readonly paths: Record<string, string>,
    private readonly opts: { mountPoint?: string; bpf?: BpfSys } = {},
  ) {
    if (!paths.unified) throw new TsrunError('cgroup v2 paths need a "unified" directory');
  }

  private get dir(): string {
    return this.paths.unified;
  }

  procsFiles(): string[] {
    return [`${this.dir}/cgroup.procs`];
  }

  create(): void {
    try {
      this.failures = load.v2Create().createV2(this.fs, this.dir, this.opts.mountPoint);
    } catch (e) {
      if (e instanceof TsrunError) throw e;
      throw sysError(`create the cgroup ${this.dir}`, e);
    }
  }

  addProcess(pid: number): void {
    addProcessTo(this.fs, [this.dir], pid);
  }

  apply(resources: Resources | undefined): void {
    if (resources) this.set(resources, false);
  }

  update(resources: Resources): void {
    this.set(resources, true);
  }

  private resources(): import('./resources').V2Resources {
    const { V2Resources } = load.v2Resources();
    return new V2Resources(this.fs, this.dir, { bpf: this.opts.bpf, failures: this.failures });
  }

  private set(r: Resources, update: boolean): void {
    this.resources().set(r, update);
  }

  destroy(): void {
    removeDirs(this.fs, [this.dir]);
  }

  exists(): boolean {
    return this.fs.exists(this.dir);
  }

  pids(): number[] {
    return pidsIn(this.fs, this.dir);
  }

  killAll(signal: NodeJS.Signals | number = 'SIGKILL'): void {
    const isKill = signal === 'SIGKILL' || signal === 9;
    if (isKill && this.fs.exists(`${this.dir}/cgroup.kill`)) {
      try {
        this.fs.writeFile(`${this.dir}/cgroup.kill`, '1');
        return;
      } catch (e) {
        throw writeError('kill --all', '1', `${this.dir}/cgroup.kill`, e);
      }
    }
    const canFreeze = this.fs.exists(`${this.dir}/cgroup.freeze`);
    if (canFreeze) freezeV2(this.fs, this.dir);
    try {
      signalAll(this.pids(), signal);
    } finally {
      if (canFreeze) thawV2(this.fs, this.dir);
    }
  }

  freeze(): void {
    freezeV2(this.fs, this.dir);
  }

  thaw(): void {
    thawV2(this.fs, this.dir);
  }

  isFrozen(): boolean {
    return isFrozenAt(this.paths, this.fs);
  }

  stats(): Stats {
    return this.resources().stats();
  }

  oomKillCount(): U64 {
    return memory().oomKillCountV2({ fs: this.fs, dir: this.dir, update: false });
  }

  watchOom(onOom: () => void, opts?: OomWatchOptions): () => void {
    const c: CtlCtx = { fs: this.fs, dir: this.dir, update: false };
    const m = memory();
    return pollOom(() => m.oomKillCountV2(c), onOom, opts);
  }
}
