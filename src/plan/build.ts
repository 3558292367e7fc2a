// config → init plan. Pure: everything it knows about the machine comes from HostFacts.
import type { Process, Spec } from '../spec/types';
import { emptyPlan, type InitPlan } from './types';
import type { HostFacts } from './host';
import { invariant, planError, noNul, type PlanContext } from './util';
import { TsrunError } from '../errors';
import { namespaceMap, planNamespaces, planExecNamespaces, planIdMapsAndTime } from './namespaces';
import { planMounts, devIsBindMounted } from './mounts';
import { planDevices } from './devices';
import { planMemoryPolicy } from './memory-policy';
import { planNetDevices } from './netdevices';
import { applyProcess } from './process';
import {
  planSysctls,
  planRootfsPropagation,
  planPersonality,
  planSeccomp,
  planHooks,
  type SeccompCompiler,
} from './linux';

export interface CreatePlanOptions {
  noPivot?: boolean;
  /**
   * An empty directory of the runtime's (absolute, resolved): for a config without a mount namespace the rootfs
   * is bound there, in the runtime's own mount namespace, and all of the container's mounts go on or under it.
   * Required for such a config; ignored otherwise.
   */
  hostMountPoint?: string;
  noNewKeyring?: boolean;
  /** --preserve-fds N: fds 3.. (after any socket-activation fds) stay open. */
  preserveFds?: number;
  /** Socket activation: the runtime was given this many LISTEN_FDS; they go first, from fd 3 (runc). */
  listenFds?: number;
  consoleSocket?: string;
  fifoPath: string;
  wait?: boolean;
  id: string;
}

export interface CreatePlanInput {
  spec: Spec;
  bundle: string;
  /** Absolute host path of the rootfs. */
  rootfs: string;
  opts: CreatePlanOptions;
  host: HostFacts;
  /** cgroup.procs files the container joins (from the cgroup driver). */
  cgroupProcs: string[];
  compileSeccomp?: SeccompCompiler;
}

export interface ExecPlanOptions {
  noNewKeyring?: boolean;
  preserveFds?: number;
  listenFds?: number;
  consoleSocket?: string;
  wait?: boolean;
  id: string;
}

export interface ExecPlanInput {
  /** The container's config. */
  spec: Spec;
  /** Host pid of the container's init process. */
  pid: number;
  /** The process to run in the container. */
  process: Process;
  opts: ExecPlanOptions;
  host: HostFacts;
  /** cgroup.procs files the process joins (the container's cgroups, or a sub-cgroup). */
  cgroupProcs: string[];
  compileSeccomp?: SeccompCompiler;
}

export interface PlanResult {
  plan: InitPlan;
  warnings: string[];
}

function checkPreserveFds(flag: string, n: number | undefined): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 0) throw new TsrunError(`${flag}: must be a non-negative integer, got ${n}`);
  return n;
}

/** Socket activation and --preserve-fds: runc passes LISTEN_FDS fds first, then the preserved ones. */
function applyExtraFds(plan: InitPlan, opts: { preserveFds?: number; listenFds?: number }): void {
  const listen = checkPreserveFds('LISTEN_FDS', opts.listenFds);
  const preserve = checkPreserveFds('--preserve-fds', opts.preserveFds);
  if (listen > 0) plan.env.push(`LISTEN_FDS=${listen}`, 'LISTEN_PID=1');
  if (listen + preserve > 0) plan.preserveFds = listen + preserve;
}

function keyringName(opts: { noNewKeyring?: boolean; id: string }): string | undefined {
  return opts.noNewKeyring ? undefined : noNul('id', `_ses.${opts.id}`);
}

function containerPaths(where: string, paths: string[] | undefined): string[] {
  return (paths ?? []).map((p, i) => {
    noNul(`${where}[${i}]`, p);
    invariant(p.startsWith('/'), `${where}[${i}]`, `not an absolute path: "${p}"`);
    return p;
  });
}

/**
 * No mount namespace listed: the container shares the runtime's (config-linux.md#namespaces). The init binds the
 * rootfs onto the runtime's own directory opts.hostMountPoint, gives that bind the rootfsPropagation (rslave by
 * default, so the container's mounts reach no peer of the host), mounts everything on or under it and chroots
 * there; "/" and the rootfs's own mount keep their propagation. Delete unmounts the whole tree. --no-pivot changes
 * nothing: the root switch is a chroot already (runc would move the rootfs onto the host's "/").
 */
function planHostMounts(plan: InitPlan, spec: Spec, ns: Map<string, string>, opts: CreatePlanOptions): void {
  const mp = opts.hostMountPoint;
  invariant(mp !== undefined, 'hostMountPoint', 'a config without a mount namespace needs the runtime\'s mount point for the rootfs');
  const resolved = mp.startsWith('/') && mp !== '/' && !mp.includes('\0') && !mp.split('/').some((part) => part === '..' || part === '.');
  invariant(resolved, 'hostMountPoint', `not an absolute, resolved path below "/": "${mp}"`);
  plan.hostMounts = mp;
  plan.rootfsPropagation = planRootfsPropagation(spec, false);
}

export function buildCreatePlan(input: CreatePlanInput): PlanResult {
  const { spec, opts } = input;
  const ctx: PlanContext = { host: input.host, warnings: [] };
  invariant(input.rootfs.startsWith('/'), 'root.path', `the rootfs is not resolved to an absolute path: "${input.rootfs}"`);

  const plan = emptyPlan(1);
  const ns = namespaceMap(spec);
  if (!ns.has('mount') && ns.has('user')) {
    // a process in a new (or joined) user namespace may not mount in the runtime's mount namespace
    throw planError('linux.namespaces', 'a user namespace needs a mount namespace too (type "mount")');
  }
  Object.assign(plan, planNamespaces(ns), planIdMapsAndTime(spec, ns, ctx));
  plan.cgroupProcs = input.cgroupProcs;
  if (opts.wait) plan.wait = true;

  // Root filesystem.
  plan.rootfs = noNul('root.path', input.rootfs);
  if (ns.has('mount')) {
    plan.rootfsPropagation = planRootfsPropagation(spec, !!opts.noPivot);
    if (opts.noPivot) plan.noPivot = true;
  } else {
    planHostMounts(plan, spec, ns, opts);
  }
  const mounts = planMounts(
    { spec, bundle: input.bundle, namespaces: ns, cgroupProcs: input.cgroupProcs },
    ctx,
  );
  plan.mounts = mounts.mounts;
  const devs = planDevices(
    { spec, bind: ns.has('user') || input.host.inUserNs, devBindMounted: devIsBindMounted(mounts.mounts) },
    ctx,
  );
  plan.devices = devs.devices;
  plan.symlinks = [...mounts.symlinks, ...devs.symlinks];
  plan.maskedPaths = containerPaths('linux.maskedPaths', spec.linux?.maskedPaths);
  plan.readonlyPaths = containerPaths('linux.readonlyPaths', spec.linux?.readonlyPaths);
  if (spec.root?.readonly) plan.rootReadonly = true;

  // Host and domain names, sysctls.
  if (spec.hostname !== undefined && spec.hostname !== '') {
    invariant(ns.has('uts'), 'hostname', 'set without a UTS namespace');
    plan.hostname = noNul('hostname', spec.hostname);
  }
  if (spec.domainname !== undefined && spec.domainname !== '') {
    invariant(ns.has('uts'), 'domainname', 'set without a UTS namespace');
    plan.domainname = noNul('domainname', spec.domainname);
  }
  plan.sysctls = planSysctls(spec, ns);
  const netDevices = planNetDevices(spec, ns, ctx);
  if (netDevices) plan.netDevices = netDevices;

  // The process. Without one (create only) the init sets up the container and waits; start refuses it.
  if (spec.process) {
    applyProcess(plan, spec.process, ctx, { consoleSocket: opts.consoleSocket, wait: opts.wait, defaultUmask: 0o022 });
    applyExtraFds(plan, opts);
    applyContainerWide(plan, spec, opts, input.compileSeccomp, ctx);
  } else {
    invariant(!opts.wait && opts.fifoPath !== undefined, 'process', 'absent where the container must start (run)');
  }
  plan.hooks = planHooks(spec);
  plan.fifoPath = noNul('fifoPath', opts.fifoPath);
  return { plan, warnings: ctx.warnings };
}

/**
 * What every process of a container carries, its init and each exec alike: personality, session keyring, memory
 * policy, seccomp.
 */
function applyContainerWide(
  plan: InitPlan,
  spec: Spec,
  opts: { noNewKeyring?: boolean; id: string },
  compileSeccomp: CreatePlanInput['compileSeccomp'],
  ctx: PlanContext,
): void {
  const personality = planPersonality(spec);
  if (personality !== undefined) plan.personality = personality;
  const keyring = keyringName(opts);
  if (keyring) plan.newKeyring = keyring;
  const memPolicy = planMemoryPolicy(spec, ctx);
  if (memPolicy) plan.memPolicy = memPolicy;
  planSeccomp(plan, spec.linux?.seccomp, compileSeccomp, ctx);
}

/**
 * A process joining a running container (tsrun exec): every namespace of the container is joined through
 * /proc/<pid>/ns/<type> (user first), nothing is mounted, and the container-wide settings that apply to each
 * process (personality, seccomp, the session keyring) are repeated.
 */
export function buildExecPlan(input: ExecPlanInput): PlanResult {
  const { spec, opts } = input;
  const ctx: PlanContext = { host: input.host, warnings: [] };
  invariant(Number.isInteger(input.pid) && input.pid > 0, 'pid', `not a process id: ${input.pid}`);
  const plan = emptyPlan(2);
  const ns = namespaceMap(spec);
  Object.assign(plan, planExecNamespaces(ns, input.pid));
  // no mount namespace to join: the container's root is its init's chroot (runc 1.1.5 leaves the process in the
  // host's root)
  if (!ns.has('mount')) plan.chroot = `/proc/${input.pid}/root`;
  plan.cgroupProcs = input.cgroupProcs.map((p, i) => noNul(`cgroupProcs[${i}]`, p));
  if (opts.wait) plan.wait = true;
  applyProcess(plan, input.process, ctx, { consoleSocket: opts.consoleSocket, wait: opts.wait });
  applyExtraFds(plan, opts);
  applyContainerWide(plan, spec, opts, input.compileSeccomp, ctx);
  return { plan, warnings: ctx.warnings };
}
