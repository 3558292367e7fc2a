// An in-memory CgroupFs for unit tests. It behaves like cgroupfs where that
// matters here: writes need an existing file and never create one, rmdir of a
// cgroup with child cgroups or with processes fails with EBUSY, and hooks let a
// test play the kernel (reject a value, keep devices.list, fill a new cgroup).

import { CgroupFs, errnoError } from '../../src/cgroups/fs';

export type WriteHook = (path: string, data: string, fs: FakeFs) => string | void;

export class FakeFs implements CgroupFs {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>(['/']);
  /** Every successful write, in order. */
  readonly writes: { path: string; data: string }[] = [];
  /** Called after each directory is created (e.g. to add the files a kernel would show). */
  onMkdir?: (dir: string, fs: FakeFs) => void;
  /** Called before rmdir; may throw (EBUSY...) to simulate a busy cgroup. */
  onRmdir?: (dir: string, fs: FakeFs) => void;
  private hooks: { match: string | RegExp; fn: WriteHook }[] = [];

  /** Create a file (and its parent directories) with the given content. */
  addFile(path: string, content = ''): this {
    this.addDir(parentOf(path));
    this.files.set(path, content);
    return this;
  }

  addFiles(dir: string, files: Record<string, string>): this {
    for (const [name, content] of Object.entries(files)) this.addFile(`${dir}/${name}`, content);
    return this;
  }

  addDir(path: string): this {
    for (let p = path; p !== '/' && !this.dirs.has(p); p = parentOf(p)) this.dirs.add(p);
    return this;
  }

  removeFile(path: string): this {
    this.files.delete(path);
    return this;
  }

  /**
   * Run `fn` for writes to files whose basename equals `match` (string) or
   * whose path matches (RegExp). It may throw (an errno error) to refuse the
   * write, or return the content the file shows afterwards.
   */
  onWrite(match: string | RegExp, fn: WriteHook): this {
    this.hooks.push({ match, fn });
    return this;
  }

  /** The data written to `path`, in order. */
  writesTo(path: string): string[] {
    return this.writes.filter((w) => w.path === path).map((w) => w.data);
  }

  readFile(path: string): string {
    if (this.dirs.has(path)) throw errnoError('EISDIR', 'read', path);
    const v = this.files.get(path);
    if (v === undefined) throw errnoError('ENOENT', 'open', path);
    return v;
  }

  writeFile(path: string, data: string): void {
    if (!this.files.has(path)) {
      throw errnoError('ENOENT', 'open', path);
    }
    // Newest hook first, so a test's hook can refuse a write before the
    // hooks that play the kernel change anything; the first content returned wins.
    let stored: string | undefined;
    const base = path.slice(path.lastIndexOf('/') + 1);
    for (let i = this.hooks.length - 1; i >= 0; i--) {
      const h = this.hooks[i];
      if (typeof h.match === 'string' ? h.match === base : h.match.test(path)) {
        const r = h.fn(path, data, this);
        if (typeof r === 'string' && stored === undefined) stored = r;
      }
    }
    this.files.set(path, stored ?? data);
    this.writes.push({ path, data });
  }

  mkdirp(path: string): string[] {
    const missing: string[] = [];
    for (let p = path; p !== '/' && !this.dirs.has(p); p = parentOf(p)) {
      if (this.files.has(p)) throw errnoError('ENOTDIR', 'mkdir', p);
      missing.unshift(p);
    }
    for (const dir of missing) {
      this.dirs.add(dir);
      this.onMkdir?.(dir, this);
    }
    return missing;
  }

  rmdir(path: string): void {
    if (!this.dirs.has(path)) throw errnoError(this.files.has(path) ? 'ENOTDIR' : 'ENOENT', 'rmdir', path);
    this.onRmdir?.(path, this);
    for (const d of this.dirs) if (d !== path && d.startsWith(path + '/')) throw errnoError('EBUSY', 'rmdir', path);
    const procs = this.files.get(path + '/cgroup.procs');
    if (procs && procs.trim() !== '') throw errnoError('EBUSY', 'rmdir', path);
    this.dirs.delete(path);
    for (const f of [...this.files.keys()]) if (f.startsWith(path + '/')) this.files.delete(f);
  }

  exists(path: string): boolean {
    return this.dirs.has(path) || this.files.has(path);
  }

  isDirectory(path: string): boolean {
    return this.dirs.has(path);
  }

  subdirs(path: string): string[] {
    return this.readdir(path).filter((n) => this.dirs.has(path === '/' ? `/${n}` : `${path}/${n}`));
  }

  readdir(path: string): string[] {
    if (!this.dirs.has(path)) throw errnoError('ENOENT', 'scandir', path);
    const prefix = path === '/' ? '/' : path + '/';
    const names = new Set<string>();
    for (const p of [...this.dirs, ...this.files.keys()]) {
      if (p.startsWith(prefix) && p.length > prefix.length && !p.slice(prefix.length).includes('/')) {
        names.add(p.slice(prefix.length));
      }
    }
    return [...names].sort();
  }
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
