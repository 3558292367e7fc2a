// The non-container commands: --version, spec, features, help and usage errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, rootAvailable } from '../helpers/harness';
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
    expect(f.linux.cgroup.systemd).toBe(false);
    expect(f.linux.apparmor.enabled).toBe(false);
    expect(f.mountOptions).toContain('rbind');
    expect(f.mountOptions).not.toContain('tmpcopyup');
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
});
