// The record a new container starts with (create, restore): status "creating", no pid or cgroups yet; the
// caller fills in what it learns and writes it.
import type { Spec } from '../spec/types';
import { SPEC_VERSION } from '../version';
import { readProcStat } from './proc';
import type { ContainerRecord } from './store';

export function newContainerRecord(id: string, spec: Spec, bundle: string, rootfs: string): ContainerRecord {
  return {
    ociVersion: SPEC_VERSION,
    id,
    status: 'creating',
    pid: 0,
    bundle,
    rootfs,
    created: new Date().toISOString(),
    owner: '',
    annotations: spec.annotations,
    cgroupPaths: {},
    pidNamespace: (spec.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path),
    hooks: { poststart: spec.hooks?.poststart, poststop: spec.hooks?.poststop },
    // a creator that dies leaves a record that later calls can tell from a live create
    creator: { pid: process.pid, startTime: readProcStat(process.pid)?.startTime },
  };
}
