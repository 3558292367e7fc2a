// The processes of a container that has no cgroup (rootless, with no cgroup
// the user may write): the init and its descendants, and, with a pid
// namespace of its own, every process whose /proc/PID/ns/pid is the init's
// (an exec'd process, which is not the init's child). runc 1.1.5 fails `ps`
// and `kill --all` there ("lstat : no such file or directory").
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The parent of a live process; undefined for one that is gone or a zombie (a cgroup no longer lists those). */
function ppidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' || state === 'X' ? undefined : Number(ppid);
  } catch {
    return undefined; // gone meanwhile
  }
}

function pidNsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined; // gone, or not ours to look at (another user's process)
  }
}

export function pidsWithoutCgroup(init: number, ownPidNamespace: boolean): number[] {
  const all = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  const children = new Map<number, number[]>();
  for (const p of all) {
    const pp = ppidOf(p);
    if (pp === undefined) continue;
    const list = children.get(pp) ?? [];
    list.push(p);
    children.set(pp, list);
  }
  const found = new Set<number>();
  if (ppidOf(init) === undefined) return [];
  const queue = [init];
  while (queue.length) {
    const p = queue.pop() as number;
    if (found.has(p)) continue;
    found.add(p);
    queue.push(...(children.get(p) ?? []));
  }
  const ns = ownPidNamespace ? pidNsOf(init) : undefined;
  if (ns) for (const p of all) if (!found.has(p) && ppidOf(p) !== undefined && pidNsOf(p) === ns) found.add(p);
  return [...found].sort((a, b) => a - b);
}
