// config.md#process and its POSIX and Linux parts, seen from inside the container.
import * as fs from 'node:fs';
import { check, capMask, host, parseStatus } from '../lib.mjs';

const hex = (m) => m.toString(16).padStart(16, '0');

function status(t, edit) {
  const { out } = t.sh('cat /proc/self/status', edit);
  return parseStatus(out);
}

check('config.md#process', 'args are passed to the program exactly', (t) => {
  const b = t.bundle((c) => { c.process.args = ['/bin/sh', '-c', 'for a in "$@"; do echo "[$a]"; done', 'argv0', 'one two', '', '*', '$HOME']; });
  const { out } = t.run(b);
  t.eq(out, '[one two]\n[]\n[*]\n[$HOME]\n', 'argv as printed by the program');
});

check('config.md#process', 'env is the environment of the program', (t) => {
  const { out } = t.sh('env | sort', (c) => { c.process.env = ['PATH=/bin:/usr/bin', 'FOO=bar baz', 'EMPTY=', 'HOME=/root']; });
  const got = out.split('\n').filter((l) => /^(PATH|FOO|EMPTY|HOME)=/.test(l));
  t.eq(got, ['EMPTY=', 'FOO=bar baz', 'HOME=/root', 'PATH=/bin:/usr/bin'], 'environment');
});

check('config.md#process', 'args[0] is found through PATH (execvp semantics)', (t) => {
  const b = t.bundle((c) => { c.process.args = ['echo', 'found-by-path']; c.process.env = ['PATH=/usr/sbin:/bin']; });
  t.eq(t.run(b).out.trim(), 'found-by-path', 'output');
});

check('config.md#process', 'cwd is the working directory', (t) => {
  const { out } = t.sh('pwd', (c) => { c.process.cwd = '/etc'; });
  t.eq(out.trim(), '/etc', 'working directory');
});

check('config.md#posix-platform-user', 'user.uid and user.gid are the ids of the process', (t) => {
  const { out } = t.sh('id -u; id -g', (c) => { c.process.user = { uid: 1000, gid: 1001 }; });
  t.eq(out.trim().split('\n'), ['1000', '1001'], 'uid and gid');
});

check('config.md#posix-platform-user', 'user.additionalGids are the supplementary groups', (t) => {
  const s = status(t, (c) => { c.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 6, 7000] }; });
  t.eq((s.Groups ?? '').split(/\s+/).filter(Boolean).sort(), ['5', '6', '7000'], 'Groups in /proc/self/status');
});

check('config.md#posix-platform-user', 'user.umask is the umask of the process', (t) => {
  const { out } = t.sh('umask', (c) => { c.process.user = { uid: 0, gid: 0, umask: 0o27 }; });
  t.eq(out.trim(), '0027', 'umask');
});

check('config.md#posix-process', 'rlimits: soft and hard values match (RLIMIT_NOFILE)', (t) => {
  const { out } = t.sh('cat /proc/self/limits', (c) => { c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 768 }]; });
  const line = out.split('\n').find((l) => l.startsWith('Max open files'));
  t.eq(line?.split(/\s{2,}/).slice(1, 3), ['512', '768'], 'Max open files (soft, hard)', { line });
});

check('config.md#posix-process', 'rlimits: several types apply (RLIMIT_CORE, RLIMIT_NPROC)', (t) => {
  const { out } = t.sh('cat /proc/self/limits', (c) => {
    c.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 4096, hard: 8192 }, { type: 'RLIMIT_NPROC', soft: 300, hard: 400 }];
  });
  const core = out.split('\n').find((l) => l.startsWith('Max core file size'))?.split(/\s{2,}/).slice(1, 3);
  const nproc = out.split('\n').find((l) => l.startsWith('Max processes'))?.split(/\s{2,}/).slice(1, 3);
  t.eq({ core, nproc }, { core: ['4096', '8192'], nproc: ['300', '400'] }, 'limits');
});

check('config.md#linux-process', 'capabilities: the bounding set is the configured one', (t) => {
  const caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const s = status(t, (c) => { c.process.capabilities = { bounding: caps, effective: caps, permitted: caps }; });
  t.eq(s.CapBnd, hex(capMask(caps)), 'CapBnd');
});

check('config.md#linux-process', 'capabilities: effective and permitted sets of uid 0 are the configured ones', (t) => {
  const caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const s = status(t, (c) => { c.process.capabilities = { bounding: caps, effective: caps, permitted: caps }; });
  t.eq({ eff: s.CapEff, prm: s.CapPrm }, { eff: hex(capMask(caps)), prm: hex(capMask(caps)) }, 'CapEff and CapPrm');
});

check('config.md#linux-process', 'capabilities: inheritable and ambient sets of a non-root user', (t) => {
  // uid 1000 keeps across execve only what is ambient; inheritable and bounding stay as configured
  const all = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const s = status(t, (c) => {
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.capabilities = { bounding: all, effective: all, permitted: all, inheritable: all, ambient: ['CAP_NET_BIND_SERVICE'] };
  });
  const amb = hex(capMask(['CAP_NET_BIND_SERVICE']));
  t.eq({ bnd: s.CapBnd, inh: s.CapInh, amb: s.CapAmb, prm: s.CapPrm, eff: s.CapEff },
    { bnd: hex(capMask(all)), inh: hex(capMask(all)), amb, prm: amb, eff: amb }, 'capability sets');
});

check('config.md#linux-process', 'a capability the host cannot grant is a warning, not a failure', (t) => {
  if (host.capBnd() & (1n << 24n)) t.skip('this host can grant CAP_SYS_RESOURCE');
  const caps = ['CAP_KILL', 'CAP_SYS_RESOURCE'];
  const { out } = t.sh('echo ran', (c) => { c.process.capabilities = { bounding: caps, effective: caps, permitted: caps }; });
  t.eq(out.trim(), 'ran', 'output');
}, { level: 'SHOULD' });

check('config.md#linux-process', 'noNewPrivileges true sets no_new_privs', (t) => {
  const s = status(t, (c) => { c.process.noNewPrivileges = true; });
  t.eq(s.NoNewPrivs, '1', 'NoNewPrivs');
});

check('config.md#linux-process', 'noNewPrivileges false leaves no_new_privs unset', (t) => {
  const s = status(t, (c) => { c.process.noNewPrivileges = false; });
  t.eq(s.NoNewPrivs, '0', 'NoNewPrivs');
});

check('config.md#linux-process', 'oomScoreAdj sets oom_score_adj', (t) => {
  const { out } = t.sh('cat /proc/self/oom_score_adj', (c) => { c.process.oomScoreAdj = 123; });
  t.eq(out.trim(), '123', 'oom_score_adj');
});

check('config.md#linux-process', 'without oomScoreAdj, oom_score_adj is the caller\'s', (t) => {
  const c = t.create(t.shBundle('cat /proc/self/oom_score_adj'), undefined, { wrap: 'echo 77 > /proc/self/oom_score_adj' });
  t.eq(c.code, 0, 'create failed', t.res(c));
  t.eq(t.start(c.id).code, 0, 'start failed');
  t.waitStatus(c.id, 'stopped');
  t.eq(fs.readFileSync(c.outFile, 'utf8').trim(), '77', 'oom_score_adj (the runtime was started with 77)');
});

check('runtime-linux.md#file-descriptors', 'only stdin, stdout and stderr are open in the program', (t) => {
  // ls opens the directory it lists: that is fd 3
  const { out } = t.sh('ls /proc/self/fd');
  t.eq(out.split(/\s+/).filter(Boolean).sort(), ['0', '1', '2', '3'], 'open descriptors of `ls /proc/self/fd`');
});

check('config.md#hostname', 'hostname is set in the container UTS namespace', (t) => {
  const { out } = t.sh('hostname', (c) => { c.hostname = 'conf-host.example'; });
  t.eq(out.trim(), 'conf-host.example', 'hostname');
});

check('config.md#domainname', 'domainname is set in the container UTS namespace', (t) => {
  const { out } = t.sh('cat /proc/sys/kernel/domainname', (c) => { c.domainname = 'conf-domain.test'; });
  t.eq(out.trim(), 'conf-domain.test', 'domainname');
});
