import { describe, expect, it } from 'vitest';
import { recipeBlockers, type RecipeFacts } from '../../src/recipe/eligible';
import { defaultSpec } from '../../src/runtime/default-spec';
import type { InitPlan } from '../../src/plan/types';
import type { Spec } from '../../src/spec/types';

const plan = (more: Partial<InitPlan> = {}) => ({ hooks: [], ...more }) as unknown as InitPlan;
const facts = (spec: Spec, more: Partial<RecipeFacts> = {}): RecipeFacts => ({
  euid: 0,
  systemdCgroup: false,
  rootless: false,
  consoleSocket: false,
  preserveFds: 0,
  listenFds: 0,
  noPivot: false,
  noNewKeyring: false,
  warnings: 0,
  configText: JSON.stringify(spec),
  id: 'web-000001',
  run: false,
  ...more,
});

describe('which creates leave a recipe', () => {
  it("runc's default config, created by root with the cgroupfs driver, may", () => {
    const spec = defaultSpec();
    expect(recipeBlockers(spec, plan(), facts(spec))).toEqual([]);
  });

  it('each thing a replay cannot do is named', () => {
    const spec = defaultSpec();
    const cases: [Partial<RecipeFacts>, string][] = [
      [{ euid: 1000 }, 'not root'],
      [{ systemdCgroup: true }, '--systemd-cgroup'],
      [{ rootless: true }, 'rootless'],
      [{ consoleSocket: true }, '--console-socket'],
      [{ preserveFds: 2 }, '--preserve-fds'],
      [{ listenFds: 1 }, 'LISTEN_FDS'],
      [{ noPivot: true }, '--no-pivot'],
      [{ noNewKeyring: true }, '--no-new-keyring'],
      [{ warnings: 1 }, 'warnings'],
    ];
    for (const [more, why] of cases) expect(recipeBlockers(spec, plan(), facts(spec, more))).toEqual([why]);
  });

  it('hooks, a missing process, intelRdt, net devices, no mount namespace and a seccomp listener are Bun\'s', () => {
    const hooked: Spec = { ...defaultSpec(), hooks: { poststop: [{ path: '/bin/true' }] } };
    expect(recipeBlockers(hooked, plan(), facts(hooked))).toEqual(['hooks']);
    const bare: Spec = { ...defaultSpec(), process: undefined };
    expect(recipeBlockers(bare, plan(), facts(bare))).toEqual(['no process']);
    const rdt: Spec = { ...defaultSpec(), linux: { ...defaultSpec().linux, intelRdt: { closID: 'a' } } };
    expect(recipeBlockers(rdt, plan(), facts(rdt))).toEqual(['linux.intelRdt']);
    const spec = defaultSpec();
    expect(recipeBlockers(spec, plan({ netDevices: [{ name: 'eth1', newName: 'eth1' }] }), facts(spec))).toEqual(['linux.netDevices']);
    expect(recipeBlockers(spec, plan({ hostMounts: '/run/x/rootfs' }), facts(spec))).toEqual(['no mount namespace']);
    expect(recipeBlockers(spec, plan({ seccompListener: '/run/seccomp.sock' }), facts(spec))).toEqual(['a seccomp listener']);
    const joined: Spec = { ...defaultSpec(), linux: { ...defaultSpec().linux, namespaces: [{ type: 'network', path: '/proc/1/ns/net' }] } };
    expect(recipeBlockers(joined, plan(), facts(joined))).toEqual(['a namespace joined by path']);
  });

  it('a foreground run may, but not with a terminal (Bun proxies it)', () => {
    const spec: Spec = { ...defaultSpec(), process: { ...defaultSpec().process!, terminal: false } };
    expect(recipeBlockers(spec, plan(), facts(spec, { run: true }))).toEqual([]);
    const tty: Spec = { ...defaultSpec(), process: { ...defaultSpec().process!, terminal: true } };
    expect(recipeBlockers(tty, plan(), facts(tty, { run: true }))).toEqual(['run with a terminal']);
    expect(recipeBlockers(tty, plan(), facts(tty))).toEqual([]);
  });

  it('a config that holds the id may not: the replay could not tell the id from the coincidence', () => {
    const spec: Spec = { ...defaultSpec(), hostname: 'web-000001' };
    expect(recipeBlockers(spec, plan(), facts(spec))).toEqual(['the id is in the config']);
  });
});
