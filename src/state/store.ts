// The state directory of one container: <root>/<id>/ holding state.json
// (rewritten atomically, temp file + rename), config.json (the validated
// config, for later commands) and exec.fifo while the container is created.
import { type Dirent, existsSync, readdirSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { TsrunError, sysError } from '../errors';
import type { Hook, Spec } from '../spec/types';
import type { SystemdUnitRecord } from '../cgroups/systemd/manager';
import { answersText } from './answers';

export type RecordedStatus = 'creating' | 'created';

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** "creating" until create is done, then "created"; statusOf() derives the rest from the process. */
  status: RecordedStatus;
  pid: number;
  /** /proc/PID/stat field 22 of the init when it was recorded. */
  pidStartTime?: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** Controller (or "unified", "name=systemd") to absolute cgroup directory. */
  cgroupPaths: Record<string, string>;
  /** The container has its own pid namespace: killing the init kills all. */
  pidNamespace: boolean;
  hooks?: { poststart?: Hook[]; poststop?: Hook[] };
  /**
   * No mount namespace: the container's mounts are in the runtime's own mount namespace, all on or under this
   * directory (<root>/<id>/rootfs, resolved), where its rootfs is bound. Delete unmounts everything there.
   */
  hostMounts?: string;
  /** --systemd-cgroup: the container's transient unit (systemd owns its cgroup). */
  systemd?: SystemdUnitRecord;
  /** linux.intelRdt: the resctrl groups tsrun made, which delete removes. */
  intelRdt?: { group?: string; monGroup?: string };
  /** The config has no `process`: the init waits, and start refuses (runtime.md, "start"). */
  noProcess?: true;
  /** The tsrun process creating the container, while status is "creating". */
  creator?: { pid: number; startTime?: string };
}

const ID_RE = /^[\w+\-.]+$/;
/**
 * The longest id: its lock, ".lock-<id>", and the name a stale lock is moved to (".stale.<pid>.<ms>" more) must
 * each fit in one file name (NAME_MAX, 255 bytes).
 */
export const MAX_ID_LENGTH = 200;

/** The one check between an id and a path: ContainerDir and the lock both call it. */
export function checkId(id: string | undefined): string {
  if (id === undefined || id === '') throw new TsrunError('container id cannot be empty');
  if (!ID_RE.test(id) || id === '.' || id === '..' || id.length > MAX_ID_LENGTH) {
    const shown = id.length > 64 ? `${id.slice(0, 64)}...` : id;
    throw new TsrunError(
      `invalid container id "${shown}": it may hold only letters, digits, "_", "+", "-" and ".", at most ${MAX_ID_LENGTH} of them`,
    );
  }
  return id;
}

export class ContainerDir {
  readonly dir: string;

  constructor(
    readonly root: string,
    readonly id: string,
  ) {
    this.dir = path.join(root, checkId(id));
  }

  get stateFile(): string {
    return path.join(this.dir, 'state.json');
  }
  get configFile(): string {
    return path.join(this.dir, 'config.json');
  }
  get fifo(): string {
    return path.join(this.dir, 'exec.fifo');
  }
  /** Where the rootfs of a container without a mount namespace is bound (ContainerRecord.hostMounts). */
  get mountPoint(): string {
    return path.join(this.dir, 'rootfs');
  }

  /** Makes the directory; fails if a container with this id exists. */
  createExclusive(): void {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o711 });
    } catch (e) {
      throw sysError(`create state root ${this.root}`, e);
    }
    try {
      mkdirSync(this.dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new TsrunError(`container with id ${this.id} already exists`);
      }
      throw sysError(`create state directory ${this.dir}`, e);
    }
  }

  exists(): boolean {
    return existsSync(this.stateFile) || existsSync(this.dir);
  }

  get answersFile(): string {
    return path.join(this.dir, 'answers');
  }

  /** state.json, then the answers made from it (answers.ts), which the launcher uses only while they match. */
  write(rec: ContainerRecord): void {
    const bytes = Buffer.from(JSON.stringify(rec));
    writeAtomic(this.stateFile, bytes);
    // none for a record still being created; answers left from an earlier record never match this one
    const answers = answersText(rec, bytes, this.fifo);
    if (!answers) return;
    try {
      writeAtomic(this.answersFile, answers);
    } catch {
      // none: Bun answers every call
    }
  }

  writeConfig(spec: Spec): void {
    writeAtomic(this.configFile, JSON.stringify(spec));
  }

  readConfig(): Spec {
    return JSON.parse(readFileSync(this.configFile, 'utf8')) as Spec;
  }

  /** The record, or undefined when the container does not exist. */
  read(): ContainerRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw sysError(`read ${this.stateFile}`, e);
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw new TsrunError(`state of container ${this.id} is corrupt: ${this.stateFile}`);
    }
  }

  /** The record; a missing container is an error runc's callers recognise. */
  load(): ContainerRecord {
    const rec = this.read();
    if (!rec) throw notExist(this.id);
    this.checkOwner();
    return rec;
  }

  /**
   * A caller who is not root acts only on state it made: a state directory of another user (planted under a
   * shared --root, say) could name any pid or cgroup. Root may act on every user's.
   */
  checkOwner(): void {
    const euid = process.geteuid?.() ?? 0;
    if (euid === 0) return;
    const st = statSync(this.dir, { throwIfNoEntry: false });
    if (st && st.uid !== euid) {
      throw new TsrunError(`container ${this.id}: its state directory ${this.dir} belongs to uid ${st.uid}, not to this user (uid ${euid})`);
    }
  }

  remove(): void {
    // the mount point of a container without a mount namespace goes first, and alone: rmdir fails on a mount
    // (or a directory with anything in it), so the removal below can never reach into a mounted tree
    if (existsSync(this.mountPoint)) {
      try {
        rmdirSync(this.mountPoint);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw sysError(`remove the mount point ${this.mountPoint}`, e);
      }
    }
    // What tsrun keeps here are files (state, config, the exec fifo, a temporary state): each is unlinked and the
    // directory removed, 0.1 ms less than Bun's recursive rmSync in every delete. Anything else (a directory
    // someone made) takes the recursive way.
    let entries: Dirent[];
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw sysError(`read state directory ${this.dir}`, e);
    }
    if (entries.some((e) => e.isDirectory())) return rmSync(this.dir, { recursive: true, force: true });
    try {
      for (const e of entries) unlinkIfPresent(path.join(this.dir, e.name));
      rmdirSync(this.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'ENOTEMPTY') return rmSync(this.dir, { recursive: true, force: true }); // written meanwhile
      throw sysError(`remove state directory ${this.dir}`, e);
    }
  }
}

/** unlink(2) of a file that may already be gone. */
function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export function notExist(id: string): TsrunError {
  return new TsrunError(`container ${id} does not exist`);
}

export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // it was never written
    }
    throw sysError(`write ${file}`, e);
  }
}

/** Every container directory under root (ids), sorted. */
export function listIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && ID_RE.test(d.name) && d.name.length <= MAX_ID_LENGTH && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw sysError(`read state root ${root}`, e);
  }
}
