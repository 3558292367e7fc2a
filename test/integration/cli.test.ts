// The non-container commands (--version, spec, features, help, usage errors) and the global flags.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, TSRUN, leftovers, rootAvailable } from '../helpers/harness';
import { spawnSync } from 'node:child_process';
import { globalFlags } from '../../src/cli/table';
import { validateConfig, validateFeatures } from '../../src/spec/validate';

const enabled = rootAvailable();

describe.skipIf(!enabled)('cli', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('cli');
  });
  afterAll(() => h?.cleanup());

  it('--version prints three lines', () => {
    const r = h.tsrun(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tsrun version \S+\ncommit: \S+\nspec: 1\.3\.0\n$/);
  });

  it('spec writes a valid default config, and refuses to overwrite it', () => {
    const b = fs.mkdtempSync(path.join(h.dir, 'spec-'));
    expect(h.tsrun(['spec', '--bundle', b]).code).toBe(0);
    const c = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    expect(validateConfig(c)).toEqual([]);
    expect(c.process.args).toEqual(['sh']);
    expect(c.root).toEqual({ path: 'rootfs', readonly: true });
    const again = h.tsrun(['spec', '--bundle', b]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists');
    const rootless = fs.mkdtempSync(path.join(h.dir, 'spec-'));
    expect(h.tsrun(['spec', '--rootless', '--bundle', rootless]).code).toBe(0);
    const rc = JSON.parse(fs.readFileSync(path.join(rootless, 'config.json'), 'utf8'));
    expect(rc.linux.namespaces.map((n: { type: string }) => n.type)).toContain('user');
    expect(validateConfig(rc)).toEqual([]);
  });

  it('the default config runs once given a rootfs and no terminal', () => {
    const b = fs.mkdtempSync(path.join(h.dir, 'spec-'));
    h.tsrun(['spec', '--bundle', b]);
    fs.symlinkSync(h.rootfs, path.join(b, 'rootfs'));
    const c = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    c.process.terminal = false;
    c.process.args = ['sh', '-c', 'grep -E "^Cap(Eff|Bnd)" /proc/self/status; grep NoNewPrivs /proc/self/status'];
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(c));
    const r = h.tsrun(['run', '--bundle', b, h.id('default')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // CAP_AUDIT_WRITE(29) CAP_KILL(5) CAP_NET_BIND_SERVICE(10)
    expect(r.stdout).toContain('CapEff:\t0000000020000420');
    expect(r.stdout).toContain('NoNewPrivs:\t1');
  });

  it('features is valid JSON per the features schema and truthful about the host', () => {
    const r = h.tsrun(['features']);
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(validateFeatures(f)).toEqual([]);
    expect(f.ociVersionMax).toBe('1.3.0');
    expect(f.linux.namespaces).toEqual(expect.arrayContaining(['pid', 'network', 'user', 'time', 'cgroup']));
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(f.linux.cgroup.systemd).toBe(true);
    expect(f.linux.apparmor.enabled).toBe(false);
    expect(f.mountOptions).toContain('rbind');
    expect(f.mountOptions).toEqual(expect.arrayContaining(['idmap', 'ridmap']));
    expect(f.mountOptions).toContain('tmpcopyup');
    // implemented, whatever this host has (features.md): resctrl is absent here, yet intelRdt is enabled
    expect(f.linux.mountExtensions.idmap.enabled).toBe(true);
    expect(f.linux.netDevices.enabled).toBe(true);
    expect(f.linux.intelRdt).toEqual({ enabled: true, schemata: true, monitoring: true });
    expect(f.linux.memoryPolicy.modes).toHaveLength(7);
    expect(f.linux.memoryPolicy.flags).toEqual(expect.arrayContaining(['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES']));
  });

  it('takes nothing from the caller\'s directory: no .env, no bunfig.toml', () => {
    // engines run the runtime in the bundle directory; Bun would load both there by default
    const cwd = fs.mkdtempSync(path.join(h.dir, 'cwd-'));
    fs.writeFileSync(path.join(cwd, '.env'), 'TSRUN_TIMING=1\nTSRUN_LOG_LEVEL=debug\n');
    fs.writeFileSync(path.join(cwd, 'bunfig.toml'), 'preload = ["./nope.ts"]\nlogLevel = "debug"\n');
    const r = h.tsrun(['list'], { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID +PID +STATUS/);
  });

  it('help comes from yargs; usage errors exit 1', () => {
    const help = h.tsrun(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('create');
    expect(help.stdout).toContain('--root');
    const bad = h.tsrun(['create', '--no-such-flag', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Unknown argument');
    const none = h.tsrun([]);
    expect(none.code).toBe(1);
  });
  // Every global flag reaches the runtime or is refused; --criu alone is accepted for runc's command line and read by
  // no command tsrun has (test/unit/cli-flags.test.ts keeps that list to it).
  it('every global flag reaches the runtime or is refused', () => {
    const seen = new Set<string>();
    // the container inherits no pipe of ours (spawnSync would wait for its sleep)
    const run = (flag: string, args: string[], stdio: 'pipe' | 'ignore' = 'pipe', env = process.env) => {
      seen.add(flag);
      return spawnSync(TSRUN, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', stdio, stdio], env });
    };
    // --root: a container made under one root is listed there and nowhere else
    const other = h.otherRoot(); // its containers are deleted at cleanup, also after a failed step
    const id = h.id('global');
    expect(run('root', ['--root', other, 'create', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '30'])), id], 'ignore').status).toBe(0);
    try {
      expect(run('root', ['--root', other, 'list', '-q']).stdout.split('\n')).toContain(id);
      expect(h.tsrun(['list', '-q']).stdout.split('\n')).not.toContain(id);
    } finally {
      run('root', ['--root', other, 'delete', '--force', id]);
    }
    expect(fs.readdirSync(other)).toEqual([]);
    // a relative --root is taken from the caller's directory, as runc takes it, by every command
    const relId = h.id('relroot');
    const rel = (args: string[], stdio: 'pipe' | 'ignore' = 'pipe') =>
      spawnSync(TSRUN, ['--root', path.basename(other), ...args], { cwd: path.dirname(other), encoding: 'utf8', timeout: 30_000, stdio: ['ignore', stdio, stdio] });
    try {
      expect(rel(['create', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '30'])), relId], 'ignore').status).toBe(0);
      expect(rel(['start', relId]).status).toBe(0);
      expect(JSON.parse(rel(['state', relId]).stdout).status).toBe('running');
      expect(run('root', ['--root', other, 'list', '-q']).stdout.split('\n')).toContain(relId);
      expect(rel(['kill', relId, 'KILL']).status).toBe(0);
    } finally {
      expect(rel(['delete', '--force', relId]).status).toBe(0);
    }
    expect(fs.readdirSync(other)).toEqual([]);
    expect(leftovers(other, relId)).toEqual([]);
    // --log and --log-format: the error goes to the file, as JSON
    const logFile = path.join(h.dir, 'global.log');
    const missing = run('log', ['--root', other, '--log', logFile, '--log-format', 'json', 'state', 'no-such']);
    seen.add('log-format');
    expect(missing.status).toBe(1);
    const line = JSON.parse(fs.readFileSync(logFile, 'utf8').trim().split('\n').pop()!);
    expect(line).toMatchObject({ level: 'error' });
    expect(line.msg).toContain('no-such');
    // --debug: the debug lines of an error with details reach the log
    const bad = h.bundle((c) => {
      c.process.cwd = 'rel';
      c.process.args = [];
    });
    const dbgFile = path.join(h.dir, 'debug.log');
    expect(run('debug', ['--root', other, '--debug', '--log', dbgFile, 'create', '--bundle', bad, h.id('dbg')]).status).toBe(1);
    expect(fs.readFileSync(dbgFile, 'utf8')).toMatch(/level=debug|"level":"debug"/);
    expect(fs.readFileSync(dbgFile, 'utf8')).toContain('$.process.args');
    // --systemd-cgroup: create asks systemd for a unit (here a bus that is not there) and leaves nothing
    const sdId = h.id('sd');
    const noBus = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${h.dir}/no-bus` };
    const sd = run('systemd-cgroup', ['--root', other, '--systemd-cgroup', 'create', '--bundle', h.bundle(), sdId], 'pipe', noBus);
    expect([sd.status, sd.stderr]).toEqual([1, `tsrun: connect to D-Bus at unix:path=${h.dir}/no-bus: no such socket (is the D-Bus daemon running?)\n`]);
    expect(leftovers(other, sdId)).toEqual([]);
    // true, false and auto, as runc takes them (test/rootless/ runs containers with them); anything else is refused
    const rl = run('rootless', ['--root', other, '--rootless', 'true', 'state', 'x']);
    expect([rl.status, rl.stderr]).toEqual([1, 'tsrun: container x does not exist\n']);
    const rlBad = run('rootless', ['--root', other, '--rootless', 'maybe', 'state', 'x']);
    expect(rlBad.status).toBe(1);
    expect(rlBad.stderr).toMatch(/rootless.*"maybe".*Choices: "true", "false", "auto"/s);
    // --criu names the criu that checkpoint and restore run (test/integration/checkpoint.test.ts runs them)
    const criu = run('criu', ['--root', other, '--criu', path.join(h.dir, 'no-criu'), 'restore', '-d', '--image-path', h.dir, 'x']);
    expect([criu.status, criu.stderr]).toEqual([1, `tsrun: restore: no CRIU images in ${h.dir} (inventory.img is missing)\n`]);
    const noCriu = h.id('nocriu');
    expect(run('root', ['--root', other, 'run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['sleep', '100'])), noCriu], 'ignore').status).toBe(0);
    // several times: the init once raced criu's failed exec and said "send a request: broken pipe" instead
    for (let i = 0; i < 20; i++) {
      const ck = run('criu', ['--root', other, '--criu', path.join(h.dir, 'no-criu'), 'checkpoint', '--image-path', path.join(h.dir, 'img'), noCriu]);
      expect([ck.status, ck.stderr]).toEqual([1, `tsrun: criu not found at "${path.join(h.dir, 'no-criu')}": install criu, or name it with --criu PATH\n`]);
    }
    expect(run('root', ['--root', other, 'delete', '--force', noCriu]).status).toBe(0);
    expect(leftovers(other, noCriu)).toEqual([]);
    expect([...seen].sort()).toEqual(Object.keys(globalFlags).sort());
  });
});
