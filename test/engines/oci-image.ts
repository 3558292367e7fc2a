// A container image made offline for the engine tests: the busybox root
// filesystem as one uncompressed layer, with its config, manifest and index
// written here as an OCI image layout, packed into the tar that
// `ctr images import` reads. No registry, no network.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './engines';
import { type Containerd } from './containerd-engine';

export interface ImageConfig {
  env: string[];
  cmd: string[];
  workingDir: string;
}

export interface OciImage {
  /** The tar to import. */
  tar: string;
  /** The name ctr lists it under (the io.containerd.image.name annotation). */
  name: string;
  /** sha256:... of the one layer (uncompressed, so also its diff id). */
  layerDigest: string;
  manifestDigest: string;
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** Writes a blob under blobs/sha256; returns its descriptor. */
function blob(layout: string, mediaType: string, data: Buffer): { mediaType: string; digest: string; size: number } {
  const hex = crypto.createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(path.join(layout, 'blobs', 'sha256', hex), data);
  return { mediaType, digest: `sha256:${hex}`, size: data.length };
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** Builds the image under dir (a busybox rootfs, the layout, the tar). */
export function buildBusyboxImage(dir: string, name: string, config: ImageConfig): OciImage {
  const rootfs = path.join(dir, 'image-rootfs');
  run('bash', [path.join(REPO, 'scripts/busybox-rootfs.sh'), rootfs]);
  fs.writeFileSync(path.join(rootfs, 'etc', 'image-marker'), `${name}\n`);
  const layout = path.join(dir, 'image-layout');
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });

  // owned by root whoever builds it; sorted, so the digest depends only on the content
  const layerTar = path.join(dir, 'layer.tar');
  run('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-C', rootfs, '-cf', layerTar, '.']);
  const layer = blob(layout, 'application/vnd.oci.image.layer.v1.tar', fs.readFileSync(layerTar));
  fs.rmSync(layerTar);

  const architecture = GOARCH[process.arch] ?? process.arch;
  const cfg = blob(
    layout,
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(
      JSON.stringify({
        architecture,
        os: 'linux',
        config: { Env: config.env, Cmd: config.cmd, WorkingDir: config.workingDir },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        history: [{ created_by: 'test/engines/oci-image.ts: scripts/busybox-rootfs.sh' }],
      }),
    ),
  );
  const manifest = blob(
    layout,
    'application/vnd.oci.image.manifest.v1+json',
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers: [layer] })),
  );
  const tag = name.slice(name.lastIndexOf(':') + 1);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        ...manifest,
        platform: { architecture, os: 'linux' },
        annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const tar = path.join(dir, 'image.tar');
  run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', layout, '-cf', tar, 'oci-layout', 'index.json', 'blobs']);
  fs.rmSync(layout, { recursive: true });
  fs.rmSync(rootfs, { recursive: true });
  return { tar, name, layerDigest: layer.digest, manifestDigest: manifest.digest };
}

/**
 * `ctr run` argv (without `ctr --address`) for an image on the overlayfs
 * snapshotter: tsrun (the wrapper) as the runc binary, our runc root, fifo
 * directory and cgroup, as Containerd.runArgs does for a rootfs directory.
 */
export function imageRunArgs(c: Containerd, id: string, opts: string[], image: string, cmd: string[]): string[] {
  return ['run', '--snapshotter', 'overlayfs', '--runc-binary', c.wrapper, '--runc-root', c.runcRoot, '--fifo-dir', c.fifoDir, '--cgroup', `${c.cgroupParent}/${id}`, ...opts, image, id, ...cmd];
}

/** One mountinfo line split into the fields we look at. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  superOptions: string;
}

export function parseMountinfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      const sep = f.indexOf('-');
      return { mountPoint: f[4], fsType: f[sep + 1], superOptions: f[sep + 3] ?? '' };
    });
}
