// How the container's processes see the kernel: the sysctls set for it, the
// seccomp filter, the execution domain (personality). Citations as in index.ts.

import type { PathSegment } from '../problem';
import type { HostLookups } from './host';
import type { NsTable } from './namespaces';
import { Collector, arr, isAbs, isNum, isObj, isStr, quote, type Obj } from './shared';
import { IPC_SYSCTLS } from '../names';

// --- sysctl -----------------------------------------------------------------


/** runc: "net/ipv4/conf/eno2.100.rp_filter" → "net.ipv4.conf.eno2/100.rp_filter". */
function sysctlDots(key: string): string {
  const i = key.search(/[./]/);
  if (i === -1 || key[i] === '.') return key;
  return key.replace(/[./]/g, (ch) => (ch === '.' ? '/' : '.'));
}

/**
 * /proc/sys is only partly namespaced; as runc's validator sysctl allows:
 * the IPC ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*) need an IPC
 * namespace; net.* needs a network namespace that is not the runtime's own;
 * with a UTS namespace kernel.domainname is allowed and kernel.hostname is
 * refused in favour of the hostname field; everything else would change the host.
 */
export function checkSysctl(linux: Obj, ns: NsTable, host: HostLookups, c: Collector): void {
  if (!isObj(linux.sysctl)) return;
  let hostNet: boolean | Error | undefined;
  for (const raw of Object.keys(linux.sysctl)) {
    const key = sysctlDots(raw);
    const at: PathSegment[] = ['linux', 'sysctl', raw];
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
      if (!ns.has('ipc')) c.error(at, `sysctl ${quote(key)} is not allowed in the host's IPC namespace (add {"type": "ipc"} to linux.namespaces)`);
      continue;
    }
    if (key.startsWith('net.')) {
      if (hostNet === undefined) {
        const net = ns.get('network');
        hostNet = !net ? true : net.path === undefined ? false : host.isRuntimeNetNamespace(net.path);
      }
      if (hostNet instanceof Error) c.error(at, `cannot check the network namespace path: ${hostNet.message}`);
      else if (hostNet) c.error(at, `sysctl ${quote(key)} is not allowed in the host's network namespace (add {"type": "network"} to linux.namespaces)`);
      continue;
    }
    if (ns.has('uts')) {
      if (key === 'kernel.domainname') continue;
      if (key === 'kernel.hostname') {
        c.error(at, 'sysctl "kernel.hostname" is not allowed: set the hostname field instead');
        continue;
      }
    }
    c.error(at, `sysctl ${quote(key)} is not in a separate kernel namespace, so it cannot be set for a container`);
  }
}

// --- seccomp ----------------------------------------------------------------

const ERRNO_ACTIONS = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

/**
 * config-linux.md#seccomp: errnoRet/defaultErrnoRet — "When the action doesn't
 * support an errno, the runtime MUST print and error and fail" (only ERRNO
 * and TRACE take one); names "MUST contain at least one entry" (schema) and
 * runc refuses an empty name; listenerMetadata "MUST NOT be set if
 * listenerPath is not set". runc: SCMP_ACT_NOTIFY needs listenerPath ("seccomp
 * listenerPath is not set"), cannot be the default action nor apply to write(2)
 * (the runtime talks to the init over write). tsrun wants the listener path
 * absolute, as it is dialled from the runtime, whose directory is arbitrary.
 * A syscall has six arguments: index 0 to 5.
 */
export function checkSeccomp(linux: Obj, c: Collector): void {
  const s = linux.seccomp;
  if (!isObj(s)) return;
  const at: PathSegment[] = ['linux', 'seccomp'];
  if (s.defaultErrnoRet !== undefined && isStr(s.defaultAction) && !ERRNO_ACTIONS.has(s.defaultAction)) {
    c.error([...at, 'defaultErrnoRet'], `can only be set with SCMP_ACT_ERRNO or SCMP_ACT_TRACE (defaultAction is ${s.defaultAction})`);
  }
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') c.error([...at, 'defaultAction'], 'SCMP_ACT_NOTIFY cannot be the default action');
  let notify = false;
  arr(s.syscalls).forEach((r, i) => {
    if (!isObj(r)) return;
    const rat: PathSegment[] = [...at, 'syscalls', i];
    const names = arr(r.names);
    names.forEach((n, j) => {
      if (n === '') c.error([...rat, 'names', j], 'must not be empty');
    });
    if (r.errnoRet !== undefined && isStr(r.action) && !ERRNO_ACTIONS.has(r.action)) {
      c.error([...rat, 'errnoRet'], `can only be set with SCMP_ACT_ERRNO or SCMP_ACT_TRACE (action is ${r.action})`);
    }
    if (r.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      const w = names.indexOf('write');
      if (w !== -1) c.error([...rat, 'names', w], 'SCMP_ACT_NOTIFY cannot be used for the write syscall');
    }
    arr(r.args).forEach((a, k) => {
      if (isObj(a) && isNum(a.index) && a.index > 5) c.error([...rat, 'args', k, 'index'], `must be between 0 and 5 (got ${a.index})`);
    });
  });
  const listener = s.listenerPath;
  if (notify && (listener === undefined || listener === '')) {
    c.error([...at, 'listenerPath'], 'is required when a rule uses SCMP_ACT_NOTIFY');
  } else if (isStr(listener) && listener !== '' && !isAbs(listener)) {
    c.error([...at, 'listenerPath'], `must be an absolute path (got ${quote(listener)})`);
  }
  if (isStr(s.listenerMetadata) && s.listenerMetadata !== '' && (listener === undefined || listener === '')) {
    c.error([...at, 'listenerMetadata'], 'can only be set with listenerPath');
  }
}

// --- personality ------------------------------------------------------------

/** config-linux.md#personality: domain is REQUIRED; flags — "Currently no flag values are supported". */
export function checkPersonality(linux: Obj, c: Collector): void {
  const p = linux.personality;
  if (!isObj(p)) return;
  if (p.domain === undefined) c.error(['linux', 'personality', 'domain'], 'is required');
  if (arr(p.flags).length > 0) c.error(['linux', 'personality', 'flags'], 'must be empty: no personality flags are supported');
}
