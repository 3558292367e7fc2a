// Recipes: after a create that succeeded, the recipe for the next create of the same config, when it may have
// one (eligible.ts) and everything it made is shown to follow the id (a second plan for a probe id). Loaded by
// create only for a config it created before (seen.ts); a failure here never fails the create.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { buildCreatePlan, type CreatePlanInput } from '../plan/build';
import { encodePlanBody } from '../plan/encode';
import type { InitPlan } from '../plan/types';
import { openCgroupManager } from '../cgroups/manager';
import { answersText } from '../state/answers';
import { writeAtomic, type ContainerRecord } from '../state/store';
import type { Spec } from '../spec/types';
import { templateCgroupLog, type CgroupOp } from './cgroup-log';
import { recipeBlockers, type RecipeFacts } from './eligible';
import { encodeRecipe } from './file';
import { fixedFactGuards, type Guard } from './guards';
import { planParametric } from './plan';
import { recordTemplates } from './records';
import { cut, fill, type Template } from './template';
import { recipePath, trim } from './seen';

export interface CreateSeen {
  mode: 'create' | 'run';
  root: string;
  id: string;
  spec: Spec;
  configBytes: Buffer;
  record: ContainerRecord;
  plan: InitPlan;
  /** What create planned from, with the host facts not recorded (the probe plan asks them again). */
  planInput: CreatePlanInput;
  cgroupLog: CgroupOp[];
  asked: Guard[];
  blocked: string[];
  facts: Omit<RecipeFacts, 'configText' | 'id' | 'run'>;
  rootPath: { given: string; resolved: string };
  binaries: string[];
  fifo: string;
  configCopy: Buffer;
}

function identity(p: string): string {
  const st = statSync(p, { bigint: true });
  return `${st.dev} ${st.ino} ${st.size} ${st.mtimeNs}`;
}

/** The head of the answers file after its record line, as a template; undefined when not parametric. */
function answersHead(rec: ContainerRecord, probe: ContainerRecord, fifo: string, probeFifo: string): Template | undefined {
  const head = (r: ContainerRecord, f: string) => {
    const text = answersText(r, Buffer.from(JSON.stringify(r)), f)?.toString('utf8');
    if (text === undefined) return undefined;
    const lines = text.slice(0, text.indexOf('\ndoc ') + 1).split('\n');
    // lines: format, record, pid, start, then the rest; the replay writes the first two and fills pid and start
    return lines;
  };
  const a = head(rec, fifo);
  const b = head(probe, probeFifo);
  if (!a || !b || a[2] !== `pid ${rec.pid}` || a[3] !== `start ${rec.pidStartTime}`) return undefined;
  const rest = a.slice(4).join('\n');
  const t: Template = ['pid ', { hole: 'pid' }, '\nstart ', { hole: 'pidStart' }, '\n', ...cut(rest, new Map([[rec.id, 'id' as const]]))];
  const again = fill(t, { id: probe.id, pid: String(probe.pid), pidStart: probe.pidStartTime ?? '' });
  return again === b.slice(2).join('\n') ? t : undefined;
}

/** The recipe for `seen`, or the reason there is none. */
export async function makeRecipe(seen: CreateSeen): Promise<{ bytes: Buffer; file: string } | { reason: string }> {
  const why = [
    ...recipeBlockers(seen.spec, seen.plan, { ...seen.facts, configText: seen.configBytes.toString('latin1'), id: seen.id, run: seen.mode === 'run' }),
    ...seen.blocked,
  ];
  if (why.length > 0) return { reason: why.join(', ') };
  const probeId = `tsrun-recipe-probe-${process.pid}`;
  if (probeId.length === seen.id.length) return { reason: 'the id is as long as the probe' };
  const probeCg = await openCgroupManager({ id: probeId, cgroupsPath: seen.spec.linux?.cgroupsPath });
  const probeFifo = path.join(seen.root, probeId, 'exec.fifo');
  const probePlan = buildCreatePlan({
    ...seen.planInput,
    opts: { ...seen.planInput.opts, id: probeId, fifoPath: probeFifo },
    cgroupProcs: probeCg.procsFiles(),
  }).plan;
  if (!planParametric(seen.plan, probePlan, seen.id, probeId)) return { reason: 'the plan does not follow the id' };
  const records = recordTemplates(seen.record, { id: probeId, cgroupPaths: probeCg.paths });
  if (!records) return { reason: 'the state does not follow the id' };
  const probeRecord = { ...seen.record, id: probeId, cgroupPaths: probeCg.paths };
  const head = answersHead(seen.record, probeRecord, seen.fifo, probeFifo);
  if (!head) return { reason: 'the answers do not follow the id' };
  const cg = templateCgroupLog(seen.cgroupLog, seen.id, [...new Set(Object.values(seen.record.cgroupPaths))]);
  if ('reason' in cg) return cg;
  if (seen.configCopy.includes(seen.id)) return { reason: 'the id is in the saved config' };
  const guards: Guard[] = [
    // another boot: another cgroup layout, other devices; the binaries' inode numbers could be reused
    { kind: 'file', path: '/proc/sys/kernel/random/boot_id', text: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8') },
    ...fixedFactGuards(),
    { kind: 'realpath', path: seen.rootPath.given, resolved: seen.rootPath.resolved },
    ...seen.asked,
  ];
  const bytes = encodeRecipe({
    mode: seen.mode,
    root: seen.root,
    bundle: seen.planInput.bundle,
    config: seen.configBytes,
    id: seen.id,
    binaries: seen.binaries.map((p) => ({ path: p, identity: identity(p) })),
    guards,
    cgroup: cg.ops,
    plan: encodePlanBody(seen.plan),
    configCopy: seen.configCopy,
    templates: {
      creating: records.creating,
      withPid: records.withPid,
      created: records.created,
      hookState: records.hookState,
      answersHead: head,
      ...Object.fromEntries(records.docs.map((d, i) => [`doc${i}`, d])),
    },
  });
  return { bytes, file: recipePath({ root: seen.root, bundle: seen.planInput.bundle }, seen.configBytes, seen.mode) };
}

/** Writes the recipe for `seen`, if it may have one; returns why not otherwise. Never throws. */
export async function leaveRecipe(seen: CreateSeen): Promise<string | undefined> {
  try {
    const r = await makeRecipe(seen);
    if ('reason' in r) return r.reason;
    mkdirSync(path.dirname(r.file), { recursive: true, mode: 0o700 });
    writeAtomic(r.file, r.bytes);
    trim(path.dirname(r.file), `-${seen.mode}`);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
