// Docker (Debian's docker.io 20.10) end to end: a private dockerd whose
// containerd runs tsrun through the runc shim (`runtimes` in daemon.json,
// `docker run --runtime tsrun`), with Docker's default seccomp profile and
// capabilities; runc under the same daemon is the reference. The last test
// checks the calls tsrun received against what the shim is known to send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capabilityNumbers } from '../../src/spec/names';
import { Dockerd, IMAGE, STATUS_PROBE, TTY_PROBE, dockerAvailable } from './docker';
import { TSRUN, cgroupDirs, commandOf, flagsOf, freezerState, insideCgroup, lastJsonError, runCmd, timings } from './engines';

const enabled = dockerAvailable();

describe.skipIf(!enabled)('docker (dockerd 20.10, containerd runc shim) with tsrun', () => {
  let d: Dockerd;
  /** Calls expected to fail, by container id and command. */
  const expectedFailures = new Set<string>();

  beforeAll(() => {
    d = new Dockerd();
    d.start();
  });

  afterAll(() => {
    if (!d) return;
    const problems = d.cleanup();
    const left = d.leftovers();
    if (problems.length || left.length) {
      throw new Error(`docker test left things behind (kept ${d.dir}):\n${[...problems, ...left].join('\n')}`);
    }
    d.removeDir();
  });

  const idOf = (name: string) => d.inspect(name, '{{.Id}}');
  const status = (name: string) => d.inspect(name, '{{.State.Status}}');
  const pidOf = (name: string) => Number(d.inspect(name, '{{.State.Pid}}'));
  const tsrunState = (id: string) => JSON.parse(runCmd(d.dir, TSRUN, ['--root', d.tsrunRoot, 'state', id]).stdout) as { status: string; pid: number };
  /** Nothing of the container left: Docker forgot it, tsrun's state, its cgroup. */
  const noTrace = (id: string) => {
    expect(d.docker(['ps', '-aq', '--no-trunc']).stdout).not.toContain(id);
    expect(fs.existsSync(path.join(d.tsrunRoot, id))).toBe(false);
    expect(cgroupDirs(`${d.cgroupParent}/${id}`)).toEqual([]);
  };
  /** The id of the last container tsrun was asked to create. */
  const lastCreated = () => commandOf(d.calls().filter((c) => commandOf(c.argv).command === 'create').at(-1)!.argv).args.at(-1)!;
  const rmf = (name: string) => d.docker(['rm', '--force', name], { timeout: 30_000 });

  it('run --rm: output, exit status passed through, nothing left', () => {
    const r = d.run(['--rm'], ['sh', '-c', 'echo hello; echo err >&2; exit 7']);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(7);
    noTrace(lastCreated());
  });

  it('--default-runtime tsrun: a run without --runtime goes to tsrun', () => {
    const r = d.docker(['run', '--name', 'deflt', IMAGE, 'echo', 'default']);
    expect(r.stdout).toBe('default\n');
    expect(r.code).toBe(0);
    const id = idOf('deflt');
    expect(d.inspect('deflt', '{{.HostConfig.Runtime}}')).toBe('tsrun');
    expect(d.calls().some((c) => commandOf(c.argv).command === 'create' && c.argv.at(-1) === id)).toBe(true);
    expect(d.docker(['rm', 'deflt']).code).toBe(0);
    noTrace(id);
  });

  it('docker info: dockerd read tsrun --version at start-up for the default runtime', () => {
    const info = JSON.parse(d.docker(['info', '--format', '{{json .}}']).stdout) as { DefaultRuntime: string; Runtimes: Record<string, { path: string }>; RuncCommit: { ID: string } };
    expect(info.DefaultRuntime).toBe('tsrun');
    expect(info.Runtimes.tsrun.path).toBe(d.wrapper);
    const commit = /^commit: (.+)$/m.exec(runCmd(d.dir, TSRUN, ['--version']).stdout)![1];
    expect(info.RuncCommit.ID).toBe(commit);
  });

  it('works with bin/tsrun itself as the runtime path (no wrapper)', () => {
    const r = d.run(['--rm'], ['sh', '-c', 'echo direct; grep ^Seccomp: /proc/self/status'], 'tsrun-direct');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('direct\nSeccomp:\t2\n');
    expect(r.code).toBe(0);
  });

  it('run -d, then stop (SIGTERM ignored by pid 1, then SIGKILL) and rm', () => {
    const r = d.run(['-d', '--name', 'stopme'], ['sleep', '1000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(status('stopme')).toBe('running');
    expect(tsrunState(id).status).toBe('running');
    expect(tsrunState(id).pid).toBe(pidOf('stopme'));
    const s = d.docker(['stop', '-t', '1', 'stopme']);
    expect(s.code).toBe(0);
    expect(status('stopme')).toBe('exited');
    expect(d.inspect('stopme', '{{.State.ExitCode}}')).toBe('137');
    const kills = d.calls().filter((c) => c.argv.includes(id) && commandOf(c.argv).command === 'kill').map((c) => commandOf(c.argv).args);
    expect(kills).toEqual([[id, '15'], [id, '9']]);
    expect(d.docker(['rm', 'stopme']).code).toBe(0);
    noTrace(id);
  });

  it('run -it: the container gets a terminal', () => {
    const r = d.dockerOnPty(['run', '--rm', '-it', '--runtime', 'tsrun', IMAGE, 'sh', '-c', `${TTY_PROBE}; exit 3`]);
    expect(r.stdout).toMatch(/tty=\/dev\/pts\/\d+ stdin=tty\r?\n/);
    expect(r.code).toBe(3);
  });

  describe('a running container', () => {
    const name = 'long';
    let id: string;
    beforeAll(() => {
      const r = d.run(['-d', '--name', name], ['sh', '-c', 'trap "exit 42" USR1; while :; do sleep 0.1; done']);
      if (r.code !== 0) throw new Error(`docker run -d: ${r.stderr}`);
      id = r.stdout.trim();
    });
    afterAll(() => {
      if (id) rmf(name);
    });

    it('exec: a process joins the container, its exit status passed through', () => {
      const r = d.docker(['exec', name, 'sh', '-c', 'echo $$; cat /proc/1/cmdline | tr "\\0" " "; exit 5']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(5);
      const [execPid, cmd1] = r.stdout.trim().split('\n');
      expect(Number(execPid)).toBeGreaterThan(1);
      expect(cmd1).toMatch(/^sh -c trap/); // pid 1 is the container's shell
    });

    it('exec -it: the process gets a terminal', () => {
      const r = d.dockerOnPty(['exec', '-it', name, 'sh', '-c', TTY_PROBE]);
      expect(r.stdout).toMatch(/tty=\/dev\/pts\/\d+ stdin=tty\r?\n/);
      expect(r.code).toBe(0);
    });

    it('exec of a missing program shows tsrun\'s message, with runc\'s exit code', () => {
      expectedFailures.add(`${id} exec`);
      // docker exec prints the runtime's error on the attached stdout
      const r = d.docker(['exec', name, 'no-such-tool']);
      expect(r.stdout).toContain('OCI runtime exec failed: exec: "no-such-tool": executable file not found in $PATH');
      const runc = d.run(['-d'], ['sleep', '1000'], 'runc');
      const rr = d.docker(['exec', runc.stdout.trim(), 'no-such-tool']);
      rmf(runc.stdout.trim());
      expect(rr.stdout).toContain('exec: "no-such-tool": executable file not found in $PATH');
      expect(r.code).toBe(rr.code);
    });

    it('top lists the container\'s processes by host pid (tsrun ps)', () => {
      const r = d.docker(['top', name]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const rows = r.stdout.trim().split('\n').slice(1);
      const pid1 = rows.find((l) => / sh -c trap/.test(l));
      expect(pid1?.split(/\s+/)[1]).toBe(String(pidOf(name)));
    });

    it('stats --no-stream reads the container\'s cgroup', () => {
      const r = d.docker(['stats', '--no-stream', '--format', '{{json .}}', name]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as { ID: string; PIDs: string; MemUsage: string };
      expect(id.startsWith(s.ID)).toBe(true);
      expect(Number(s.PIDs)).toBeGreaterThanOrEqual(1);
      expect(s.MemUsage).toMatch(/^[1-9][\d.]*[KMG]iB \//);
    });

    it('pause and unpause freeze and thaw the cgroup', () => {
      const cg = `${d.cgroupParent}/${id}`;
      expect(d.docker(['pause', name]).code).toBe(0);
      expect(status(name)).toBe('paused');
      expect(tsrunState(id).status).toBe('paused');
      expect(freezerState(cg)).toBe('FROZEN');
      expect(d.docker(['unpause', name]).code).toBe(0);
      expect(status(name)).toBe('running');
      expect(tsrunState(id).status).toBe('running');
      expect(freezerState(cg)).toBe('THAWED');
    });

    it('update --memory --cpus changes the cgroup, on the host and inside', () => {
      const u = d.docker(['update', '--memory', '96m', '--memory-swap', '192m', '--cpus', '0.25', name]);
      expect(u.stderr).toBe('');
      expect(u.code).toBe(0);
      const host = d.hostLimits(id);
      expect([host.memory, host.swap, host.cpu]).toEqual([String(96 * 1024 * 1024), String(96 * 1024 * 1024), '25000 100000']);
      const r = d.docker(['exec', name, 'sh', '-c', `${insideCgroup.memoryLimit}; ${insideCgroup.cpuQuota}`]);
      expect(r.stdout).toBe(`${96 * 1024 * 1024}\n25000 100000\n`);
    });

    // last: the container exits
    it('kill -s USR1 reaches pid 1, whose handler sets the exit status', () => {
      const k = d.docker(['kill', '-s', 'USR1', name]);
      expect(k.code).toBe(0);
      const w = d.docker(['wait', name]);
      expect(w.stdout.trim()).toBe('42');
      expect(status(name)).toBe('exited');
      const kill = d.calls().filter((c) => c.argv.includes(id) && commandOf(c.argv).command === 'kill').at(-1);
      expect(commandOf(kill!.argv).args).toEqual([id, '10']);
    });
  });

  it('restart: the same container (its files kept) runs again with a new process', () => {
    // a TERM handler, so restart need not wait for its timeout
    const r = d.run(['-d', '--name', 'again'], ['sh', '-c', 'trap "exit 0" TERM; echo run >> /count; sleep 1000 & wait']);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const pid = pidOf('again');
    expect(d.docker(['restart', '-t', '5', 'again']).code).toBe(0);
    expect(status('again')).toBe('running');
    expect(pidOf('again')).not.toBe(pid);
    expect(tsrunState(id).pid).toBe(pidOf('again'));
    expect(d.docker(['exec', 'again', 'cat', '/count']).stdout).toBe('run\nrun\n');
    expect(rmf('again').code).toBe(0);
    noTrace(id);
  });

  it('--memory, --cpus and --pids-limit: the values inside and on the host', () => {
    const r = d.run(['-d', '--name', 'limits', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '33'], ['sleep', '1000']);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const inside = d.docker(['exec', 'limits', 'sh', '-c', `${insideCgroup.memoryLimit}; ${insideCgroup.cpuQuota}; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max`]);
    expect(inside.stdout).toBe(`${64 * 1024 * 1024}\n50000 100000\n33\n`);
    const host = d.hostLimits(id);
    expect([host.memory, host.cpu, host.pids]).toEqual([String(64 * 1024 * 1024), '50000 100000', '33']);
    expect(rmf('limits').code).toBe(0);
    noTrace(id);
  });

  it('--read-only: the root filesystem refuses writes', () => {
    const r = d.run(['--rm', '--read-only'], ['sh', '-c', 'touch /x || echo refused; grep " / " /proc/mounts']);
    expect(r.stderr).toMatch(/touch: \/x: Read-only file system/);
    expect(r.stdout).toMatch(/^refused\noverlay \/ overlay ro[,\s]/);
    expect(r.code).toBe(0);
  });

  it('--user: the process runs as the uid and gid given (names from the image\'s /etc/passwd)', () => {
    const r = d.run(['--rm', '--user', 'nobody'], ['sh', '-c', 'id -u; id -g; touch /root/x 2>/dev/null || echo denied']);
    expect(r.stdout).toBe('65534\n65534\ndenied\n');
    const n = d.run(['--rm', '--user', '1234:5678'], ['sh', '-c', 'id -u; id -g']);
    expect(n.stdout).toBe('1234\n5678\n');
  });

  it('--cap-drop ALL --cap-add: CapEff holds only the capability added', () => {
    const r = d.run(['--rm', '--cap-drop', 'ALL', '--cap-add', 'NET_BIND_SERVICE'], ['grep', '-E', '^Cap(Eff|Bnd|Prm)', '/proc/self/status']);
    expect(r.stdout).toBe('CapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t0000000000000400\n');
  });

  it('--security-opt no-new-privileges sets NoNewPrivs', () => {
    const r = d.run(['--rm', '--security-opt', 'no-new-privileges'], ['grep', '^NoNewPrivs', '/proc/self/status']);
    expect(r.stdout).toBe('NoNewPrivs:\t1\n');
    const without = d.run(['--rm'], ['grep', '^NoNewPrivs', '/proc/self/status']);
    expect(without.stdout).toBe('NoNewPrivs:\t0\n');
  });

  it('--tmpfs mounts a tmpfs with the options given', () => {
    const r = d.run(['--rm', '--read-only', '--tmpfs', '/scratch:size=1m,mode=1770'], ['sh', '-c', 'grep " /scratch " /proc/mounts; stat -c %a /scratch; echo x > /scratch/f && cat /scratch/f']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770\s/);
    expect(r.stdout.split('\n').slice(1)).toEqual(['1770', 'x', '']);
  });

  it('-v bind mounts: read-write and :ro', () => {
    const host = path.join(d.dir, 'shared');
    fs.mkdirSync(host, { recursive: true });
    fs.writeFileSync(path.join(host, 'in'), 'from host\n');
    const r = d.run(['--rm', '-v', `${host}:/data`, '-v', `${host}:/ro:ro`], ['sh', '-c', 'cat /data/in; echo from container > /data/out; touch /ro/x 2>&1']);
    expect(r.stdout).toMatch(/^from host\ntouch: \/ro\/x: Read-only file system\n$/);
    expect(fs.readFileSync(path.join(host, 'out'), 'utf8')).toBe('from container\n');
  });

  it('--network none: only a loopback device, in a network namespace of its own', () => {
    const r = d.run(['--rm', '--network', 'none'], ['sh', '-c', 'ls /sys/class/net; readlink /proc/self/ns/net']);
    const [devs, ns] = r.stdout.trim().split('\n');
    expect(devs).toBe('lo');
    expect(ns).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
  });

  it('Docker\'s default seccomp profile is applied: Seccomp 2, and unshare is refused', () => {
    const probe = ['sh', '-c', 'grep ^Seccomp: /proc/self/status; unshare -U true && echo unshared'];
    const r = d.run(['--rm'], probe);
    expect(r.stdout).toBe('Seccomp:\t2\n');
    expect(r.stderr).toMatch(/unshare\(0x10000000\): Operation not permitted/);
    expect(r.code).toBe(1);
    // without the profile the same call works: the refusal came from the filter
    const free = d.run(['--rm', '--security-opt', 'seccomp=unconfined'], probe);
    expect(free.stdout).toBe('Seccomp:\t0\nunshared\n');
    // and runc under the same daemon behaves the same
    const runc = d.run(['--rm'], probe, 'runc');
    expect(runc.stdout).toBe(r.stdout);
    expect(runc.stderr).toBe(r.stderr);
  });

  it('the same capabilities, no_new_privs and seccomp as runc, by default and with options', () => {
    for (const opts of [[], ['--cap-add', 'SYS_ADMIN', '--security-opt', 'no-new-privileges'], ['--user', '1:1'], ['--cap-drop', 'ALL']]) {
      const ts = d.run(['--rm', ...opts], STATUS_PROBE);
      const rc = d.run(['--rm', ...opts], STATUS_PROBE, 'runc');
      expect(ts.code, opts.join(' ')).toBe(0);
      expect(ts.stdout, opts.join(' ')).toBe(rc.stdout);
    }
  });

  it('--privileged: every capability asked for that the host has, no seccomp filter', () => {
    // runc refuses to start where the host's bounding set lacks one of them (here
    // CAP_SYS_RESOURCE); tsrun drops it with a warning: compare with what Docker asked
    const r = d.run(['-d', '--privileged'], ['sleep', '1000']);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const spec = JSON.parse(fs.readFileSync(path.join(d.bundle(id), 'config.json'), 'utf8')) as { process: { capabilities: { bounding: string[] } } };
    const asked = spec.process.capabilities.bounding.reduce((m, c) => m | (1n << BigInt(capabilityNumbers[c])), 0n);
    const host = BigInt(`0x${/^CapBnd:\t(\w+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
    const want = (asked & host).toString(16).padStart(16, '0');
    const inside = d.docker(['exec', id, ...STATUS_PROBE]).stdout;
    for (const set of ['Prm', 'Eff', 'Bnd']) expect(inside).toContain(`Cap${set}:\t${want}\n`);
    expect(inside).toContain('Seccomp:\t0\n');
    expect(rmf(id).code).toBe(0);
  });

  it('a missing executable: tsrun\'s message reaches the docker user, exit 127 as under runc', () => {
    const r = d.run(['--rm'], ['no-such-program']);
    expectedFailures.add(`${lastCreated()} create`);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('OCI runtime create failed: exec: "no-such-program": executable file not found in $PATH');
    noTrace(lastCreated());
    const runc = d.run(['--rm'], ['no-such-program'], 'runc');
    expect(runc.code).toBe(127);
    expect(runc.stderr).toContain('exec: "no-such-program": executable file not found in $PATH');
  });

  it('a config tsrun cannot apply (a sysctl the kernel lacks): tsrun\'s message reaches the docker user', () => {
    const r = d.run(['--rm', '--sysctl', 'net.no.such=1'], ['true']);
    const id = lastCreated();
    expectedFailures.add(`${id} create`);
    expect(r.stderr).toContain('OCI runtime create failed: write sysctl "/proc/sys/net/no/such" = "1": no such file or directory');
    const failed = d.calls().find((k) => k.argv.includes(id) && commandOf(k.argv).command === 'create');
    expect(failed?.rc).toBe(1);
    expect(lastJsonError(failed!.logCopy!)).toBe('write sysctl "/proc/sys/net/no/such" = "1": no such file or directory');
    noTrace(id);
    // runc fails too, with its own words; docker maps both to the same exit code
    const runc = d.run(['--rm', '--sysctl', 'net.no.such=1'], ['true'], 'runc');
    expect(runc.stderr).toContain('open /proc/sys/net/no/such: no such file or directory');
    expect(r.code).toBe(runc.code);
  });

  it('the shim\'s calls are the ones tsrun takes, each with --root R --log F --log-format json', () => {
    const calls = d.calls();
    expect(calls.length).toBeGreaterThan(30);
    const seen = new Set<string>();
    for (const call of calls) {
      const { globals, command, args } = commandOf(call.argv);
      const where = call.argv.join(' ');
      if (command === undefined) {
        // dockerd asks for the version at start-up, for `docker info`
        expect(call.argv, where).toEqual(['--version']);
        seen.add('--version');
        continue;
      }
      expect(globals.slice(0, 2), where).toEqual(['--root', d.tsrunRoot]);
      expect(globals[2], where).toBe('--log');
      expect(globals[3], where).toMatch(/\/log\.json$/);
      expect(globals.slice(4), where).toEqual(['--log-format', 'json']);
      const { flags, positionals } = flagsOf(args, ['--bundle', '--pid-file', '--console-socket', '--process', '--format', '--resources']);
      const id = positionals[0];
      expect(id, where).toMatch(/^[0-9a-f]{64}$/);
      let shape = command;
      switch (command) {
        case 'create':
          expect(flags['--bundle'], where).toBe(d.bundle(id));
          expect(flags['--pid-file'], where).toMatch(/init\.pid$/);
          shape += flags['--console-socket'] ? ' --console-socket' : '';
          expect(Object.keys(flags).sort(), where).toEqual(['--bundle', '--pid-file', ...(flags['--console-socket'] ? ['--console-socket'] : [])].sort());
          break;
        case 'exec':
          expect(fs.existsSync(String(flags['--process'])), where).toBe(false); // the shim's temp file, removed
          expect(flags['--detach'], where).toBe(true);
          expect(flags['--pid-file'], where).toMatch(/\.pid$/);
          shape += flags['--console-socket'] ? ' --console-socket' : '';
          break;
        case 'update':
          expect(flags, where).toEqual({ '--resources': '-' }); // the resources on stdin
          break;
        case 'ps':
          expect(flags, where).toEqual({ '--format': 'json' });
          break;
        case 'kill':
          expect(positionals[1], where).toMatch(/^\d+$/); // the shim sends numbers
          shape += flags['--all'] ? ' --all' : '';
          break;
        case 'delete':
          shape += flags['--force'] ? ' --force' : '';
          break;
        case 'start':
        case 'pause':
        case 'resume':
          expect(flags, where).toEqual({});
          break;
        default:
          throw new Error(`unexpected call: ${where}`);
      }
      seen.add(shape);
      // the shim deletes with --force after a delete that worked and after a
      // failed create: tsrun, as runc, succeeds when the container is gone
      if (call.rc !== 0) expect(expectedFailures.has(`${id} ${command}`), `${where} exited ${call.rc}`).toBe(true);
    }
    console.info(`docker: tsrun calls\n${timings(calls.filter((c) => commandOf(c.argv).command))}`);
    expect([...seen].sort()).toEqual(
      ['--version', 'create', 'create --console-socket', 'delete', 'delete --force', 'exec', 'exec --console-socket', 'kill', 'pause', 'ps', 'resume', 'start', 'update'].sort(),
    );
  });
});
