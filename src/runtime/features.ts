// `features` (runtime-spec features.md): what this build really implements.
// Each list comes from the table the code itself uses, so it cannot drift.
import { capabilityNumbers } from '../spec/names';
import { mountOptionTable } from '../plan/mounts';
import { namespaceTypes } from '../plan/namespaces';
import { seccompFeatures } from '../seccomp/features';
import { MEMPOLICY_FLAGS, MEMPOLICY_MODES } from '../plan/memory-policy';
import { SPEC_VERSION, VERSION, COMMIT } from '../version';

export function features(): Record<string, unknown> {
  const mountOptions = Object.entries(mountOptionTable)
    .filter(([, e]) => e.kind !== 'unsupported')
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
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: true },
      seccomp: seccompFeatures(),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      // what tsrun implements, whatever this host has (features.md): resctrl is absent here
      intelRdt: { enabled: true, schemata: true, monitoring: true },
      memoryPolicy: { modes: Object.keys(MEMPOLICY_MODES), flags: Object.keys(MEMPOLICY_FLAGS) },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: true },
    },
    annotations: {
      'io.github.tsrun.version': VERSION,
      'io.github.tsrun.commit': COMMIT,
      'org.opencontainers.runc.checkpoint.enabled': 'true',
    },
  };
}
