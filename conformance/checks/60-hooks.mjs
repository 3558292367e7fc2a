// config.md#posix-platform-hooks and the hook steps of runtime.md#lifecycle.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check, sleepMs } from '../lib.mjs';

/**
 * A bundle whose hooks each append their name to a log and save the state they
 * read on stdin. The log directory is bind-mounted at /hl in the container, so
 * hooks in the container namespace (createContainer before pivot_root sees the
 * host path; startContainer after it sees /hl) write to the same file.
 */
function hookBundle(t, { script = 'echo process >> /hl/log', edit = () => undefined, hooks = ALL } = {}) {
  const hl = t.tmp('hl');
  fs.mkdirSync(hl, { recursive: true, mode: 0o777 });
  const hook = (name) => ({
    path: '/bin/sh',
    args: ['sh', '-c', `d=${hl}; [ -d "$d" ] || d=/hl; cat > "$d/state-${name}.json"; `
      + `echo "${name} $(readlink /proc/self/ns/mnt) $HOOK_ENV" >> "$d/log"`],
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', `HOOK_ENV=env-of-${name}`],
  });
  const b = t.shBundle(script, (c) => {
    c.mounts.push({ destination: '/hl', type: 'none', source: hl, options: ['bind'] });
    c.hooks = Object.fromEntries(hooks.map((h) => [h, [hook(h)]]));
    edit(c);
  });
  const log = () => {
    try {
      return fs.readFileSync(path.join(hl, 'log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => {
        const [name, mnt, env] = l.split(' ');
        return { name, mnt, env };
      });
    } catch { return []; }
  };
  const stateOf = (name) => JSON.parse(fs.readFileSync(path.join(hl, `state-${name}.json`), 'utf8'));
  return { b, hl, log, stateOf };
}

const ALL = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];
const names = (log) => log.map((e) => e.name);

check('config.md#posix-platform-hooks', 'prestart, createRuntime and createContainer run during create, in that order', (t) => {
  const h = hookBundle(t);
  t.mustCreate(h.b);
  t.eq(names(h.log()), ['prestart', 'createRuntime', 'createContainer'], 'hooks run by create');
});

check('config.md#posix-platform-hooks', 'startContainer runs at start, before the user program', (t) => {
  const h = hookBundle(t);
  const c = t.mustCreate(h.b);
  const s = t.start(c.id);
  t.eq(s.code, 0, 'start failed', t.res(s));
  t.waitStatus(c.id, 'stopped');
  const n = names(h.log());
  t.ok(n.includes('startContainer') && n.indexOf('startContainer') < n.indexOf('process'), 'startContainer did not run before the program', { log: n });
});

check('config.md#posix-platform-hooks', 'poststart runs after the user program started, before start returns', (t) => {
  const h = hookBundle(t, { script: 'echo process >> /hl/log; sleep 2' });
  const c = t.mustCreate(h.b);
  const s = t.start(c.id);
  t.eq(s.code, 0, 'start failed', t.res(s));
  const n = names(h.log());
  t.ok(n.includes('poststart'), 'poststart had not run when start returned', { log: n });
  t.ok(n.indexOf('startContainer') < n.indexOf('poststart'), 'poststart ran before startContainer', { log: n });
});

check('config.md#posix-platform-hooks', 'poststop runs at delete, before delete returns, last', (t) => {
  const h = hookBundle(t);
  const { id } = t.run(h.b, { keep: true });
  t.ok(!names(h.log()).includes('poststop'), 'poststop ran before delete', { log: names(h.log()) });
  const d = t.delete(id);
  t.eq(d.code, 0, 'delete failed', t.res(d));
  const n = names(h.log());
  t.eq(n.at(-1), 'poststop', 'last hook after delete', { log: n });
});

check('config.md#posix-platform-hooks', 'hooks get their args and env', (t) => {
  const h = hookBundle(t, { hooks: ['prestart'] });
  t.mustCreate(h.b);
  t.eq(h.log()[0]?.env, 'env-of-prestart', 'HOOK_ENV seen by the prestart hook', { log: h.log() });
});

check('config.md#posix-platform-hooks', 'the state is passed to hooks on stdin (id, bundle, pid)', (t) => {
  const h = hookBundle(t, { hooks: ['prestart', 'createRuntime', 'poststart'] });
  const c = t.mustCreate(h.b);
  const pid = t.state(c.id).state?.pid;
  t.eq(t.start(c.id).code, 0, 'start failed');
  const got = {};
  for (const n of ['prestart', 'createRuntime', 'poststart']) {
    const s = h.stateOf(n);
    got[n] = { id: s.id, bundle: s.bundle, pid: s.pid, ociVersion: typeof s.ociVersion };
  }
  const want = { id: c.id, bundle: h.b.dir, pid, ociVersion: 'string' };
  t.eq(got, { prestart: want, createRuntime: want, poststart: want }, 'state read by the hooks in the runtime namespace');
});

check('runtime.md#state', 'the state given to prestart says created (hooks run after lifecycle step 2)', (t) => {
  // "created: the runtime has finished the create operation (after step 2 in the lifecycle)";
  // prestart is step 3. runc 1.1.5 says "creating" here; runtime-tools' hooks_stdin expects "created".
  const h = hookBundle(t, { hooks: ['prestart'] });
  t.mustCreate(h.b);
  t.eq(h.stateOf('prestart').status, 'created', 'status read by prestart');
});

check('config.md#posix-platform-hooks', 'the state given to poststop says stopped', (t) => {
  const h = hookBundle(t, { hooks: ['poststop'] });
  const { id } = t.run(h.b);
  const s = h.stateOf('poststop');
  t.eq({ id: s.id, status: s.status }, { id, status: 'stopped' }, 'state read by poststop');
});

check('config.md#posix-platform-hooks', 'createContainer and startContainer run in the container mount namespace, the others in the runtime\'s', (t) => {
  const h = hookBundle(t, { script: 'echo "process $(readlink /proc/self/ns/mnt)" >> /hl/log' });
  t.run(h.b);
  const log = h.log();
  const ns = Object.fromEntries(log.map((e) => [e.name, e.mnt]));
  const host = fs.readlinkSync('/proc/self/ns/mnt');
  const want = { prestart: host, createRuntime: host, createContainer: ns.process, startContainer: ns.process, poststart: host, poststop: host };
  const got = Object.fromEntries(Object.keys(want).map((k) => [k, ns[k]]));
  t.eq(got, want, 'mount namespace of each hook (process: the container\'s)');
});

check('runtime.md#lifecycle', 'a failing prestart hook fails create and leaves no container', (t) => {
  const b = t.bundle((c) => { c.hooks = { prestart: [{ path: '/bin/false' }] }; });
  const c = t.create(b);
  t.ok(c.code !== 0, 'create succeeded with a failing prestart hook', t.res(c));
  const { r } = t.state(c.id);
  t.ok(r.code !== 0, 'a container remains after the failed create', t.res(r));
});

check('runtime.md#lifecycle', 'a failing createRuntime hook fails create and leaves no container', (t) => {
  const b = t.bundle((c) => { c.hooks = { createRuntime: [{ path: '/bin/false' }] }; });
  const c = t.create(b);
  t.ok(c.code !== 0, 'create succeeded with a failing createRuntime hook', t.res(c));
  const { r } = t.state(c.id);
  t.ok(r.code !== 0, 'a container remains after the failed create', t.res(r));
});

check('runtime.md#lifecycle', 'a failing poststart hook makes start fail and stops the container', (t) => {
  const b = t.shBundle('while true; do sleep 1; done', (c) => { c.hooks = { poststart: [{ path: '/bin/false' }] }; });
  const c = t.mustCreate(b);
  const s = t.start(c.id);
  t.ok(s.code !== 0, 'start succeeded with a failing poststart hook', t.res(s));
  // "stop the container, and continue the lifecycle at step 12" (destroy it)
  let status = null;
  for (let i = 0; i < 50; i++) {
    const { state } = t.state(c.id);
    status = state ? state.status : 'gone';
    if (status === 'stopped' || status === 'gone') break;
    sleepMs(100);
  }
  t.ok(status === 'stopped' || status === 'gone', 'the container was not stopped', { status });
});

check('runtime.md#lifecycle', 'a failing poststop hook is a warning: delete succeeds', (t) => {
  const b = t.bundle((c) => { c.hooks = { poststop: [{ path: '/bin/false' }] }; });
  const { id } = t.run(b, { keep: true });
  const d = t.delete(id);
  t.eq(d.code, 0, 'delete failed because of a failing poststop hook', t.res(d));
  const { r } = t.state(id);
  t.ok(r.code !== 0, 'the container still exists', t.res(r));
});

check('config.md#posix-platform-hooks', 'hooks of one kind run in the listed order', (t) => {
  const log = t.tmp('order.log');
  const h = (n) => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${n} >> ${log}`] });
  t.mustCreate(t.bundle((c) => { c.hooks = { prestart: [h('p1'), h('p2'), h('p3')], createRuntime: [h('r1'), h('r2')] }; }));
  t.eq(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean), ['p1', 'p2', 'p3', 'r1', 'r2'], 'hook order');
});

check('runtime.md#lifecycle', 'after a failing poststop hook the remaining poststop hooks still run', (t) => {
  const mark = t.tmp('poststop-2');
  const b = t.bundle((c) => {
    c.hooks = { poststop: [{ path: '/bin/false' }, { path: '/bin/sh', args: ['sh', '-c', `touch ${mark}`] }] };
  });
  const { id } = t.run(b, { keep: true });
  t.delete(id);
  t.ok(fs.existsSync(mark), 'the second poststop hook did not run');
});

check('config.md#posix-platform-hooks', 'a hook that outlives its timeout fails the operation', (t) => {
  const b = t.bundle((c) => { c.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] }; });
  const start = Date.now();
  const c = t.create(b, undefined, { timeout: 25_000 });
  const ms = Date.now() - start;
  t.ok(c.code !== 0, 'create succeeded though the prestart hook timed out', t.res(c));
  t.ok(ms < 15_000, 'create waited for the hook past its timeout', { ms });
});
