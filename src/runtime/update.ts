// `update`: change the resources of a created, running or paused container.
// The new values come from a linux.resources JSON document (--resources FILE,
// or - for stdin: what podman passes) and/or runc's flags (--memory 512m,
// --cpu-quota, --pids-limit ...). They are validated like a config's
// linux.resources (schema, then the cross-field checks), applied through the
// cgroup manager (manager.update: checkBeforeUpdate, device diffs, v2 device
// program swap), and merged into the saved config.json of the state directory
// so later commands see them.
//
// Differences from runc 1.1.5, on purpose:
//  - only the fields given are written; runc re-applies its whole saved
//    config and then *saves zeros* for everything the call did not mention;
//  - --resources and flags may be combined (flags win); runc ignores the
//    flags when --resources is given;
//  - --pids-limit 0 is a real limit (runtime-spec 1.3); runc 1.1.5 takes 0
//    as "leave unchanged". -1 is "max" in both;
//  - linux.resources.devices in --resources replace the device rules (with
//    runc's default allow list merged in, as at create); runc ignores them.
import { readFileSync } from 'node:fs';
import { ContainerDir } from '../state/store';
import { withLock } from '../state/lock';
import { statusOf } from '../state/status';
import { cgroupManagerFromPaths } from '../cgroups/manager';
import { withDefaultDeviceRules } from '../cgroups/device-rules';
import { validateConfig } from '../spec/validate';
import { checkConfig } from '../spec/checks';
import { describeJsonError, parseJson } from '../spec/json';
import type { Problem } from '../spec/problem';
import type { Resources, Spec } from '../spec/types';
import { TsrunError, describeErrno } from '../errors';
import { log } from '../log/logger';
import { SPEC_VERSION } from '../version';

/** runc's update flags, by their runc names; undefined = not given. */
export interface UpdateFlags {
  'blkio-weight'?: number;
  'cpu-period'?: number;
  'cpu-quota'?: number;
  'cpu-rt-period'?: number;
  'cpu-rt-runtime'?: number;
  'cpu-share'?: number;
  'cpu-idle'?: number;
  'cpuset-cpus'?: string;
  'cpuset-mems'?: string;
  memory?: string;
  'memory-reservation'?: string;
  'memory-swap'?: string;
  'kernel-memory'?: string;
  'kernel-memory-tcp'?: string;
  'pids-limit'?: number;
}

export const UPDATE_FLAG_NAMES: (keyof UpdateFlags)[] = [
  'blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-share', 'cpu-idle',
  'cpuset-cpus', 'cpuset-mems', 'memory', 'memory-reservation', 'memory-swap', 'kernel-memory', 'kernel-memory-tcp',
  'pids-limit',
];

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Docker's units.RAMInBytes, which runc uses for the memory flags: a decimal
 * number, an optional space, and an optional binary unit k, m, g, t or p (any
 * case, with an optional "i" and "b": 512m, 1g, 64MiB, 1.5G, 100kb). "-1" is
 * unlimited. Errors read as runc's: "invalid value for memory: invalid size: '1x'".
 */
export function parseSize(text: string, flag: string): number {
  if (text.trim() === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m) throw new TsrunError(`invalid value for ${flag}: invalid size: '${text}'`);
  const v = Math.trunc(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]);
  if (!Number.isSafeInteger(v)) throw new TsrunError(`invalid value for ${flag}: size out of range: '${text}'`);
  return v;
}

function integer(flag: string, v: number | undefined, unsigned: boolean): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || (unsigned && v < 0)) {
    throw new TsrunError(`invalid value for ${flag}: must be ${unsigned ? 'a non-negative integer' : 'an integer'} (got ${String(v)})`);
  }
  return v;
}

/** The linux.resources fragment the flags ask for (only what was given). */
export function resourcesFromFlags(f: UpdateFlags): Resources {
  const r: Resources = {};
  const cpu: NonNullable<Resources['cpu']> = {};
  const memory: NonNullable<Resources['memory']> = {};
  const set = <T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set(cpu, 'period', integer('cpu-period', f['cpu-period'], true));
  set(cpu, 'quota', integer('cpu-quota', f['cpu-quota'], false));
  set(cpu, 'realtimePeriod', integer('cpu-rt-period', f['cpu-rt-period'], true));
  set(cpu, 'realtimeRuntime', integer('cpu-rt-runtime', f['cpu-rt-runtime'], false));
  set(cpu, 'shares', integer('cpu-share', f['cpu-share'], true));
  set(cpu, 'idle', integer('cpu-idle', f['cpu-idle'], false));
  if (f['cpuset-cpus'] !== undefined && f['cpuset-cpus'] !== '') cpu.cpus = String(f['cpuset-cpus']);
  if (f['cpuset-mems'] !== undefined && f['cpuset-mems'] !== '') cpu.mems = String(f['cpuset-mems']);
  const size = (flag: keyof UpdateFlags) => (f[flag] === undefined || f[flag] === '' ? undefined : parseSize(String(f[flag]), flag));
  set(memory, 'limit', size('memory'));
  set(memory, 'swap', size('memory-swap'));
  set(memory, 'reservation', size('memory-reservation'));
  set(memory, 'kernel', size('kernel-memory'));
  set(memory, 'kernelTCP', size('kernel-memory-tcp'));
  const weight = integer('blkio-weight', f['blkio-weight'], true);
  if (weight) r.blockIO = { weight }; // runc: 0 means "not given"
  const pids = integer('pids-limit', f['pids-limit'], false);
  if (pids !== undefined) r.pids = { limit: pids };
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (Object.keys(memory).length) r.memory = memory;
  return r;
}

/** Problems of a linux.resources document, each at "resources.<path>". */
export function resourcesProblems(doc: unknown): Problem[] {
  // The schema and the checks know linux.resources inside a config: wrap it in
  // the smallest config that is valid otherwise, keep what concerns it.
  const config = { ociVersion: SPEC_VERSION, root: { path: '/' }, linux: { resources: doc } };
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const p of [...validateConfig(config), ...checkConfig(config, { requireProcess: false })]) {
    if (!p.path.startsWith('$.linux.resources')) continue;
    const path = 'resources' + p.path.slice('$.linux.resources'.length);
    const key = `${path}\0${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message: p.message });
  }
  return out;
}

function invalid(what: string, problems: Problem[]): TsrunError {
  const [first] = problems;
  const more = problems.length - 1;
  const tail = more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : '';
  return new TsrunError(`invalid resources${what}: ${first.path}: ${first.message}${tail}`, {
    details: problems.map((p) => `${p.path}: ${p.message}`),
  });
}

/** Reads and validates a linux.resources document from FILE, or stdin for "-". */
export function readResourcesFile(file: string): Resources {
  const name = file === '-' ? 'stdin' : file;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TsrunError(`open ${name}: ${err.code ? describeErrno(err) : err.message}`, { cause: e });
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw new TsrunError(`${describeJsonError(parsed).replace(/^invalid JSON/, `invalid JSON in ${name}`)}`);
  const problems = resourcesProblems(parsed.value);
  if (problems.length) throw invalid(` in ${name}`, problems);
  return parsed.value as Resources;
}

const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `over` on top of `base`: objects merge key by key; arrays and scalars replace. */
export function mergeResources<T>(base: T, over: T): T {
  if (!isPlain(base) || !isPlain(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlain(out[k]) && isPlain(v) ? mergeResources(out[k], v) : v;
  }
  return out as T;
}

/** The values `base` has for the fields `shape` sets (for putting them back). */
function pick(base: unknown, shape: unknown): unknown {
  if (!isPlain(shape) || !isPlain(base)) return base;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(shape)) {
    const v = pick(base[k], shape[k]);
    if (v !== undefined && !(isPlain(v) && Object.keys(v).length === 0)) out[k] = v;
  }
  return out;
}

export interface UpdateOptions {
  root: string;
  id: string;
  /** --resources: a file, or "-" for stdin. */
  resourcesFile?: string;
  flags?: UpdateFlags;
}

/**
 * Applies the update under the container's lock, which serialises updates (the resources file, maybe stdin, is read
 * inside it); returns the resources now saved in the container's config.
 */
export function updateContainer(o: UpdateOptions): Promise<Resources> {
  return withLock(o.root, o.id, () => updateLocked(o));
}

async function updateLocked(o: UpdateOptions): Promise<Resources> {
  const dir = new ContainerDir(o.root, o.id);
  const rec = dir.load();
  const status = statusOf(rec, dir.fifo);
  if (status !== 'running' && status !== 'created' && status !== 'paused') throw new TsrunError('container not running');

  let wanted: Resources = o.resourcesFile !== undefined ? readResourcesFile(o.resourcesFile) : {};
  const fromFlags = resourcesFromFlags(o.flags ?? {});
  if (Object.keys(fromFlags).length) {
    wanted = mergeResources(wanted, fromFlags);
    const problems = resourcesProblems(wanted);
    if (problems.length) throw invalid('', problems);
  }
  if (Object.keys(wanted).length === 0) return readSaved(dir).linux?.resources ?? {};
  if (Object.keys(rec.cgroupPaths).length === 0) throw new TsrunError(`container ${o.id} has no cgroup to update`);

  const spec = readSaved(dir);
  const before: Resources = spec.linux?.resources ?? {};
  const cgroup = cgroupManagerFromPaths(rec.cgroupPaths, { systemd: rec.systemd, id: rec.id });
  const withDefaults = (r: Resources): Resources =>
    r.devices ? { ...r, devices: withDefaultDeviceRules(r.devices, spec.linux?.devices) } : r;
  try {
    await cgroup.update(withDefaults(wanted));
  } catch (e) {
    // As runc: put back what the config had for the fields this call touched.
    const restore = pick(before, wanted) as Resources;
    if (Object.keys(restore).length) {
      try {
        await cgroup.update(withDefaults(restore));
      } catch (e2) {
        log.warn(`setting back the cgroup's previous values failed: ${(e2 as Error).message}; the saved config and the cgroup may disagree`);
      }
    }
    throw e;
  }
  const after = mergeResources(before, wanted);
  spec.linux = { ...(spec.linux ?? {}), resources: after };
  dir.writeConfig(spec);
  return after;
}

function readSaved(dir: ContainerDir): Spec {
  try {
    return dir.readConfig();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TsrunError(`read the saved config ${dir.configFile}: ${err.code ? describeErrno(err) : err.message}`, { cause: e });
  }
}
