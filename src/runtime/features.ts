// `features` (runtime-spec features.md): what this build really implements.
// Each list comes from the table the code itself uses, so it cannot drift.
import { capabilityNumbers } from '../spec/names';
import { mountOptionTable } from '../plan/mounts';
import { namespaceTypes } from '../plan/namespaces';
import { seccompFeatures } from '../seccomp/features';
import { SPEC_VERSION, VERSION, COMMIT } from '../version';

// Mount options the planner knows but refuses for now.
const UNSUPPORTED_MOUNT_OPTIONS = new Set(['idmap', 'ridmap']);

export function features(): Record<string, unknown> {
  const mountOptions = Object.entries(mountOptionTable)
    .filter(([name, e]) => e.kind !== 'unsupported' && !UNSUPPORTED_MOUNT_OPTIONS.has(name))
    .map(([name]) => name)
    .sort();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions,
    linux: {
      namespaces: Object.keys(namespaceTypes),
      capabilities: Object.keys(capabilityNumbers),
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: true },
      seccomp: seccompFeatures(),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
      netDevices: { enabled: false },
    },
    annotations: {
      'io.github.tsrun.version': VERSION,
      'io.github.tsrun.commit': COMMIT,
      'org.opencontainers.runc.checkpoint.enabled': 'true',
    },
  };
}
