// Recipes: the state.json a replayed create writes at each step, and the state documents of its answers file,
// as templates (template.ts) made from the record Bun's create wrote. Key order follows that record, so that a
// replayed container's files read as Bun's would.
import { hookState } from '../runtime/hook-state';
import { ANSWER_STATUSES } from '../state/answers';
import { stateDocument } from '../state/status';
import type { ContainerRecord } from '../state/store';
import { SENTINEL, idTemplate, sentinelFree, type Template } from './template';

export interface RecordTemplates {
  /** state.json as the create starts: "creating", no pid, the creator (the replaying process). */
  creating: Template;
  /** Once the init reported the container process: its pid and start time, still "creating". */
  withPid: Template;
  /** The created container's state.json. */
  created: Template;
  /** What `state` prints for each status, in the order of ANSWER_STATUSES. */
  docs: Template[];
  /** The state sent with MSG_HOOKS_DONE (create sends it even without hooks: the init waits for it). */
  hookState: Template;
}

/** The same container as seen with another id: what its create made of that id. */
export interface ProbeView {
  id: string;
  cgroupPaths: Record<string, string>;
}

type Step = 'creating' | 'withPid' | 'created';

/** `rec` (a created container's record) as it is at `step`, for `id`, with sentinels for the replay's values. */
function at(rec: ContainerRecord, step: Step, id: string, cgroupPaths: Record<string, string>): ContainerRecord {
  const r = { ...rec, id, cgroupPaths, created: SENTINEL.created.value } as ContainerRecord & Record<string, unknown>;
  delete r.pidStartTime;
  delete r.creator;
  if (step === 'creating' || step === 'withPid') {
    r.status = 'creating';
    r.pid = 0;
    r.creator = { pid: SENTINEL.creatorPid.value as unknown as number, startTime: SENTINEL.creatorStart.value };
  }
  if (step === 'withPid' || step === 'created') r.pid = SENTINEL.pid.value as unknown as number;
  // create sets the start time after everything newContainerRecord made: it comes last
  if (step !== 'creating') r.pidStartTime = SENTINEL.pidStart.value;
  if (step === 'created') r.status = 'created';
  return r;
}

/**
 * The templates for `rec`, or undefined when they are not parametric in the id (the id also occurs by chance,
 * a value holds a sentinel): then no recipe, and every create of this config is Bun's.
 */
export function recordTemplates(rec: ContainerRecord, probe: ProbeView): RecordTemplates | undefined {
  if (!sentinelFree(JSON.stringify(rec))) return undefined;
  const paths = (id: string) => (id === rec.id ? rec.cgroupPaths : probe.cgroupPaths);
  const one = (render: (id: string) => string) => idTemplate(render, rec.id, probe.id);
  const creating = one((id) => JSON.stringify(at(rec, 'creating', id, paths(id))));
  const withPid = one((id) => JSON.stringify(at(rec, 'withPid', id, paths(id))));
  const created = one((id) => JSON.stringify(at(rec, 'created', id, paths(id))));
  const docs = ANSWER_STATUSES.map((status) =>
    // as answers.ts renders them
    one((id) => JSON.stringify(stateDocument(at(rec, 'created', id, paths(id)), status), null, 2) + '\n'),
  );
  // as create sends it: the record with its pid, the status "created"
  const hooks = one((id) => JSON.stringify(hookState(at(rec, 'withPid', id, paths(id)), 'created')));
  if (!creating || !withPid || !created || !hooks || docs.some((d) => d === undefined)) return undefined;
  return { creating, withPid, created, docs: docs as Template[], hookState: hooks };
}
