// Which spec fields each v1 controller carries, for "cannot apply" errors that name one: the driver's
// (no such hierarchy) and the rootless manager's (a hierarchy it could not use). Kept apart so that
// naming a field loads no controller code.
import type { Resources } from '../../spec/types';
import { field } from '../util';

/** Which spec fields each v1 controller carries (for "no such hierarchy" errors). */
export function fieldsFor(ctrl: string, r: Resources): string[] {
  const set = (o: object | undefined, keys: string[], prefix: string) =>
    keys.filter((k) => o && (o as Record<string, unknown>)[k] !== undefined).map((k) => field(`${prefix}.${k}`));
  switch (ctrl) {
    case 'cpu':
      return set(r.cpu, ['shares', 'quota', 'period', 'burst', 'idle', 'realtimeRuntime', 'realtimePeriod'], 'cpu');
    case 'cpuset':
      return set(r.cpu, ['cpus', 'mems'], 'cpu');
    case 'memory':
      return set(r.memory, ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy'], 'memory');
    case 'pids':
      return set(r.pids, ['limit'], 'pids');
    case 'blkio':
      return r.blockIO && Object.keys(r.blockIO).length ? [field('blockIO')] : [];
    case 'devices':
      return r.devices ? [field('devices')] : [];
    case 'net_cls':
      return set(r.network, ['classID'], 'network');
    case 'net_prio':
      return r.network?.priorities?.length ? [field('network.priorities')] : [];
    case 'rdma':
      return r.rdma && Object.keys(r.rdma).length ? [field('rdma')] : [];
    default:
      return [];
  }
}
