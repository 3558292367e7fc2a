// Podman (and buildah) with real images: the busybox rootfs imported into a
// private storage on the overlay driver (kernel overlayfs), instead of the
// vfs storage and `--rootfs` directory of the plain Podman configuration.
// buildah shares that storage, so podman runs what buildah builds.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Result, runCmd } from './engines';
import { Podman } from './podman-engine';

/** The base image every test imports from the busybox rootfs. */
export const BASE_IMAGE = 'localhost/tsrun-busybox:latest';

/** The default seccomp profile of containers-common, which podman and buildah apply unless told otherwise. */
export const DEFAULT_SECCOMP = '/usr/share/containers/seccomp.json';

// containers/image writes its blob info cache here for root, whatever the storage paths
// (podman import, buildah bud): what we created is removed at cleanup.
const BLOB_CACHE = ['/var/lib/containers', '/var/lib/containers/cache', '/var/lib/containers/cache/blob-info-cache-v1.boltdb'];

export class PodmanImages extends Podman {
  private readonly blobCacheExisted = BLOB_CACHE.map((p) => fs.existsSync(p));
  /** buildah's runtime ids are `buildah-buildahNNN`, not podman's 64-hex ones. */
  private static readonly buildahId = /^buildah-buildah\d+$/;

  constructor() {
    super({ driver: 'overlay' });
  }

  /** `podman import` of a tar of the busybox rootfs; returns the image id. */
  importRootfs(name = BASE_IMAGE): string {
    const tar = path.join(this.dir, 'rootfs.tar');
    const t = spawnSync('tar', ['-C', this.rootfs, '-cf', tar, '.'], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`tar: ${t.stderr}`);
    const r = this.podman(['import', '--quiet', tar, name], { timeout: 60_000 });
    fs.rmSync(tar, { force: true });
    if (r.code !== 0) throw new Error(`podman import: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** `podman run` argv after the global flags: no network, our cgroup parent, an image. */
  imageRunArgs(opts: string[], image: string, cmd: string[]): string[] {
    return ['run', '--network', 'none', '--cgroup-parent', this.cgroupParent, ...opts, image, ...cmd];
  }

  runImage(opts: string[], image: string, cmd: string[], o: { input?: string; timeout?: number } = {}): Result {
    return this.podman(this.imageRunArgs(opts, image, cmd), o);
  }

  /** buildah on the same storage as podman (global flags) and the same containers.conf and TMPDIR (env). */
  buildah(args: string[], opts: { timeout?: number } = {}): Result {
    const d = this.dir;
    return runCmd(d, 'buildah', ['--root', `${d}/graph`, '--runroot', `${d}/runroot`, '--storage-driver', this.driver, ...args], { env: this.env, timeout: opts.timeout ?? 120_000 });
  }

  /**
   * buildah puts a RUN step's container in the cgroup parent itself, not below it: keep it
   * apart from podman's (which holds conmon's cgroup; devices.deny "a" fails there with children).
   */
  get buildahCgroupParent(): string {
    return `${this.cgroupParent}/buildah`;
  }

  /** `buildah bud` argv: the wrapper as the runtime, OCI isolation, no network, our cgroup. */
  budArgs(contextDir: string, tag: string, extra: string[] = []): string[] {
    return ['bud', '--runtime', this.wrapper, '--isolation', 'oci', '--network', 'none', '--cgroup-parent', this.buildahCgroupParent, ...extra, '-t', tag, contextDir];
  }

  /** A build context dir holding a Containerfile with these lines. */
  context(name: string, lines: string[]): string {
    const dir = path.join(this.dir, 'contexts', name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Containerfile'), lines.join('\n') + '\n');
    return dir;
  }

  override ids(): string[] {
    const ids = new Set(super.ids());
    for (const c of this.calls()) {
      const last = c.argv.at(-1) ?? '';
      if (PodmanImages.buildahId.test(last)) ids.add(last);
    }
    return [...ids];
  }

  /** Overlay mounts anywhere on the host whose layers live in our storage. */
  overlayMounts(): string[] {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => / - overlay /.test(l) && l.includes(`${this.dir}/`))
      .map((l) => l.split(' ')[4]);
  }

  override cleanup(): string[] {
    // a failed bud keeps its working container (and its mount): buildah's containers are not podman's
    this.buildah(['rm', '--all'], { timeout: 30_000 });
    const problems = super.cleanup();
    for (let i = BLOB_CACHE.length - 1; i >= 0; i--) {
      if (this.blobCacheExisted[i]) continue;
      try {
        if (i === BLOB_CACHE.length - 1) fs.rmSync(BLOB_CACHE[i], { force: true });
        else fs.rmdirSync(BLOB_CACHE[i]);
      } catch {
        // absent, or someone else's files are there now
      }
    }
    return problems;
  }

  override leftovers(): string[] {
    const found = super.leftovers();
    for (const m of this.overlayMounts()) found.push(`overlay mount ${m}`);
    BLOB_CACHE.forEach((p, i) => {
      if (!this.blobCacheExisted[i] && fs.existsSync(p)) found.push(p);
    });
    return found;
  }
}
