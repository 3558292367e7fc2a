// linux.cgroupsPath in the systemd driver's form, "slice:prefix:name", as runc reads it:
//   "system.slice:docker:ID"   -> unit docker-ID.scope in system.slice
//   ":tsrun:ID"                -> unit tsrun-ID.scope in the default slice; "a.slice::ID" -> -ID.scope (runc)
//   absent                     -> unit tsrun-<id>.scope in the default slice (runc: runc-<id>.scope)
//   "machine.slice::x.slice"   -> a name ending in .slice is itself a (transient) slice unit
// The default slice is system.slice (user.slice for a rootless caller). A slice "a-b.slice" sits in a.slice, so its
// cgroup is /a.slice/a-b.slice, as systemd nests it. Pure: no D-Bus, no file system.
import { TsrunError } from '../../errors';

export interface SystemdUnitPath {
  /** The slice the unit goes in, e.g. "system.slice". */
  slice: string;
  /** The unit tsrun starts: "<prefix>-<name>.scope", or a slice when name ends in ".slice". */
  unit: string;
  /** The unit's cgroup, relative to the root of every hierarchy, e.g. "/system.slice/docker-ID.scope". */
  cgroup: string;
}

const UNIT_MAX = 255; // systemd's UNIT_NAME_MAX
const UNIT_CHARS = /^[A-Za-z0-9:_.\\-]+$/;

function bad(raw: string, why: string): TsrunError {
  return new TsrunError(`$.linux.cgroupsPath: "${raw}" ${why}`);
}

/** Checks a unit name as systemd's unit_name_is_valid() would, so that a bad one is ours to report, not D-Bus's. */
export function checkUnitName(raw: string, name: string, suffix: '.scope' | '.slice'): void {
  if (name.length > UNIT_MAX) throw bad(raw, `makes a unit name longer than ${UNIT_MAX} characters`);
  if (!UNIT_CHARS.test(name)) throw bad(raw, `makes the unit name "${name}", which systemd refuses (only letters, digits and ":_.\\-")`);
  if (!name.endsWith(suffix) || name.length === suffix.length) throw bad(raw, `makes the unit name "${name}", which systemd refuses`);
}

/**
 * The cgroup of a slice: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" (the root slice) -> "/".
 * systemd refuses an empty part (a leading, trailing or doubled "-").
 */
export function expandSlice(raw: string, slice: string): string {
  checkUnitName(raw, slice, '.slice');
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-') return '/';
  const parts = base.split('-');
  if (parts.some((p) => p === '')) throw bad(raw, `names the slice "${slice}", which systemd refuses (an empty part between "-")`);
  let prefix = '';
  let path = '';
  for (const p of parts) {
    path += `/${prefix}${p}.slice`;
    prefix += `${p}-`;
  }
  return path;
}

/** The scope or slice unit, its slice and its cgroup for a container; `rootless` picks user.slice as the default. */
export function systemdUnitPath(id: string, cgroupsPath: string | undefined, opts: { rootless?: boolean } = {}): SystemdUnitPath {
  const defaultSlice = opts.rootless ? 'user.slice' : 'system.slice';
  let slice = defaultSlice;
  let prefix = 'tsrun';
  let name = id;
  const raw = cgroupsPath ?? '';
  if (cgroupsPath) {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3) {
      throw bad(raw, 'is not in the systemd driver\'s form "slice:prefix:name" (for example "system.slice:tsrun:ID")');
    }
    [slice, prefix, name] = parts;
    if (slice === '') slice = defaultSlice;
    if (name === '') throw bad(raw, 'has an empty name (the third part of "slice:prefix:name")');
  }
  if (slice.includes('/')) throw bad(raw, `names the slice "${slice}", which may not hold "/"`);
  const slicePath = expandSlice(raw, slice);
  if (name.endsWith('.slice')) {
    // a slice of its own: it must sit in the slice given, as systemd nests it
    const own = expandSlice(raw, name);
    if (slicePath !== '/' && !own.startsWith(slicePath + '/')) {
      throw bad(raw, `names the slice "${name}", which systemd would not put in "${slice}"`);
    }
    return { slice, unit: name, cgroup: own };
  }
  // as runc: an empty prefix still gets its "-"
  const unit = `${prefix}-${name}.scope`;
  checkUnitName(raw, unit, '.scope');
  return { slice, unit, cgroup: `${slicePath === '/' ? '' : slicePath}/${unit}` };
}
