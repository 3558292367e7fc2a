// Rootless bad input (issue 16 item 4), as a real user, tsrun beside runc 1.1.5: a map the user is not allowed,
// host root mapped, newuidmap missing, no user namespace, an unwritable --root and no XDG_RUNTIME_DIR. Each
// fails with exit 1 and a message that names the problem, and leaves no process, state or lock behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestUser, rootlessAvailable } from './user';
import { RUNTIMES, bundle, deleteAll, leftovers, rootlessConfig, uniqueId, type Runtime } from './runtimes';
import type { Config } from '../helpers/harness';

const ok = rootlessAvailable();
let u: TestUser;

beforeAll(() => {
  if (ok) u = new TestUser('bad');
});

afterAll(() => {
  if (!u) return;
  for (const r of RUNTIMES) deleteAll(u, r);
  expect(u.cleanup()).toEqual([]);
});

/** Both runtimes' words for one problem: tsrun's names the field or path, runc's is what runc 1.1.5 prints. */
interface Case {
  name: string;
  edit?: (c: Config, u: TestUser) => void;
  flags?: (u: TestUser) => string[];
  env?: Record<string, string | undefined>;
  /** The runtime runs with PATH=/nonexistent (set by env(1): setpriv itself needs PATH). */
  pathless?: boolean;
  tsrun: (u: TestUser) => RegExp;
  runc: RegExp;
}

const CASES: Case[] = [
  {
    name: 'a uid range outside /etc/subuid',
    edit: (c, u) => {
      c.linux.uidMappings.push({ containerID: 1, hostID: u.subuid.start + u.subuid.count, size: 10 });
    },
    tsrun: (u) =>
      new RegExp(
        `\\$\\.linux\\.uidMappings\\[1\\]: host uids ${u.subuid.start + u.subuid.count}-${u.subuid.start + u.subuid.count + 9} ` +
          `are not allowed to this user: only its own uid ${u.uid} and its ranges in /etc/subuid \\(${u.subuid.start}-${u.subuid.start + u.subuid.count - 1}\\)`,
      ),
    runc: /newuidmap: uid range .* not allowed/,
  },
  {
    name: 'a gid range outside /etc/subgid',
    edit: (c, u) => {
      c.linux.gidMappings.push({ containerID: 1, hostID: 1, size: 10 });
    },
    tsrun: () => /\$\.linux\.gidMappings\[1\]: host gids 1-10 are not allowed to this user/,
    runc: /newgidmap: gid range .* not allowed/,
  },
  {
    name: 'host root mapped',
    edit: (c) => {
      c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    },
    tsrun: () => /\$\.linux\.uidMappings\[0\]: host uids 0-0 are not allowed to this user/,
    // runc maps nothing it checks first: chown of its exec fifo to the container's root fails
    runc: /operation not permitted/,
  },
  {
    name: 'a range with no newuidmap in PATH',
    edit: (c, u) => {
      c.linux.uidMappings.push({ containerID: 1, hostID: u.subuid.start, size: 10 });
    },
    pathless: true,
    tsrun: () => /\$\.linux\.uidMappings: a rootless map of more than the user's own id needs newuidmap \(Debian package uidmap\), which is not in PATH/,
    runc: /mapping tool not present/,
  },
  {
    name: 'no user namespace',
    edit: (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'user');
      delete c.linux.uidMappings;
      delete c.linux.gidMappings;
    },
    tsrun: () => /\$\.linux\.namespaces: a rootless container needs a user namespace/,
    runc: /rootless container requires user namespaces/,
  },
  {
    name: 'additional groups with the own gid alone mapped (setgroups denied)',
    edit: (c) => {
      c.process.user = { uid: 0, gid: 0, additionalGids: [5] };
    },
    tsrun: () => /\$\.process\.user\.additionalGids: a rootless container whose gid map is the user's own gid alone cannot set groups/,
    runc: /cannot set any additional groups in a rootless container/,
  },
  {
    name: 'a --root the user cannot write',
    flags: (u) => ['--root', path.join(u.base, 'not-the-users', 'state')],
    tsrun: (u) => new RegExp(`--root ${path.join(u.base, 'not-the-users', 'state')}: not writable by uid ${u.uid} \\(.*permission denied\\)`),
    runc: /mkdir .*not-the-users.*: permission denied/,
  },
  {
    name: 'no XDG_RUNTIME_DIR (the root-only default state root)',
    env: { XDG_RUNTIME_DIR: undefined },
    tsrun: (u) => new RegExp(`--root /run/tsrun: not writable by uid ${u.uid}`),
    runc: /\/run\/runc\b.*: permission denied/,
  },
];

describe.skipIf(!ok).each(RUNTIMES)('rootless bad input, $name', (r: Runtime) => {
  afterEach(() => {
    deleteAll(u, r);
    expect(leftovers(u, r)).toEqual([]);
  });

  it.each(CASES)('$name: exit 1, the problem named, nothing left', (c: Case) => {
    if (c.flags) fs.mkdirSync(path.join(u.base, 'not-the-users'), { recursive: true, mode: 0o755 }); // root's
    const b = bundle(u, rootlessConfig(u, ['true']), (cfg) => c.edit?.(cfg, u));
    const id = uniqueId('bad');
    const argv = [r.bin, ...(c.flags?.(u) ?? []), 'run', '-b', b, id];
    const res = u.run(c.pathless ? ['/usr/bin/env', 'PATH=/nonexistent', ...argv] : argv, { env: c.env });
    expect(res.code, res.stdout + res.stderr).toBe(1);
    expect(res.stderr).toMatch(r.name === 'tsrun' ? c.tsrun(u) : c.runc);
    if (r.name === 'tsrun') expect(res.stderr).not.toMatch(/internal error/);
    expect(leftovers(u, r)).toEqual([]);
    expect(fs.existsSync(path.join(u.base, 'not-the-users', 'state'))).toBe(false);
  });
});
