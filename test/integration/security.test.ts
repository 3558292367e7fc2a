// Capabilities, no_new_privs and seccomp, seen from inside real containers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable, REPO } from '../helpers/harness';

const enabled = rootAvailable();

// bit numbers of a few capabilities
const CAP = { CHOWN: 0, KILL: 5, NET_BIND_SERVICE: 10, NET_RAW: 13, SYS_ADMIN: 21, SYS_RESOURCE: 24, AUDIT_WRITE: 29 };
const mask = (...bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, '0');

describe.skipIf(!enabled)('process security', () => {
  let h: Harness;
  beforeAll(() => {
    h = new Harness('sec');
  });
  afterAll(() => h?.cleanup());

  const status = (edit: Parameters<Harness['run']>[1]) => {
    const r = h.run(['cat', '/proc/self/status'], edit);
    expect(r.code, r.stderr).toBe(0);
    const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)$`, 'm').exec(r.stdout)?.[1];
    return { r, field };
  };

  it('sets all five capability sets and no_new_privs as configured', () => {
    const { r, field } = status((c) => {
      c.process.capabilities = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_CHOWN', 'CAP_KILL'],
        inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_KILL'],
      };
      c.process.noNewPrivileges = true;
    });
    expect(r.stderr).toBe('');
    expect(field('CapBnd')).toBe(mask(CAP.CHOWN, CAP.KILL, CAP.NET_BIND_SERVICE, CAP.NET_RAW));
    expect(field('CapPrm')).toBe(mask(CAP.CHOWN, CAP.KILL, CAP.NET_BIND_SERVICE));
    // for uid 0 the kernel makes the effective set equal the permitted one at execve
    expect(field('CapEff')).toBe(mask(CAP.CHOWN, CAP.KILL, CAP.NET_BIND_SERVICE));
    expect(field('CapInh')).toBe(mask(CAP.KILL, CAP.NET_BIND_SERVICE));
    expect(field('CapAmb')).toBe(mask(CAP.KILL));
    expect(field('NoNewPrivs')).toBe('1');
  });

  it('gives a non-root user its ambient capabilities as effective ones', () => {
    const { field } = status((c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = {
        bounding: ['CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_NET_BIND_SERVICE'],
        effective: ['CAP_NET_BIND_SERVICE'],
        inheritable: ['CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      };
      c.process.noNewPrivileges = false;
    });
    expect(field('CapEff')).toBe(mask(CAP.NET_BIND_SERVICE));
    expect(field('CapAmb')).toBe(mask(CAP.NET_BIND_SERVICE));
    expect(field('NoNewPrivs')).toBe('0');
  });

  it('warns about a capability the host cannot grant, and still starts', () => {
    const { r, field } = status((c) => {
      c.process.capabilities = { bounding: ['CAP_KILL', 'CAP_SYS_RESOURCE'], permitted: ['CAP_KILL', 'CAP_SYS_RESOURCE'], effective: ['CAP_KILL', 'CAP_SYS_RESOURCE'] };
    });
    const hostBnd = BigInt('0x' + /^CapBnd:\s+(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);
    if (hostBnd & (1n << BigInt(CAP.SYS_RESOURCE))) {
      expect(field('CapEff')).toBe(mask(CAP.KILL, CAP.SYS_RESOURCE)); // this host can grant it
    } else {
      expect(r.stderr).toContain('CAP_SYS_RESOURCE');
      expect(field('CapEff')).toBe(mask(CAP.KILL));
    }
  });

  it('refuses a name that is no capability at all', () => {
    const r = h.run(['true'], (c) => (c.process.capabilities = { bounding: ['CAP_TEST'] }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CAP_TEST');
    expect(leftovers(h.root, r.id)).toEqual([]);
  });

  const seccomp = (syscalls: object[], extra: object = {}) => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls, ...extra });

  it('loads the seccomp filter: Seccomp 2, and a blocked syscall fails with the configured errno', () => {
    const r = h.run(['sh', '-c', 'grep -E "^Seccomp:" /proc/self/status; mkdir /tmp/x; echo "mkdir=$?"'], (c) => {
      c.linux.seccomp = seccomp([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 }]);
    });
    expect(r.stdout).toContain('Seccomp:\t2');
    expect(r.stdout).toContain('mkdir=1');
    expect(r.stderr).toContain('No message of desired type'); // strerror(42), ENOMSG
  });

  it('compares syscall arguments (EQ and MASKED_EQ)', () => {
    const r = h.run(['sh', '-c', 'kill -0 $$ && echo sig0-ok; kill -USR1 $$ 2>/dev/null || echo usr1-blocked; touch /dev/shm/a && chmod 0600 /dev/shm/a && echo 600-ok; chmod 0644 /dev/shm/a 2>/dev/null || echo 644-blocked'], (c) => {
      c.linux.seccomp = seccomp([
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] },
        // chmod/fchmodat with the group read bit (0o040) set
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0o040, valueTwo: 0o040, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['fchmodat'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 0o040, valueTwo: 0o040, op: 'SCMP_CMP_MASKED_EQ' }] },
      ]);
    });
    expect(r.stdout).toBe('sig0-ok\nusr1-blocked\n600-ok\n644-blocked\n');
  });

  it('kills the process on SCMP_ACT_KILL_PROCESS', () => {
    const r = h.run(['sh', '-c', 'echo before; mkdir /tmp/y; echo "after $?"'], (c) => {
      c.linux.seccomp = seccomp([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }]);
    });
    // the shell forks mkdir: the child dies by SIGSYS
    expect(r.stdout).toBe(`before\nafter ${128 + 31}\n`);
    const direct = h.run(['mkdir', '/tmp/y'], (c) => {
      c.linux.seccomp = seccomp([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }]);
    });
    expect(direct.code).toBe(128 + 31);
  });

  it('works under a default-deny profile with no_new_privs off, loaded before capabilities drop', () => {
    const profile = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/seccomp/default-profile.json'), 'utf8'));
    const r = h.run(['sh', '-c', 'echo ok; grep -E "^Seccomp:" /proc/self/status'], (c) => {
      c.linux.seccomp = profile;
      c.process.noNewPrivileges = false;
      c.process.capabilities = { bounding: ['CAP_KILL'], permitted: ['CAP_KILL'], effective: ['CAP_KILL'] };
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\nSeccomp:\t2\n');
  });

  it('hands a notify listener to listenerPath, and the agent answers the syscall', async () => {
    const bin = path.join(h.dir, 'seccomp-agent');
    const cc = spawnSync('gcc', ['-Wall', '-Werror', '-o', bin, path.join(REPO, 'test/helpers/seccomp-agent.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const sock = path.join(h.dir, 'agent.sock');
    const stateOut = path.join(h.dir, 'agent-state.json');
    const agent = spawn(bin, [sock, stateOut, '18'], { stdio: ['ignore', 'pipe', 'pipe'] }); // EXDEV
    let agentOut = '';
    agent.stdout.on('data', (d) => (agentOut += d));
    await new Promise<void>((resolve) => agent.stdout.once('data', () => resolve()));
    const agentDone = new Promise<void>((resolve) => agent.on('exit', () => resolve()));
    try {
      const r = h.run(['sh', '-c', 'mkdir /tmp/notified; echo "mkdir=$?"; ls -d /tmp/notified 2>/dev/null || echo absent'], (c) => {
        c.linux.seccomp = seccomp([{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }], {
          listenerPath: sock,
          listenerMetadata: 'tsrun-test-metadata',
        });
      });
      expect(r.stdout).toBe('mkdir=1\nabsent\n');
      expect(r.stderr).toContain('Invalid cross-device link'); // the agent's answer, EXDEV
      await agentDone;
      expect(agentOut).toMatch(/answered syscall \d+/);
      const state = JSON.parse(fs.readFileSync(stateOut, 'utf8'));
      expect(state.metadata).toBe('tsrun-test-metadata');
      expect(state.fds).toEqual(['seccompFd']);
      expect(state.pid).toBeGreaterThan(0);
      expect(state.state.id).toBe(r.id);
    } finally {
      agent.kill('SIGKILL');
    }
  });

  it('refuses AppArmor and SELinux where the LSM is absent', () => {
    for (const [field, value] of [['apparmorProfile', 'docker-default'], ['selinuxLabel', 'system_u:system_r:container_t:s0']]) {
      const r = h.run(['true'], (c) => (c.process[field] = value));
      if (fs.existsSync(field === 'apparmorProfile' ? '/sys/kernel/security/apparmor' : '/sys/fs/selinux/enforce')) continue;
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`process.${field}`);
      expect(leftovers(h.root, r.id)).toEqual([]);
    }
  });
});
