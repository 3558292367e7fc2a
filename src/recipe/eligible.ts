// Recipes: which creates may leave one for the next create of the same config. Only the common case of a
// direct call, where a replay needs nothing but the files and the kernel (a --pid-file it writes too): anything that talks to another
// process (hooks, a console socket, systemd), hands over fds, or changes the host outside the container's own
// cgroup and state directory, stays Bun's every time. Each reason is named, for tests and for --debug.
import type { Spec } from '../spec/types';
import type { InitPlan } from '../plan/types';

export interface RecipeFacts {
  euid: number;
  systemdCgroup: boolean;
  rootless: boolean;
  consoleSocket: boolean;
  preserveFds: number;
  listenFds: number;
  /** --no-pivot, --no-new-keyring: in the plan, and the launcher does not read them (it would replay without). */
  noPivot: boolean;
  noNewKeyring: boolean;
  /** create's warnings: a replay would not print them. */
  warnings: number;
  /** The config's bytes as read from the bundle. */
  configText: string;
  id: string;
  /** A foreground run (its recipe is its own: stage 0 stays to report the exit status). */
  run: boolean;
}

/**
 * What rules a recipe out before anything is planned: create checks these first, so that a config that may never
 * have one (an engine's, which holds the id) pays nothing for recipes.
 */
export function earlyBlockers(spec: Spec, f: RecipeFacts): string[] {
  const out: string[] = [];
  const no = (cond: unknown, why: string) => {
    if (cond) out.push(why);
  };
  no(f.euid !== 0, 'not root');
  no(f.systemdCgroup, '--systemd-cgroup');
  no(f.rootless, 'rootless');
  no(f.consoleSocket, '--console-socket');
  no(f.preserveFds > 0, '--preserve-fds');
  no(f.listenFds > 0, 'LISTEN_FDS');
  no(f.noPivot, '--no-pivot');
  no(f.noNewKeyring, '--no-new-keyring');
  no(f.warnings > 0, 'warnings');
  no(!spec.process, 'no process');
  no(Object.values(spec.hooks ?? {}).some((h) => Array.isArray(h) && h.length > 0), 'hooks');
  no(spec.linux?.intelRdt !== undefined, 'linux.intelRdt');
  no((spec.linux?.namespaces ?? []).some((n) => n.path !== undefined), 'a namespace joined by path');
  // Bun's run proxies the caller's terminal; the replay has stage 0 only
  no(f.run && spec.process?.terminal, 'run with a terminal');
  // the replay swaps the id in what tsrun derived from it; in the config itself it would be a coincidence
  no(f.configText.includes(f.id), 'the id is in the config');
  return out;
}

/** Why a create leaves no recipe; empty when it may. `f.warnings` counts the plan's too. */
export function recipeBlockers(spec: Spec, plan: InitPlan, f: RecipeFacts): string[] {
  const out = earlyBlockers(spec, f);
  const no = (cond: unknown, why: string) => {
    if (cond && !out.includes(why)) out.push(why);
  };
  no(plan.hooks.length > 0, 'hooks');
  no((plan.netDevices ?? []).length > 0, 'linux.netDevices');
  no(plan.hostMounts !== undefined, 'no mount namespace');
  no(plan.seccompListener !== undefined, 'a seccomp listener');
  return out;
}
