// Invalid input: create must generate an error and leave no container
// (runtime.md#errors: "as if the operation were never attempted").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { check } from '../lib.mjs';

/** create must fail, and no container may remain under that id. */
function refused(t, b, what) {
  const c = t.create(b);
  t.ok(c.code !== 0, `create succeeded with ${what}`, t.res(c));
  const { r } = t.state(c.id);
  t.ok(r.code !== 0, `a container remains after the failed create (${what})`, t.res(r));
  return c;
}

check('runtime.md#create', 'create with a bundle that has no config.json fails, no container', (t) => {
  const b = t.bundle();
  fs.rmSync(path.join(b.dir, 'config.json'));
  refused(t, b, 'no config.json');
});

check('runtime.md#create', 'create with an id that is not valid (contains "/") fails', (t) => {
  const b = t.bundle();
  const id = `conf/${process.pid}/slash`;
  const r = t.rt(['create', '--bundle', b.dir, id]);
  t.ok(r.code !== 0, 'create with an id containing "/" succeeded', t.res(r));
  t.ids.push(id);
});

check('runtime.md#errors', 'a config.json that is not JSON is an error, no container', (t) => {
  const b = t.bundle();
  fs.writeFileSync(path.join(b.dir, 'config.json'), '{"ociVersion": "1.0.2", "process": ');
  refused(t, b, 'a truncated config.json');
});

check('config.md#specification-version', 'an ociVersion that is not SemVer is an error', (t) => {
  refused(t, t.bundle((c) => { c.ociVersion = 'not-a-version'; }), 'ociVersion "not-a-version"');
});

check('config.md#root', 'a root.path that does not exist is an error, no container', (t) => {
  refused(t, t.bundle((c) => { c.root.path = 'no-such-rootfs'; }), 'a missing root.path');
});

check('config.md#process', 'a relative process.cwd is an error', (t) => {
  refused(t, t.bundle((c) => { c.process.cwd = 'tmp'; }), 'cwd "tmp"');
});

check('config.md#process', 'empty process.args is an error (at least one entry is REQUIRED)', (t) => {
  const b = t.bundle((c) => { c.process.args = []; });
  const c = t.create(b);
  if (c.code === 0) {
    const s = t.start(c.id);
    t.ok(s.code !== 0, 'create and start with empty args both succeeded', t.res(s));
  }
});

check('config.md#process', 'an args[0] that is not found is an error at create or start', (t) => {
  const b = t.bundle((c) => { c.process.args = ['/no/such/program']; });
  const c = t.create(b);
  if (c.code === 0) {
    const s = t.start(c.id);
    t.ok(s.code !== 0, 'create and start of a missing program both succeeded', t.res(s));
  }
});

check('config.md#posix-process', 'duplicate rlimits types are an error', (t) => {
  refused(t, t.bundle((c) => {
    c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }, { type: 'RLIMIT_NOFILE', soft: 256, hard: 256 }];
  }), 'RLIMIT_NOFILE twice');
});

check('config.md#posix-process', 'an rlimit type that maps to no kernel resource is an error', (t) => {
  refused(t, t.bundle((c) => { c.process.rlimits = [{ type: 'RLIMIT_NOSUCH', soft: 1, hard: 1 }]; }), 'RLIMIT_NOSUCH');
});

check('config-linux.md#namespaces', 'duplicate namespace types are an error', (t) => {
  refused(t, t.bundle((c) => { c.linux.namespaces.push({ type: 'uts' }); }), 'uts twice');
});

check('config.md#valid-values', 'an unknown namespace type is an error', (t) => {
  refused(t, t.bundle((c) => { c.linux.namespaces.push({ type: 'nosuchns' }); }), 'namespace type "nosuchns"');
});

check('config-linux.md#namespaces', 'a namespace path of another type is an error', (t) => {
  // a network namespace file given as the uts namespace
  refused(t, t.bundle((c) => {
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'uts' ? { type: 'uts', path: '/proc/self/ns/net' } : n));
  }), 'a uts namespace whose path is a network namespace');
});

check('config.md#posix-platform-hooks', 'a hook with a relative path is an error', (t) => {
  refused(t, t.bundle((c) => { c.hooks = { prestart: [{ path: 'bin/true' }] }; }), 'hook path "bin/true"');
});

check('config.md#posix-platform-hooks', 'a hook timeout of 0 is an error (it MUST be greater than zero)', (t) => {
  refused(t, t.bundle((c) => { c.hooks = { prestart: [{ path: '/bin/true', timeout: 0 }] }; }), 'hook timeout 0');
});

check('config.md#annotations', 'an empty annotation key is an error', (t) => {
  refused(t, t.bundle((c) => { c.annotations = { '': 'empty key' }; }), 'annotation key ""');
});

check('config-linux.md#seccomp', 'errnoRet on an action without errno (SCMP_ACT_ALLOW) is an error', (t) => {
  refused(t, t.bundle((c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['getcwd'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }],
    };
  }), 'errnoRet on SCMP_ACT_ALLOW');
});

check('config.md#extensibility', 'unknown properties are ignored (create succeeds)', (t) => {
  const { out } = t.sh('echo ran', (c) => {
    c.conformanceUnknown = { anything: [1, 2] };
    c.process.conformanceUnknown = true;
    c.linux.conformanceUnknown = 'x';
  });
  t.eq(out.trim(), 'ran', 'output');
});

check('config.md#process', 'consoleSize is ignored when terminal is false', (t) => {
  const { out } = t.sh('echo ran', (c) => { c.process.consoleSize = { height: 25, width: 80 }; });
  t.eq(out.trim(), 'ran', 'output');
});
