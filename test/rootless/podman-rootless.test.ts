// podman rootless with tsrun (issue 16 item 2), as a real user who is not root, runc 1.1.5 beside it on the
// same checks: podman --runtime PATH with its own storage under the user's home (overlay), `--network none`:
// run --rm, run -d, exec -it, stop, rm, with --rootfs and with an imported image. podman runs the runtime as
// root inside its own user namespace (its ranges from /etc/subuid), so tsrun's auto --rootless and its
// $XDG_RUNTIME_DIR state root are what is tested here. Each runtime goes through a wrapper that records its
// calls, so the test knows which runtime podman ran.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { haveProgram, precondition } from '../helpers/harness';
import { TestUser, rootlessAvailable, type RunResult } from './user';
import { RUNTIMES, stateEntries, until, type Runtime } from './runtimes';

const ok = rootlessAvailable() && precondition(haveProgram('podman') && haveProgram('conmon'), 'podman or conmon is missing (make engines-deps)');
let u: TestUser;
let conf: string;
let storageConf: string;

function wrapperOf(r: Runtime): string {
  return path.join(u.home, `bin-${r.name}`, r.name);
}
/** The commands podman (and conmon) called the runtime with, in order; global flags (--log ...) left out. */
function callsOf(r: Runtime): string[] {
  const f = path.join(u.home, `calls-${r.name}.log`);
  const lines = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  const commands = ['create', 'start', 'delete', 'exec', 'kill', 'state', 'pause', 'resume', 'update', 'ps'];
  return lines.map((l) => l.split(' ').find((w) => commands.includes(w)) ?? l);
}

beforeAll(() => {
  if (!ok) return;
  u = new TestUser('podman');
  for (const r of RUNTIMES) {
    const dir = u.mkdir(`bin-${r.name}`);
    // named after the runtime: podman names a runtime given by path after its file
    u.writeFile(
      path.join(dir, r.name),
      `#!/bin/sh\necho "$*" >> ${path.join(u.home, `calls-${r.name}.log`)}\nexec ${r.bin} "$@"\n`,
    );
    fs.chmodSync(path.join(dir, r.name), 0o755);
  }
  conf = path.join(u.home, 'containers.conf');
  u.writeFile(
    conf,
    `[containers]
default_ulimits = ["nofile=1024:1024"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${u.home}/events.log"
runtime_supports_json = ["tsrun", "runc"]
`,
  );
  storageConf = path.join(u.home, 'storage.conf');
  u.writeFile(
    storageConf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${u.home}/.local/share/containers/storage"\nrunroot = "${u.xdg}/containers"\n`,
  );
  const imp = podmanSh(RUNTIMES[0], `tar -C ${u.rootfs} -c . | podman import - localhost/tsrun-rootless:1`);
  if (imp.code !== 0) throw new Error(`podman import: ${imp.stderr}`);
});

afterAll(() => {
  if (!u) return;
  podman(RUNTIMES[0], ['rm', '--all', '--force', '--time', '0']);
  // podman's pause process (it holds the user namespace) and anything else of the user: cleanup() kills them
  const left = u.cleanup().filter((l) => !new RegExp(`^processes of ${u.name}: \\d+$`).test(l));
  expect(left).toEqual([]);
});

function env(): Record<string, string> {
  return { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storageConf };
}

function podman(r: Runtime, args: string[], opts: { input?: string } = {}): RunResult {
  return u.run(['podman', '--runtime', wrapperOf(r), ...args], { env: env(), ...opts, timeout: 90_000 });
}

function podmanSh(r: Runtime, cmd: string): RunResult {
  return u.run(['sh', '-c', cmd.replace(/^podman /, `podman --runtime ${wrapperOf(r)} `)], { env: env(), timeout: 90_000 });
}

/** podman's pause process, which stays by design while the user's podman session lives. */
function pausePid(): number | undefined {
  const f = path.join(u.xdg, 'libpod', 'tmp', 'pause.pid');
  return fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8').trim()) : undefined;
}

function leftovers(r: Runtime): string[] {
  const left = stateEntries(u, r).map((e) => `${r.name} state: ${e}`);
  const pause = pausePid();
  const pids = u.pids().filter((p) => p !== pause);
  if (pids.length) left.push(`processes of ${u.name}: ${pids.join(' ')}`);
  const ps = podman(r, ['ps', '-aq']);
  if (ps.stdout.trim()) left.push(`podman containers: ${ps.stdout.trim()}`);
  return left;
}

describe.skipIf(!ok).each(RUNTIMES)('podman rootless with $name', (r: Runtime) => {
  afterEach(() => {
    podman(r, ['rm', '--all', '--force', '--time', '0']);
    expect(leftovers(r)).toEqual([]);
  });

  it('run --rm --rootfs: root inside is the user, its ranges mapped by podman', () => {
    const before = callsOf(r).length;
    const res = podman(r, ['run', '--rm', '--network', 'none', '--rootfs', u.rootfs, '/bin/sh', '-c', 'id -u; cat /proc/self/uid_map; echo hello']);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines[0]).toBe('0');
    expect(lines).toContain(`0 ${u.uid} 1`);
    expect(lines).toContain(`1 ${u.subuid.start} ${u.subuid.count}`);
    expect(lines).toContain('hello');
    expect(callsOf(r).slice(before)).toEqual(expect.arrayContaining(['create', 'start', 'delete']));
  });

  it('run -d, exec -it, stop, rm', async () => {
    const name = `web-${r.name}`;
    const d = podman(r, ['run', '-d', '--name', name, '--network', 'none', '--rootfs', u.rootfs, '/bin/sleep', '1000']);
    expect(d.code, d.stderr).toBe(0);
    // podman may show it a moment after run -d returns
    const up = () => podman(r, ['ps', '--format', '{{.Names}} {{.Status}}']).stdout;
    await until(`${name} up`, () => new RegExp(`^${name} Up`, 'm').test(up()), 10_000).catch(() => undefined);
    expect(up()).toMatch(new RegExp(`^${name} Up`, 'm'));
    // exec -it needs a terminal: script gives podman one
    const e = u.run(['script', '-qec', `podman --runtime ${wrapperOf(r)} exec -it ${name} /bin/sh -c 'tty; id -u; exit 4'`, '/dev/null'], {
      env: env(),
    });
    const out = e.stdout.replace(/\r/g, '');
    expect(e.code, out + e.stderr).toBe(4);
    expect(out).toMatch(/\/dev\/pts\/\d+/);
    expect(out).toMatch(/^0$/m);
    const stop = podman(r, ['stop', '--time', '1', name]);
    expect(stop.code, stop.stderr).toBe(0);
    const st = podman(r, ['inspect', '--format', '{{.State.Status}}', name]);
    expect(st.stdout.trim(), st.stderr).toBe('exited');
    const rm = podman(r, ['rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(stateEntries(u, r)).toEqual([]);
    expect(callsOf(r)).toContain('exec');
  });

  it('an imported image on overlay: writes stay in the container', () => {
    const img = 'localhost/tsrun-rootless:1';
    const a = podman(r, ['run', '--rm', '--network', 'none', img, 'sh', '-c', 'echo one > /written; cat /written; cat /etc/hostname']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.split('\n')[0]).toBe('one');
    const b = podman(r, ['run', '--rm', '--network', 'none', img, 'sh', '-c', 'cat /written 2>&1 || echo absent']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/absent/);
    expect(podman(r, ['info', '--format', '{{.Store.GraphDriverName}} {{.Store.GraphRoot}}']).stdout.trim()).toBe(
      `overlay ${u.home}/.local/share/containers/storage`,
    );
  });

  it('--network slirp4netns: a tap device where /dev/net/tun is the user\'s to open; else podman fails before the runtime', () => {
    const tun = u.run(['sh', '-c', 'test -r /dev/net/tun && test -w /dev/net/tun']).code === 0;
    const before = callsOf(r).length;
    const res = podman(r, ['run', '--rm', '--network', 'slirp4netns', '--rootfs', u.rootfs, '/bin/sh', '-c', 'ip -o addr']);
    if (tun) {
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/tap0\s+inet 10\.0\.2\.100/);
    } else {
      // this host: /dev/net/tun is root's alone (mode 0600)
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/slirp4netns failed: .*\/dev\/net\/tun.*Permission denied/);
      expect(callsOf(r).slice(before)).not.toContain('start');
    }
  });
});
