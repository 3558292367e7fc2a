// `create`: validate the bundle, make the state directory and the cgroup,
// start tsrun-init with the plan, run the runtime's hooks at the sync points
// and leave the init waiting on the exec fifo. Any failure undoes all of it.
import { loadBundle } from '../spec/load';
import { buildCreatePlan, type CreatePlanInput } from '../plan/build';
import { readHostFacts } from '../plan/host';
import type { CgroupOp } from '../recipe/cgroup-log';
import { initBinary } from './init-binary';
import { encodePlanBody } from '../plan/encode';
import { Msg } from '../plan/tags';
import { openCgroupManager, checkBeforeCreate, type CgroupManager } from '../cgroups/manager';
import { preload } from '../cgroups/lazy';
import { withDefaultDeviceRules } from '../cgroups/device-rules';
import { seccompCompiler } from './seccomp';
import { mkdirSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { ContainerDir, checkId, writeAtomic, type ContainerRecord } from '../state/store';
import { isSameLiveProcess, readProcStat } from '../state/proc';
import { runHooks } from '../hooks/run';
import { InitChannel, takeInit } from './init-channel';
import { destroyContainer } from './destroy';
import { hookState } from './hook-state';
import { TsrunError } from '../errors';
import { log } from '../log/logger';
import { newContainerRecord } from '../state/new-record';
import type { Spec } from '../spec/types';
import { withLock } from '../state/lock';
import { faultPoint } from './fault';
import { mark } from '../log/timing';
import { exitNote, followInit } from './init-messages';
import { listenFdCount } from './listen-fds';
import { planIntelRdt } from '../plan/intel-rdt';
import { applyIntelRdt, intelRdtRecord, joinIntelRdt, resctrlView } from './intel-rdt';
import { earlyBlockers, type RecipeFacts } from '../recipe/eligible';
import { markSeen, recipePath, seenBefore } from '../recipe/seen';
import { existsSync } from 'node:fs';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Foreground run: stage 0 stays and reports the exit status. */
  wait?: boolean;
  /** run needs a process; create takes a config without one, which start then refuses (runtime.md). */
  requireProcess?: boolean;
  /** --systemd-cgroup: systemd owns the container's cgroup, a transient scope unit. */
  systemdCgroup?: boolean;
  /** --rootless: cgroups the caller cannot make are done without (cgroups/rootless.ts). */
  rootless?: boolean;
}

export interface Created {
  dir: ContainerDir;
  record: ContainerRecord;
  spec: Spec;
  channel: InitChannel;
}

export async function createContainer(o: CreateOptions): Promise<Created> {
  const id = checkId(o.id); // before an init is spawned for nothing; ContainerDir and the lock check it too
  // Started first: tsrun-init loads while we validate and plan, then waits
  // for the plan. On any failure it is killed.
  const listenFds = listenFdCount();
  const channel = takeInit(listenFds + (o.preserveFds ?? 0));
  mark('create: init spawned');
  try {
    const { spec, bundle, rootfs, warnings, configBytes } = loadBundle(o.bundle, { requireProcess: o.requireProcess ?? false });
    for (const w of warnings) log.warn(w);
    mark('create: bundle loaded and validated');
    const seen = { configBytes, warnings: warnings.length };
    return await withLock(o.root, id, () => createLocked({ ...o, listenFds }, id, spec, bundle, rootfs, channel, seen));
  } catch (e) {
    channel.child.kill('SIGKILL');
    throw e;
  }
}

/** What a recipe needs of the create that leaves it (recipe/leave.ts). */
interface Seen {
  configBytes: Buffer;
  warnings: number;
}

async function createLocked(
  o: CreateOptions & { listenFds: number },
  id: string,
  spec: Spec,
  bundle: string,
  rootfs: string,
  channel: InitChannel,
  seen: Seen,
): Promise<Created> {
  mark('create: locked');
  const dir = new ContainerDir(o.root, id);
  dir.createExclusive();
  faultPoint('create:dir-made');

  const record = newContainerRecord(id, spec, bundle, rootfs);
  if (!spec.process) record.noProcess = true;
  let cgroup: CgroupManager | undefined;
  let movesDevices = false;
  const recipes = recipeWay(o, id, spec, seen, bundle);
  // the recipe for the next create of this config: what the driver and the planner did
  const recording = recipes.facts && recipes.record ? await recorders() : undefined;
  try {
    cgroup = await openCgroupManager({ id, cgroupsPath: spec.linux?.cgroupsPath, systemd: o.systemdCgroup, rootless: o.rootless, fs: recording?.fs });
    // systemd: the unit is started with the container process's pid, once stage 0 has reported it (PID_ACK)
    const byUnit = cgroup.systemdUnit !== undefined;
    if (cgroup.systemdUnit) record.systemd = cgroup.systemdUnit; // saved before the unit exists: delete --force finds it
    // the controller code of create() and apply() below, by import() (see lazy.ts)
    const loading = preload(...(cgroup.version === 'v1' ? (['v1Cpuset', 'v1Resources'] as const) : (['v2Create', 'v2Resources'] as const)));
    record.cgroupPaths = cgroup.paths;
    dir.write(record); // delete --force can now find the cgroup
    dir.writeConfig(spec);
    faultPoint('create:state-written');
    mark('create: state written');
    for (const w of checkBeforeCreate(cgroup)) log.warn(w);
    // the plan first, then the cgroup: a plan that fails leaves no cgroup to undo
    const plainHost = readHostFacts(rootfs);
    const hostSeen = recording?.hostFacts(plainHost);
    const host = hostSeen?.host ?? plainHost;
    const planInput: CreatePlanInput = {
      spec,
      bundle,
      rootfs,
      opts: {
        id,
        // only a config without a mount namespace needs it (the planner then uses it)
        hostMountPoint: (spec.linux?.namespaces ?? []).some((n) => n.type === 'mount')
          ? undefined
          : path.join(realpathSync(dir.dir), path.basename(dir.mountPoint)),
        noPivot: o.noPivot,
        noNewKeyring: o.noNewKeyring,
        preserveFds: o.preserveFds,
        listenFds: o.listenFds,
        consoleSocket: o.consoleSocket,
        fifoPath: dir.fifo,
        wait: o.wait,
      },
      host,
      cgroupProcs: byUnit ? [] : cgroup.procsFiles(),
      compileSeccomp: seccompCompiler(o.root),
    };
    const { plan, warnings } = buildCreatePlan(planInput);
    for (const w of warnings) log.warn(w);
    movesDevices = plan.netDevices !== undefined;
    const resctrl = spec.linux?.intelRdt !== undefined ? resctrlView() : undefined;
    const rdt = planIntelRdt(spec, id, resctrl);
    if (o.rootless && process.geteuid?.() !== 0) {
      // loaded only here: it reads /etc/subuid and the user's name (node:os)
      const { rootlessIdMapWay, readRootlessIdHost } = await import('./rootless-idmap');
      const host = readRootlessIdHost();
      Object.assign(plan, rootlessIdMapWay(spec, host));
      record.owner = host.user ?? String(host.uid); // `list` shows it, as runc shows the state dir's owner
    }
    if (byUnit) plan.pidAck = true;
    mark('create: plan built');
    await loading;
    // runc's default device rules follow the config's own (they always apply)
    const given = spec.linux?.resources ?? {};
    const resources = { ...given, devices: withDefaultDeviceRules(given.devices, spec.linux?.devices) };
    const cg = cgroup;
    const makeCgroup = async (pid: number) => {
      await cg.create({ pid, resources });
      faultPoint('create:cgroup-made');
      cg.apply(resources);
      mark('create: cgroup made and limits applied');
    };
    if (!byUnit) await makeCgroup(channel.child.pid!);
    if (rdt && resctrl) {
      record.intelRdt = intelRdtRecord(rdt); // before anything is made: delete --force finds it
      dir.write(record);
      applyIntelRdt(rdt, resctrl.root);
    }
    if (plan.hostMounts) {
      // no mount namespace: recorded before the init mounts anything, so that delete --force finds the mounts
      record.hostMounts = plan.hostMounts;
      dir.write(record);
      mkdirSync(plan.hostMounts, { mode: 0o700 });
    }

    channel.send(Msg.PLAN, encodePlanBody(plan));
    await followCreate(channel, dir, record, spec, async (pid) => {
      if (byUnit) {
        // the unit holds the container process, not stage 0 (which a foreground run keeps waiting)
        await makeCgroup(pid);
        cg.addProcess(pid); // the hierarchies systemd does not manage (v1 cpuset, freezer...)
        channel.send(Msg.PID_ACK, '');
      }
      if (rdt && resctrl) joinIntelRdt(rdt, pid, resctrl.root); // before the process can start (it waits for `start`)
    });
    mark('create: init ready');
    faultPoint('create:ready');

    record.status = 'created';
    delete record.creator;
    dir.write(record);
    if (o.pidFile) writeAtomic(o.pidFile, String(record.pid));
    if (recipes.facts && !recipes.record) markSeen({ root: o.root, bundle }, seen.configBytes);
    if (recording && recipes.facts) {
      const { leaveRecipe } = await import('../recipe/leave');
      const why = await leaveRecipe({
        mode: o.wait ? 'run' : 'create',
        root: o.root,
        id,
        spec,
        configBytes: seen.configBytes,
        record,
        plan,
        planInput: { ...planInput, host: plainHost },
        cgroupLog: recording.log,
        asked: hostSeen?.asked ?? [],
        blocked: hostSeen?.blocked ?? [],
        facts: { ...recipes.facts, warnings: seen.warnings + warnings.length },
        rootPath: { given: path.resolve(bundle, spec.root!.path), resolved: rootfs },
        binaries: [initBinary(), process.execPath],
        fifo: dir.fifo,
        configCopy: Buffer.from(JSON.stringify(spec)),
      });
      if (why) log.debug(`no recipe for this config: ${why}`);
    }
    return { dir, record, spec, channel };
  } catch (e) {
    if (movesDevices && record.pid > 0) await devicesBack(channel, record);
    channel.child.kill('SIGKILL');
    try {
      const problems = await destroyContainer(dir, record, { runPoststop: false, cgroup });
      for (const p of problems) log.warn(`cleanup after failed create: ${p}`);
    } catch (cleanup) {
      log.warn(`cleanup after failed create: ${(cleanup as Error).message}`);
    }
    throw e;
  }
}

/**
 * Recipes (src/recipe/), on unless TSRUN_RECIPES=0: `facts` when this create may leave one, and `record` when it
 * should. A config is marked on Bun's first create and recorded on the next; with a recipe there already, only
 * when the replay gave way (the host changed), not when the launcher could not take the command line.
 */
function recipeWay(o: CreateOptions & { listenFds: number }, id: string, spec: Spec, seen: Seen, bundle: string): { facts?: RecipeFacts; record: boolean } {
  const gaveWay = process.env.TSRUN_REPLAY_GAVE_WAY === '1';
  delete process.env.TSRUN_REPLAY_GAVE_WAY;
  if (process.env.TSRUN_RECIPES === '0') return { record: false };
  const facts: RecipeFacts = {
    euid: process.geteuid?.() ?? 0,
    systemdCgroup: !!o.systemdCgroup,
    rootless: !!o.rootless,
    consoleSocket: o.consoleSocket !== undefined,
    preserveFds: o.preserveFds ?? 0,
    listenFds: o.listenFds,
    noPivot: !!o.noPivot,
    noNewKeyring: !!o.noNewKeyring,
    warnings: seen.warnings,
    configText: seen.configBytes.toString('latin1'),
    id,
    run: !!o.wait,
  };
  if (earlyBlockers(spec, facts).length > 0) return { record: false };
  const at = { root: o.root, bundle };
  if (!seenBefore(at, seen.configBytes)) return { facts, record: false };
  return { facts, record: gaveWay || !existsSync(recipePath(at, seen.configBytes, o.wait ? 'run' : 'create')) };
}

/** The recorders of recipe/ (loaded only for a create that leaves a recipe): the cgroup driver's calls, the planner's host reads. */
async function recorders() {
  const [{ recordingFs }, { recordingHostFacts }, { realFs }] = await Promise.all([
    import('../recipe/cgroup-log'),
    import('../recipe/guards'),
    import('../cgroups/fs'),
  ]);
  const log: CgroupOp[] = [];
  return { log, fs: recordingFs(realFs, log), hostFacts: recordingHostFacts };
}

/**
 * A create that fails before the container is ready leaves no network device moved (runtime.md#errors): stage 0
 * moves them back once the container process is gone (native/netdev.c netdev_rollback), so end that one first and
 * give stage 0 a moment, logging what it could not do.
 */
async function devicesBack(channel: InitChannel, record: ContainerRecord): Promise<void> {
  if (isSameLiveProcess(record.pid, record.pidStartTime)) {
    try {
      process.kill(record.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + 3000;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), left)));
    const m = await Promise.race([channel.next(), late]);
    clearTimeout(timer);
    if (m === undefined || m === null) return;
    if (m.tag === Msg.WARN || m.tag === Msg.ERROR) log.warn(`cleanup after failed create: ${m.payload.toString('utf8')}`);
  }
}

/** Reads the init's messages until it is ready, answering the hook point. */
async function followCreate(
  channel: InitChannel,
  dir: ContainerDir,
  record: ContainerRecord,
  spec: Spec,
  onPid: (pid: number) => Promise<void>,
): Promise<void> {
  await followInit(channel, {
    on: {
      pid: async ({ pid }) => {
        record.pid = pid;
        record.pidStartTime = readProcStat(record.pid)?.startTime;
        dir.write(record);
        faultPoint('create:pid-recorded');
        await onPid(pid);
      },
      hooks: () => {
        // the environment is created by now (lifecycle step 2): the hooks
        // of create see "created", as the runtime-tools suite expects
        const state = hookState(record, 'created');
        runHooks('prestart', spec.hooks?.prestart, state);
        runHooks('createRuntime', spec.hooks?.createRuntime, state);
        faultPoint('create:hooks-ran');
        channel.send(Msg.HOOKS_DONE, JSON.stringify(state));
      },
      ready: () => true,
    },
    closed: () => new TsrunError(`container init exited before it was ready${exitNote(channel)}`),
  });
}
