// runtime.md: the lifecycle, the state and the operations.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check, sleepMs } from '../lib.mjs';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** A container that stays running until killed (pid 1 ignores TERM, so KILL it). */
function sleeper(t, edit) {
  return t.shBundle('while true; do sleep 1; done', edit);
}

check('runtime.md#create', 'create succeeds and the state is "created"', (t) => {
  const c = t.mustCreate(t.bundle());
  const { r, state } = t.state(c.id);
  t.ok(state, 'state failed or printed no JSON', t.res(r));
  t.eq(state.status, 'created', 'status after create');
});

check('runtime.md#state', 'state has ociVersion, a SemVer string', (t) => {
  const c = t.mustCreate(t.bundle());
  const { r, state } = t.state(c.id);
  t.ok(state, 'state failed', t.res(r));
  t.ok(typeof state.ociVersion === 'string' && SEMVER.test(state.ociVersion), 'ociVersion is not a SemVer string', { ociVersion: state.ociVersion });
});

check('runtime.md#state', 'state has the id given to create', (t) => {
  const c = t.mustCreate(t.bundle());
  const { r, state } = t.state(c.id);
  t.ok(state, 'state failed', t.res(r));
  t.eq(state.id, c.id, 'id');
});

check('runtime.md#state', 'state has the pid of the container process while created', (t) => {
  const c = t.mustCreate(t.bundle());
  const { r, state } = t.state(c.id);
  t.ok(state, 'state failed', t.res(r));
  t.ok(Number.isInteger(state.pid) && state.pid > 0, 'pid is not a positive integer', { pid: state.pid });
  t.ok(fs.existsSync(`/proc/${state.pid}`), 'no process has that pid on the host', { pid: state.pid });
  // the process is in the container's pid namespace, not the runtime's
  const ns = fs.readlinkSync(`/proc/${state.pid}/ns/pid`);
  t.ok(ns !== fs.readlinkSync('/proc/self/ns/pid'), 'the pid is a process of the runtime pid namespace, not the container', { ns });
});

check('runtime.md#state', 'state has bundle, the absolute path of the bundle', (t) => {
  const b = t.bundle();
  const c = t.mustCreate(b);
  const { r, state } = t.state(c.id);
  t.ok(state, 'state failed', t.res(r));
  t.eq(state.bundle, b.dir, 'bundle');
});

check('runtime.md#state', 'state has the annotations of the config', (t) => {
  const b = t.bundle((c) => { c.annotations = { 'org.example.key': 'value-1', 'org.example.other': 'x y z' }; });
  const c = t.mustCreate(b);
  const { r, state } = t.state(c.id);
  t.ok(state, 'state failed', t.res(r));
  t.eq(state.annotations, { 'org.example.key': 'value-1', 'org.example.other': 'x y z' }, 'annotations');
});

check('runtime.md#state', 'state follows state-schema.json (required fields and their types)', (t) => {
  const c = t.mustCreate(t.bundle());
  const { r, state } = t.state(c.id);
  t.ok(state, 'state failed', t.res(r));
  const problems = [];
  for (const k of ['ociVersion', 'id', 'status', 'bundle']) if (typeof state[k] !== 'string') problems.push(`${k} is not a string`);
  if (!['creating', 'created', 'running', 'stopped'].includes(state.status)) problems.push(`status ${state.status} is not a spec value`);
  if (state.pid !== undefined && !Number.isInteger(state.pid)) problems.push('pid is not an integer');
  if (state.annotations !== undefined && (typeof state.annotations !== 'object' || Array.isArray(state.annotations))) problems.push('annotations is not a map');
  t.ok(problems.length === 0, problems.join('; '), { state });
});

check('runtime.md#create', 'create does not run process.args', (t) => {
  const b = t.shBundle('touch /ran-marker');
  const c = t.mustCreate(b);
  sleepMs(300);
  t.ok(!fs.existsSync(path.join(b.rootfs, 'ran-marker')), 'the user program ran before start');
  const s = t.start(c.id);
  t.eq(s.code, 0, 'start failed', t.res(s));
  t.waitStatus(c.id, 'stopped');
  t.ok(fs.existsSync(path.join(b.rootfs, 'ran-marker')), 'the user program did not run after start');
});

check('runtime.md#start', 'start runs the user program', (t) => {
  const { out } = t.sh('echo started-ok');
  t.eq(out.trim(), 'started-ok', 'output of the user program');
});

check('runtime.md#state', 'status is "running" while the user program runs', (t) => {
  const c = t.mustCreate(sleeper(t));
  const s = t.start(c.id);
  t.eq(s.code, 0, 'start failed', t.res(s));
  const { state } = t.state(c.id);
  t.eq(state && state.status, 'running', 'status after start');
  t.ok(fs.existsSync(`/proc/${state.pid}`), 'the pid of a running container is gone', { pid: state.pid });
});

check('runtime.md#state', 'status is "stopped" after the user program exits', (t) => {
  const c = t.mustCreate(t.shBundle('exit 3'));
  const s = t.start(c.id);
  t.eq(s.code, 0, 'start failed', t.res(s));
  t.waitStatus(c.id, 'stopped', 5000);
});

check('runtime.md#delete', 'delete of a stopped container removes it (state then fails)', (t) => {
  const { id } = t.run(t.bundle(), { keep: true });
  const d = t.delete(id);
  t.eq(d.code, 0, 'delete failed', t.res(d));
  const { r } = t.state(id);
  t.ok(r.code !== 0, 'state of a deleted container succeeded', t.res(r));
});

check('runtime.md#delete', 'an id can be used again after delete', (t) => {
  const { id } = t.run(t.bundle());
  const c = t.create(t.bundle(), id);
  t.eq(c.code, 0, 'create with the id of a deleted container failed', t.res(c));
});

check('runtime.md#create', 'create with the id of an existing container fails and does not touch it', (t) => {
  const c = t.mustCreate(t.bundle());
  const before = t.state(c.id).state;
  const again = t.create(t.bundle(), c.id);
  t.ok(again.code !== 0, 'a second create with the same id succeeded', t.res(again));
  const after = t.state(c.id).state;
  t.ok(after && after.status === 'created' && after.pid === before.pid && after.bundle === before.bundle,
    'the existing container changed', { before, after });
});

check('runtime.md#start', 'start of a running container fails', (t) => {
  const c = t.mustCreate(sleeper(t));
  t.eq(t.start(c.id).code, 0, 'first start failed');
  const again = t.start(c.id);
  t.ok(again.code !== 0, 'a second start succeeded', t.res(again));
  t.eq(t.state(c.id).state?.status, 'running', 'status after the failed start');
});

check('runtime.md#start', 'start of a stopped container fails', (t) => {
  const { id } = t.run(t.bundle(), { keep: true });
  const again = t.start(id);
  t.ok(again.code !== 0, 'start of a stopped container succeeded', t.res(again));
  t.eq(t.state(id).state?.status, 'stopped', 'status after the failed start');
});

check('runtime.md#kill', 'kill of a stopped container fails', (t) => {
  const { id } = t.run(t.bundle(), { keep: true });
  const k = t.kill(id, 'KILL');
  t.ok(k.code !== 0, 'kill of a stopped container succeeded', t.res(k));
  t.eq(t.state(id).state?.status, 'stopped', 'status after the failed kill');
});

check('runtime.md#kill', 'kill KILL stops a running container', (t) => {
  const c = t.mustCreate(sleeper(t));
  t.eq(t.start(c.id).code, 0, 'start failed');
  const k = t.kill(c.id, 'KILL');
  t.eq(k.code, 0, 'kill failed', t.res(k));
  t.waitStatus(c.id, 'stopped', 5000);
});

check('runtime.md#kill', 'kill sends the given signal to the container process', (t) => {
  const c = t.mustCreate(t.shBundle('trap "echo got-TERM; exit 0" TERM; echo ready; while true; do sleep 0.1; done'));
  t.eq(t.start(c.id).code, 0, 'start failed');
  for (let i = 0; i < 100 && !fs.readFileSync(c.outFile, 'utf8').includes('ready'); i++) sleepMs(50);
  const k = t.kill(c.id, 'TERM');
  t.eq(k.code, 0, 'kill TERM failed', t.res(k));
  t.waitStatus(c.id, 'stopped', 5000);
  t.ok(fs.readFileSync(c.outFile, 'utf8').includes('got-TERM'), 'the process did not get SIGTERM', { stdout: fs.readFileSync(c.outFile, 'utf8') });
});

check('runtime.md#kill', 'kill of a created container sends the signal (it stops)', (t) => {
  const c = t.mustCreate(t.bundle());
  const k = t.kill(c.id, 'KILL');
  t.eq(k.code, 0, 'kill of a created container failed', t.res(k));
  t.waitStatus(c.id, 'stopped', 5000);
  const d = t.delete(c.id);
  t.eq(d.code, 0, 'delete after kill failed', t.res(d));
});

check('runtime.md#delete', 'delete of a running container fails and it keeps running', (t) => {
  const c = t.mustCreate(sleeper(t));
  t.eq(t.start(c.id).code, 0, 'start failed');
  const d = t.delete(c.id);
  t.ok(d.code !== 0, 'delete of a running container succeeded', t.res(d));
  const { state } = t.state(c.id);
  t.eq(state?.status, 'running', 'status after the failed delete');
});

check('runtime.md#delete', 'delete of a created (not stopped) container fails and leaves it created', (t) => {
  const c = t.mustCreate(t.bundle());
  const d = t.delete(c.id);
  t.ok(d.code !== 0, 'delete of a created container succeeded', t.res(d));
  const { state } = t.state(c.id);
  t.eq(state?.status, 'created', 'status after the failed delete');
});

check('runtime.md#delete', 'delete removes the resources of create (the cgroup)', (t) => {
  const cg = `/conformance-${process.pid}-${t.index}`;
  const mnt = t.cgroupMount('pids');
  const b = t.bundle((c) => { c.linux.cgroupsPath = cg; c.linux.resources = { pids: { limit: 100 } }; });
  const c = t.mustCreate(b);
  const dir = path.join(mnt.dir, cg);
  t.ok(fs.existsSync(dir), 'the cgroup does not exist after create', { dir });
  t.eq(t.kill(c.id, 'KILL').code, 0, 'kill failed');
  t.waitStatus(c.id, 'stopped', 5000);
  const d = t.delete(c.id);
  t.eq(d.code, 0, 'delete failed', t.res(d));
  t.ok(!fs.existsSync(dir), 'the cgroup is still there after delete', { dir });
});

check('runtime.md#lifecycle', 'changes to config.json after create do not affect the container', (t) => {
  const b = t.shBundle('echo original');
  const c = t.mustCreate(b);
  b.config.process.args = ['/bin/sh', '-c', 'echo changed'];
  b.write();
  t.eq(t.start(c.id).code, 0, 'start failed');
  t.waitStatus(c.id, 'stopped');
  t.eq(fs.readFileSync(c.outFile, 'utf8').trim(), 'original', 'output');
});

for (const op of ['state', 'start', 'kill', 'delete']) {
  check(`runtime.md#${op === 'state' ? 'query-state' : op}`, `${op} of an unknown id fails`, (t) => {
    const args = op === 'kill' ? ['kill', `conf-missing-${process.pid}`, 'KILL'] : [op, `conf-missing-${process.pid}`];
    const r = t.rt(args);
    t.ok(r.code !== 0, `${op} of a container that does not exist succeeded`, t.res(r));
  });
}

for (const op of ['state', 'start', 'kill', 'delete']) {
  check(`runtime.md#${op === 'state' ? 'query-state' : op}`, `${op} without a container id fails`, (t) => {
    const r = t.rt([op]);
    t.ok(r.code !== 0, `${op} without an id succeeded`, t.res(r));
  });
}

check('runtime.md#create', 'create of a config without process fails (at create or start)', (t) => {
  const b = t.bundle((c) => { delete c.process; });
  const c = t.create(b);
  if (c.code !== 0) return;
  const s = t.start(c.id);
  t.ok(s.code !== 0, 'start of a container without process succeeded', t.res(s));
  const st = t.rt(['state', c.id]);
  t.ok(st.code === 0 && JSON.parse(st.stdout).status === 'created', 'a failed start changed the container (it is no longer "created")', t.res(st));
});
