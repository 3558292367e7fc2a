// The small filesystem interface everything under src/cgroups goes through, so
// that unit tests can run against an in-memory fake (test/helpers/fake-cgroup-fs.ts) without root.
// Errors are Node's errno errors (err.code = 'ENOENT', 'EBUSY', ...), from the
// real and the fake implementation alike.

import { closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync, writeSync } from 'node:fs';

export interface CgroupFs {
  /** Whole file as text. */
  readFile(path: string): string;
  /** One write(2) of `data` to an existing file: no O_CREAT, no O_TRUNC (cgroupfs semantics). */
  writeFile(path: string, data: string): void;
  /** mkdir -p; returns the directories it created, outermost first. */
  mkdirp(path: string): string[];
  rmdir(path: string): void;
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  /** Entry names (files and directories). */
  readdir(path: string): string[];
  /** Names of the subdirectories only (one getdents, no stat per entry). */
  subdirs(path: string): string[];
}

export const realFs: CgroupFs = {
  readFile(path) {
    return readFileSync(path, 'utf8');
  },
  writeFile(path, data) {
    // O_WRONLY only: some cgroup files (devices.allow) are write-only, and a
    // missing file must fail with ENOENT rather than be created.
    const fd = openSync(path, fsConstants.O_WRONLY);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  },
  mkdirp(path) {
    const missing: string[] = [];
    let p = path;
    while (p !== '/' && !existsSync(p)) {
      missing.unshift(p);
      p = p.slice(0, p.lastIndexOf('/')) || '/';
    }
    const created: string[] = [];
    for (const dir of missing) {
      try {
        mkdirSync(dir, 0o755);
        created.push(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    return created;
  },
  rmdir(path) {
    rmdirSync(path);
  },
  subdirs(path) {
    return readdirSync(path, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  },
  exists(path) {
    return existsSync(path);
  },
  isDirectory(path) {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  readdir(path) {
    return readdirSync(path);
  },
};

/** An Error that looks like the ones node:fs throws. */
export function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}
