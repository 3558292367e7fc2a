// systemd's manager API over D-Bus, the calls the driver makes: start a transient unit and wait for its job,
// change a unit's properties, stop it and wait, forget a failed one. Errors name the unit and what systemd said.
import { TsrunError } from '../../errors';
import type { BusChoice } from './bus-choice';
import { DbusConnection, DbusError, type InMessage } from './dbus';
import type { Property } from './properties';

const DEST = 'org.freedesktop.systemd1';
const PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
/** How long a job may take; runc waits 30 s as well. */
const JOB_TIMEOUT_MS = 30_000;

export class Systemd {
  /** Results of finished jobs by job path: a JobRemoved may come before the reply that names its job. */
  private readonly finished = new Map<string, string>();
  private readonly waiting = new Map<string, (result: string) => void>();

  private constructor(private readonly bus: DbusConnection) {
    bus.onSignal = (m) => this.onSignal(m);
  }

  static async connect(choice: BusChoice): Promise<Systemd> {
    const { address } = choice;
    const bus = await DbusConnection.open(address, choice.authId);
    const sd = new Systemd(bus);
    try {
      // both at once (one round trip): JobRemoved(u id, o job, s unit, s result) comes to the client that queued
      // the job; and, without activation, a bus with no systemd on it is an error here, not on the first call
      const [, [there]] = (await Promise.all([
        bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [
          `type='signal',sender='${DEST}',path='${PATH}',interface='${MANAGER}',member='JobRemoved'`,
        ]),
        bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', [DEST]),
      ])) as [unknown, [boolean]];
      if (!there) throw new Error(`systemd is not on this ${choice.kind} bus (no ${DEST})`);
    } catch (e) {
      bus.close();
      throw new TsrunError(`systemd over D-Bus at ${address}: ${(e as Error).message}`);
    }
    return sd;
  }

  private onSignal(m: InMessage): void {
    if (m.member !== 'JobRemoved' || m.interface !== MANAGER || !m.body) return;
    const [, job, , result] = m.body as [number, string, string, string];
    const w = this.waiting.get(job);
    if (w) {
      this.waiting.delete(job);
      w(result);
    } else this.finished.set(job, result);
  }

  private waitJob(job: string, what: string): Promise<void> {
    const check = (result: string) => {
      if (result !== 'done') throw new TsrunError(`${what}: the systemd job ended "${result}"`);
    };
    const done = this.finished.get(job);
    if (done !== undefined) {
      this.finished.delete(job);
      return Promise.resolve(check(done));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(job);
        reject(new TsrunError(`${what}: the systemd job did not finish in ${JOB_TIMEOUT_MS / 1000} s`));
      }, JOB_TIMEOUT_MS);
      this.waiting.set(job, (result) => {
        clearTimeout(timer);
        try {
          check(result);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  private async manager(member: string, signature: string, body: unknown[], what: string): Promise<unknown[]> {
    try {
      return await this.bus.call(DEST, PATH, MANAGER, member, signature, body);
    } catch (e) {
      if (e instanceof DbusError) throw new SystemdError(e.name, `${what}: ${e.message} (${e.name})`);
      throw new TsrunError(`${what}: ${(e as Error).message}`);
    }
  }

  /**
   * The manager's own cgroup: "/" for the system manager; for a user's, its service's, e.g.
   * "/user.slice/user-1000.slice/user@1000.service", below which its slices and scopes live.
   */
  async managerControlGroup(): Promise<string> {
    const what = 'read the systemd manager\'s ControlGroup';
    const [v] = await this.property(PATH, MANAGER, 'ControlGroup', what);
    if (typeof v !== 'string' || !v.startsWith('/')) throw new TsrunError(`${what}: systemd answered ${JSON.stringify(v)}`);
    return v;
  }

  private async property(objectPath: string, iface: string, name: string, what: string): Promise<unknown[]> {
    let body: unknown[];
    try {
      body = await this.bus.call(DEST, objectPath, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, name]);
    } catch (e) {
      if (e instanceof DbusError) throw new SystemdError(e.name, `${what}: ${e.message} (${e.name})`);
      throw new TsrunError(`${what}: ${(e as Error).message}`);
    }
    // a variant decodes as [signature tree, [value]]
    const v = body[0];
    return Array.isArray(v) && Array.isArray(v[1]) ? (v[1] as unknown[]) : [v];
  }

  /** StartTransientUnit(name, "replace", props, []) and its job. */
  async startTransientUnit(unit: string, props: Property[]): Promise<void> {
    const what = `start the systemd unit ${unit}`;
    const [job] = (await this.manager('StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', props, []], what)) as [string];
    await this.waitJob(job, what);
  }

  async setUnitProperties(unit: string, props: Property[]): Promise<void> {
    await this.manager('SetUnitProperties', 'sba(sv)', [unit, true, props], `set properties of the systemd unit ${unit}`);
  }

  /** StopUnit and its job; a unit that is not loaded is stopped already. */
  async stopUnit(unit: string): Promise<void> {
    const what = `stop the systemd unit ${unit}`;
    let job: string;
    try {
      [job] = (await this.manager('StopUnit', 'ss', [unit, 'replace'], what)) as [string];
    } catch (e) {
      if (e instanceof SystemdError && e.dbusName === 'org.freedesktop.systemd1.NoSuchUnit') return;
      throw e;
    }
    await this.waitJob(job, what);
  }

  /** Forgets a failed unit, so that its name can be used again; one that is not loaded or not failed is fine. */
  async resetFailedUnit(unit: string): Promise<void> {
    try {
      await this.manager('ResetFailedUnit', 's', [unit], `reset the failed systemd unit ${unit}`);
    } catch (e) {
      if (e instanceof SystemdError && /NoSuchUnit|NotFailed|UnitInactive/.test(e.dbusName)) return;
      if (e instanceof SystemdError && e.dbusName === 'org.freedesktop.DBus.Error.InvalidArgs') return;
      throw e;
    }
  }

  close(): void {
    this.bus.close();
  }
}

/** An error reply of systemd, with its D-Bus error name (UnitExists, NoSuchUnit, InvalidArgs, ...). */
export class SystemdError extends TsrunError {
  constructor(
    readonly dbusName: string,
    message: string,
  ) {
    super(message);
  }
}
