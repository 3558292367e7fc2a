// linux.intelRdt in the resctrl filesystem: find its mount, make the groups and write the schemata the plan
// (src/plan/intel-rdt.ts) asks for, put the container's init in them, and at delete remove what tsrun made.
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { IntelRdtPlan, ResctrlView } from '../plan/intel-rdt';
import { parseMountinfo } from '../plan/host';
import { TsrunError } from '../errors';

/** What delete removes (kept in the state): the MON group, and the CTRL_MON group when tsrun made it for the id. */
export interface IntelRdtRecord {
  group?: string;
  monGroup?: string;
}

/** The resctrl filesystem of the runtime's mount namespace, as the planner reads it; undefined when none. */
export function resctrlView(): ResctrlView | undefined {
  const mount = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.fstype === 'resctrl');
  return mount ? dirView(mount.mountpoint) : undefined;
}

/** A directory read as a resctrl filesystem (the real mount, or a fake one in tests). */
export function dirView(root: string): ResctrlView {
  return {
    root,
    isDir: (p) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false,
    read: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

function lastStatus(root: string): string {
  try {
    const s = readFileSync(path.join(root, 'info', 'last_cmd_status'), 'utf8').trim();
    return s && s !== 'ok' ? ` (resctrl: ${s})` : '';
  } catch {
    return '';
  }
}

function fail(what: string, e: unknown, root: string): never {
  throw new TsrunError(`linux.intelRdt: ${what}: ${(e as Error).message}${lastStatus(root)}`);
}

/** Before the init starts: the groups and the schemata. The record is in the state before anything is made. */
export function applyIntelRdt(plan: IntelRdtPlan, root: string): void {
  if (plan.createGroup) {
    try {
      mkdirSync(plan.group);
    } catch (e) {
      fail(`make the resctrl group ${plan.group}`, e, root);
    }
  }
  // one line a write, so that the error names the line resctrl refused
  for (const line of plan.schemata) {
    try {
      writeFileSync(path.join(plan.group, 'schemata'), line + '\n');
    } catch (e) {
      fail(`write ${JSON.stringify(line)} to ${path.join(plan.group, 'schemata')}`, e, root);
    }
  }
  if (plan.monGroup) {
    try {
      mkdirSync(plan.monGroup);
    } catch (e) {
      fail(`make the MON group ${plan.monGroup}`, e, root);
    }
  }
}

/** The container's init joins the group, then its MON group (which takes only tasks of its parent group). */
export function joinIntelRdt(plan: IntelRdtPlan, pid: number, root: string): void {
  for (const dir of [plan.group, plan.monGroup]) {
    if (dir === undefined) continue;
    try {
      writeFileSync(path.join(dir, 'tasks'), `${pid}\n`);
    } catch (e) {
      fail(`put the container's process ${pid} in ${path.join(dir, 'tasks')}`, e, root);
    }
  }
}

export function intelRdtRecord(plan: IntelRdtPlan): IntelRdtRecord {
  return { group: plan.removeGroup ? plan.group : undefined, monGroup: plan.monGroup };
}

/** At delete (and after a failed create): problems, for warnings. The MON group first: it lives in the group. */
export function removeIntelRdt(rec: IntelRdtRecord): string[] {
  const problems: string[] = [];
  for (const dir of [rec.monGroup, rec.group]) {
    if (dir === undefined || !existsSync(dir)) continue;
    try {
      rmdirSync(dir);
    } catch (e) {
      problems.push(`remove the resctrl group ${dir}: ${(e as Error).message}`);
    }
  }
  return problems;
}
