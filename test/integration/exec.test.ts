// exec and ps: a new process joins every namespace and the cgroup of a
// running container, with runc's flags.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, leftovers, rootAvailable } from '../helpers/harness';

const enabled = rootAvailable();

describe.skipIf(!enabled)('exec and ps', () => {
  let h: Harness;
  let id: string;
  let initPid: number;
  beforeAll(() => {
    h = new Harness('exec');
    id = h.id('target');
    const b = h.bundle((c) => {
      c.process.args = ['sleep', '1000'];
      c.process.env.push('FROM_CONFIG=yes');
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 }] };
    });
    expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
    initPid = JSON.parse(h.tsrun(['state', id]).stdout).pid;
  });
  afterAll(() => {
    if (id) h.tsrun(['delete', '--force', id]);
    h?.cleanup();
  });

  const exec = (...args: string[]) => h.tsrun(['exec', ...args]);

  it('joins every namespace and the cgroup of the container', () => {
    const r = exec(id, 'sh', '-c', 'for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup; echo $$');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const ns = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup'].map((n) => fs.readlinkSync(`/proc/${initPid}/ns/${n}`));
    expect(lines.slice(0, 6)).toEqual(ns);
    // in the container's cgroup namespace its own cgroup is the root
    expect(lines.slice(6, -1).every((l) => /:\/$/.test(l))).toBe(true);
    expect(Number(lines.at(-1))).toBeGreaterThan(1); // a pid of the container's namespace, not 1
  });

  it('gets the container\'s seccomp filter, env and user, and its own exit status', () => {
    const r = exec(id, 'sh', '-c', 'mkdir /tmp/e; echo "mkdir=$? $FROM_CONFIG"; exit 5');
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('mkdir=1 yes\n');
  });

  it('takes -e, --cwd, -u, --additional-gids, --cap and --no-new-privs', () => {
    const r = exec('-e', 'EXTRA=1', '--cwd', '/tmp', '-u', '1000:1001', '--additional-gids', '5', '--cap', 'CAP_NET_RAW', '--no-new-privs', id, 'sh', '-c', 'echo "$EXTRA $(pwd)"; grep -E "^(Uid|Gid|Groups|CapBnd|NoNewPrivs):" /proc/self/status');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^1 \/tmp$/m);
    expect(r.stdout).toMatch(/^Uid:\s+1000\s/m);
    expect(r.stdout).toMatch(/^Gid:\s+1001\s/m);
    expect(r.stdout).toMatch(/^Groups:\s+5\s*$/m);
    expect(r.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    const bnd = BigInt('0x' + /^CapBnd:\s+(\S+)$/m.exec(r.stdout)![1]);
    expect(bnd & (1n << 13n)).toBe(1n << 13n); // CAP_NET_RAW added
  });

  it('runs a whole --process file', () => {
    const p = path.join(h.dir, 'process.json');
    fs.writeFileSync(p, JSON.stringify({ args: ['sh', '-c', 'echo "$A $(id -u) $(pwd)"'], env: ['PATH=/bin', 'A=from-file'], cwd: '/etc', user: { uid: 7, gid: 7 } }));
    const r = exec('--process', p, id);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from-file 7 /etc\n');
    const bad = path.join(h.dir, 'bad-process.json');
    fs.writeFileSync(bad, JSON.stringify({ args: ['true'], cwd: 'relative', user: { uid: 0, gid: 0 } }));
    const rb = exec('--process', bad, id);
    expect(rb.code).toBe(1);
    expect(rb.stderr).toContain('cwd');
  });

  it('refuses flags that --process would override', () => {
    const p = path.join(h.dir, 'process-clash.json');
    fs.writeFileSync(p, JSON.stringify({ args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }));
    const r = exec('--process', p, '--cwd', '/tmp', '-e', 'A=1', id, 'echo', 'hi');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a command, --env, --cwd cannot be given with --process');
  });

  it('--cgroup joins an existing sub-cgroup of the container, and refuses a missing or escaping one', () => {
    const paths: Record<string, string> = JSON.parse(fs.readFileSync(path.join(h.root, id, 'state.json'), 'utf8')).cgroupPaths;
    const made: string[] = [];
    try {
      for (const dir of new Set(Object.values(paths))) {
        fs.mkdirSync(path.join(dir, 'sub'));
        made.push(path.join(dir, 'sub'));
        // a new v1 cpuset cgroup has no CPUs nor memory nodes until given its parent's
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if (fs.existsSync(path.join(dir, f)) && !fs.existsSync(path.join(dir, 'cgroup.controllers'))) {
            fs.writeFileSync(path.join(dir, 'sub', f), fs.readFileSync(path.join(dir, f)));
          }
        }
      }
      const r = exec('--cgroup', 'sub', id, 'sh', '-c', 'cat /proc/self/cgroup');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // in the container's cgroup namespace, the sub-cgroup is /sub in every hierarchy
      const lines = r.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((l) => !l.endsWith(':/sub'))).toEqual([]);
      if (paths.memory) {
        // one controller only: memory in the sub-cgroup, the rest in the container's own
        const one = exec('--cgroup', 'memory:sub', id, 'cat', '/proc/self/cgroup');
        expect(one.code).toBe(0);
        expect(one.stdout).toMatch(/:memory:\/sub$/m);
        expect(one.stdout).toMatch(/:pids:\/$/m);
      }
      const missing = exec('--cgroup', 'nope', id, 'true');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/--cgroup nope: the sub-cgroup .*\/nope does not exist/);
      const escape = exec('--cgroup', '../../x', id, 'true');
      expect(escape.code).toBe(1);
      expect(escape.stderr).toContain('may not leave the container\'s cgroup');
      const unknown = exec('--cgroup', 'bogus:sub', id, 'true');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('the container has no "bogus" cgroup');
    } finally {
      for (const d of made) {
        for (let i = 0; i < 50; i++) {
          try {
            fs.rmdirSync(d);
            break;
          } catch {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // the exec'd process is still leaving it
          }
        }
      }
    }
  });

  it('detaches with -d and writes --pid-file; ps lists the processes', () => {
    const pidFile = path.join(h.dir, 'exec.pid');
    const r = exec('-d', '--pid-file', pidFile, id, 'sleep', '500');
    expect(r.code).toBe(0);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\x00500\x00');
    const ps = JSON.parse(h.tsrun(['ps', '--format', 'json', id]).stdout);
    expect(ps).toEqual(expect.arrayContaining([initPid, pid]));
    const table = h.tsrun(['ps', id]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/PID/);
    expect(table.stdout).toContain('sleep 500');
    process.kill(pid, 'SIGKILL');
  });

  it('writes --pid-file only once the process is set up: a failed exec leaves none, as runc', () => {
    // the init reports the pid before it sets the process up; these fail after that (cwd, then PATH lookup)
    const failing: [string, string[], string[]][] = [
      ['cwd', ['--cwd', '/no/such/dir'], ['true']],
      ['program', [], ['no-such-program']],
    ];
    for (const [how, flags, cmd] of failing) {
      for (const detach of [false, true]) {
        const pidFile = path.join(h.dir, `failed-${how}-${detach}.pid`);
        const r = exec(...(detach ? ['-d'] : []), ...flags, '--pid-file', pidFile, id, ...cmd);
        expect(r.code, `${how} detach=${detach}`).toBe(1);
        expect(r.stderr).toContain(how === 'cwd' ? 'chdir to cwd "/no/such/dir"' : 'executable file not found');
        expect(fs.existsSync(pidFile), `${how} detach=${detach}: ${pidFile}`).toBe(false);
      }
    }
    // a foreground process that did start gets its pid file too
    const pidFile = path.join(h.dir, 'fg.pid');
    expect(exec('--pid-file', pidFile, id, 'true').code).toBe(0);
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBeGreaterThan(1);
  });

  it('fails clearly for a missing program, a stopped container, and no container', () => {
    const missing = exec(id, 'no-such-program');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('executable file not found in $PATH');
    expect(exec('tsrun-it-no-such', 'true').stderr).toContain('does not exist');
    const stopped = h.id('stopped');
    expect(h.tsrun(['run', '-d', '--bundle', h.bundle((c) => (c.process.args = ['true'])), stopped]).code).toBe(0);
    for (let i = 0; i < 100 && JSON.parse(h.tsrun(['state', stopped]).stdout).status !== 'stopped'; i++);
    const r = exec(stopped, 'true');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stopped');
    expect(h.tsrun(['delete', stopped]).code).toBe(0);
    expect(leftovers(h.root, stopped)).toEqual([]);
  });
});
