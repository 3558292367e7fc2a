// The systemd cgroup driver, behind the same CgroupManager interface as cgroupfs. systemd owns the container's
// cgroup: create starts a transient scope unit holding the init (StartTransientUnit, Delegate=yes, the resources
// systemd has properties for), update sets unit properties, destroy stops the unit and forgets it if it failed.
// Everything else (limits systemd has no property for, pause, kill --all, ps, stats, OOM) is the cgroupfs code on
// the unit's own cgroup directories, as runc does: `inner` is a V1Manager or V2Manager on those paths.
// A rootless caller's unit goes to the user's own manager (systemd --user, on the user bus), in its delegated
// cgroup v2 subtree. D-Bus is loaded by import(), in connectSystemd only.
import type { Resources } from '../../spec/types';
import type { OomWatchOptions } from '../common';
import type { CgroupManager } from '../manager';
import type { Stats } from '../stats';
import type { U64 } from '../util';
import type { Property } from './properties';
import { mark } from '../../log/timing';

/** What the container's state keeps of its unit, so that later calls (update, delete) reach it. */
export interface SystemdUnitRecord {
  unit: string;
  slice: string;
  /** A rootless container's unit, in the user's own manager (the user bus). */
  user?: true;
}

type Systemd = import('./systemd').Systemd;

/** The error class, for instanceof without loading D-Bus before a unit call needs it. */
let SystemdError: typeof import('./systemd').SystemdError;

/** A connection to the system manager, or to the user's (rootless); D-Bus is loaded here, by import(). */
export async function connectSystemd(user: boolean): Promise<Systemd> {
  mark('systemd: connect');
  const [mod, { busChoice }] = await Promise.all([import('./systemd'), import('./bus-choice')]);
  mark('systemd: client loaded');
  SystemdError = mod.SystemdError;
  const sd = await mod.Systemd.connect(busChoice(user));
  mark('systemd: connected');
  return sd;
}

export class SystemdManager implements CgroupManager {
  /** false while this process has not asked for the unit: a create that failed before needs no D-Bus to undo. */
  private unitAsked: boolean;
  /** A connection opened before create() needs it (openCgroupManager), so that connecting overlaps other work. */
  private early: Promise<Systemd> | undefined;
  constructor(
    private readonly inner: CgroupManager,
    readonly systemdUnit: SystemdUnitRecord,
    private readonly id: string,
    opts: { reopened: boolean; early?: Promise<Systemd> } = { reopened: true },
  ) {
    this.unitAsked = opts.reopened;
    this.early = opts.early;
    // a create that fails before create() never awaits it: its failure is not an unhandled rejection
    this.early?.catch(() => undefined);
  }

  /** One connection for fn: the early one if there is one, closed after. */
  private async withSystemd<T>(fn: (sd: Systemd) => Promise<T>): Promise<T> {
    const early = this.early;
    this.early = undefined;
    const sd = await (early ?? connectSystemd(this.systemdUnit.user === true));
    try {
      return await fn(sd);
    } finally {
      sd.close();
      mark('systemd: done');
    }
  }

  /** Closes the early connection if nothing used it. */
  private dropEarly(): void {
    this.early?.then((sd) => sd.close(), () => undefined);
    this.early = undefined;
  }

  get version(): 'v1' | 'v2' {
    return this.inner.version;
  }
  get paths(): Record<string, string> {
    return this.inner.paths;
  }
  /** The unit properties for resources; loaded by import(), as only create and update need them. */
  private async properties(resources: Resources): Promise<Property[]> {
    const [{ resourceProperties }, { readProcDevicesOnce, deviceExists }] = await Promise.all([import('./properties'), import('./proc-devices')]);
    return resourceProperties(resources, resources.devices, { version: this.version, devices: readProcDevicesOnce(), deviceExists });
  }

  procsFiles(): string[] {
    return this.inner.procsFiles();
  }

  /** The scope with the init in it; then the directories systemd does not make (v1 cpuset, freezer, ...). */
  async create(o: { pid?: number; resources?: Resources } = {}): Promise<void> {
    if (!o.pid) throw new Error('internal error: the systemd driver starts its unit with the init\'s pid');
    const { unitBaseProperties } = await import('./properties');
    const slice = this.systemdUnit.unit.endsWith('.slice') ? undefined : this.systemdUnit.slice;
    const props = [...unitBaseProperties({ id: this.id, slice, pid: o.pid, version: this.version }), ...(await this.properties(o.resources ?? {}))];
    await this.withSystemd(async (sd) => {
      this.unitAsked = true; // connected: from here a failure may leave a unit to stop
      try {
        await sd.startTransientUnit(this.systemdUnit.unit, props);
      } catch (e) {
        // a unit of the same name left failed (an earlier container killed by OOM, say) holds the name: once
        if (!(e instanceof SystemdError) || e.dbusName !== 'org.freedesktop.systemd1.UnitExists') throw e;
        await sd.resetFailedUnit(this.systemdUnit.unit);
        await sd.startTransientUnit(this.systemdUnit.unit, props);
      }
    });
    this.inner.create();
  }

  addProcess(pid: number): void {
    this.inner.addProcess(pid);
  }

  /** The cgroup files, for everything (systemd's own properties were set with the unit), as runc does. */
  apply(resources: Resources | undefined): void {
    this.inner.apply(resources);
  }

  async update(resources: Resources): Promise<void> {
    const props = await this.properties(resources);
    if (props.length) await this.withSystemd((sd) => sd.setUnitProperties(this.systemdUnit.unit, props));
    await this.inner.update(resources);
  }

  /** Stops the unit (its processes are dead by now), forgets it, then removes what systemd left. */
  async destroy(): Promise<void> {
    let failed: unknown;
    if (!this.unitAsked) this.dropEarly();
    else {
      try {
        await this.withSystemd(async (sd) => {
          await sd.stopUnit(this.systemdUnit.unit);
          await sd.resetFailedUnit(this.systemdUnit.unit);
        });
      } catch (e) {
        failed = e; // the directories go all the same; the unit's error is told after
      }
    }
    await this.inner.destroy();
    if (failed) throw failed;
  }

  exists(): boolean {
    return this.inner.exists();
  }
  pids(): number[] {
    return this.inner.pids();
  }
  killAll(signal?: NodeJS.Signals | number): void {
    this.inner.killAll(signal);
  }
  freeze(): void {
    this.inner.freeze();
  }
  thaw(): void {
    this.inner.thaw();
  }
  isFrozen(): boolean {
    return this.inner.isFrozen();
  }
  stats(): Stats {
    return this.inner.stats();
  }
  oomKillCount(): U64 {
    return this.inner.oomKillCount();
  }
  watchOom(onOom: () => void, opts?: OomWatchOptions): () => void {
    return this.inner.watchOom(onOom, opts);
  }
}
