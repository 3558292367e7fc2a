// What `tsrun features` reports under linux.seccomp: the actions, operators, architectures and flags that tsrun
// knows, narrowed to what this kernel and this libseccomp support.
import { readFileSync } from 'node:fs';
import { kernelRelease } from './host';
import { loadLibseccomp, type SeccompLoader } from './libseccomp';
import { ACTIONS, ARCHES, FLAGS, OPERATORS, kernelHasFlag } from './tables';

export interface SeccompFeatures {
  enabled: boolean;
  actions: string[];
  operators: string[];
  archs: string[];
  knownFlags: string[];
  supportedFlags: string[];
}

/** Everything tsrun knows, whatever the host has. */
export const KNOWN_ACTIONS = Object.keys(ACTIONS);
export const KNOWN_OPERATORS = Object.keys(OPERATORS);
export const KNOWN_ARCHS = Object.keys(ARCHES);
export const KNOWN_FLAGS = Object.keys(FLAGS);

export interface FeatureOptions {
  loader?: SeccompLoader;
  kernelRelease?: string;
  /** The text of /proc/sys/kernel/seccomp/actions_avail; undefined reads it (and null means it is absent). */
  actionsAvail?: string | null;
}

function readActionsAvail(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'utf8');
  } catch {
    return null;
  }
}

/**
 * The seccomp part of `features`. Actions: those whose kernel action name is in actions_avail (the kernel has no
 * filter at all when the file is missing). Architectures: those libseccomp resolves. Flags: by kernel release,
 * since tsrun-init passes them to seccomp(2) itself. This loads libseccomp (features is not on a hot path).
 */
export function seccompFeatures(opts: FeatureOptions = {}): SeccompFeatures {
  const kernel = opts.kernelRelease ?? kernelRelease();
  const avail = opts.actionsAvail === undefined ? readActionsAvail() : opts.actionsAvail;
  let archs: string[] = [];
  let libOk = true;
  try {
    const lib = (opts.loader ?? loadLibseccomp)();
    archs = KNOWN_ARCHS.filter((a) => lib.archResolveName(ARCHES[a]) !== 0);
  } catch {
    libOk = false;
  }
  const kernelNames = new Set((avail ?? '').split(/\s+/).filter(Boolean));
  const enabled = libOk && avail !== null;
  return {
    enabled,
    actions: enabled ? KNOWN_ACTIONS.filter((a) => kernelNames.has(ACTIONS[a].kernelName)) : [],
    operators: enabled ? KNOWN_OPERATORS : [],
    archs,
    knownFlags: KNOWN_FLAGS,
    supportedFlags: enabled ? KNOWN_FLAGS.filter((f) => kernelHasFlag(f, kernel)) : [],
  };
}
