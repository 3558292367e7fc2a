// linux.netDevices -> the host devices the init moves into the container's network namespace
// (config-linux.md#network-devices). The config checks have refused invalid names and a config without a network
// namespace; here the devices meet the host. The spec leaves their way back to the kernel (the runtime "MUST NOT"
// move them out): when the namespace goes, a physical device returns to the host and a virtual one is destroyed.
// Only a create that fails before the container is ready moves them back (runtime.md#errors; native/netdev.c).
import type { Spec } from '../spec/types';
import type { PlanNetDevice } from './types';
import { planError, type PlanContext } from './util';

export function planNetDevices(spec: Spec, ns: Map<string, string>, ctx: PlanContext): PlanNetDevice[] | undefined {
  const entries = Object.entries(spec.linux?.netDevices ?? {});
  if (entries.length === 0) return undefined;
  const at = 'linux.netDevices';
  // the move needs CAP_NET_ADMIN over the host's namespace, which the init gives up when it joins a user namespace
  // before the clone makes the new network namespace
  if (ns.get('user') && ns.get('network') === '') {
    throw planError(at, 'cannot be moved into a new network namespace of a joined user namespace (give the network namespace by path too)');
  }
  const host = ctx.host.netDevices();
  const newNames = new Map<string, string>();
  const out = entries.map(([name, dev]) => {
    const where = `${at}.${name}`;
    if (!host.includes(name)) throw planError(where, `no network device "${name}" on the host (there are: ${host.join(', ')})`);
    if (name === 'lo') throw planError(where, 'the loopback device cannot leave its network namespace');
    const newName = dev?.name ? dev.name : name;
    const first = newNames.get(newName);
    if (first !== undefined && !newName.includes('%')) {
      throw planError(`${where}.name`, `"${newName}" is also the new name of ${at}.${first}`);
    }
    // a new network namespace holds only lo
    if (newName === 'lo' && ns.get('network') === '') throw planError(`${where}.name`, 'the container already has "lo"');
    newNames.set(newName, name);
    return { name, newName };
  });
  return out;
}
