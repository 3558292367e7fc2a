// `events`: a container's resource statistics and OOM kills as JSON lines, in
// runc 1.1.5's shapes:
//   {"type":"stats","id":"ID","data":{"cpu":…,"memory":…,"pids":…,"blkio":…,"hugetlb":…,…}}
//   {"type":"oom","id":"ID"}
// --stats prints one stats line and returns. Otherwise a stats line every
// interval (the first after one interval, as runc) and an oom line for each
// OOM kill in the cgroup, until the container stops or is deleted.
import { ContainerDir, type ContainerRecord } from '../state/store';
import { statusOf } from '../state/status';
import { cgroupManagerFromPaths, type CgroupManager } from '../cgroups/manager';
import { statsJson } from '../cgroups/stats';
import { emptyStats } from '../cgroups/stats';
import { TsrunError } from '../errors';
import { log } from '../log/logger';

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration ("5s", "500ms", "1m30s", "1.5s"), in milliseconds. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let ns = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    ns += Number(m[1]) * UNIT_NS[m[2]];
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== s.length) throw new TsrunError(`invalid duration "${text}": use a number with a unit, such as 5s, 500ms or 1m`);
  return ns / 1e6;
}

function open(root: string, id: string): { dir: ContainerDir; rec: ContainerRecord } {
  const dir = new ContainerDir(root, id);
  const rec = dir.load();
  if (statusOf(rec, dir.fifo) === 'stopped') throw new TsrunError(`container with id ${id} is not running`);
  return { dir, rec };
}

function managerOf(rec: ContainerRecord): CgroupManager | undefined {
  return Object.keys(rec.cgroupPaths).length ? cgroupManagerFromPaths(rec.cgroupPaths) : undefined;
}

export function statsLine(id: string, cg: CgroupManager | undefined): string {
  return `{"type":"stats","id":${JSON.stringify(id)},"data":${statsJson(cg ? cg.stats() : emptyStats())}}\n`;
}

export function oomLine(id: string): string {
  return `{"type":"oom","id":${JSON.stringify(id)}}\n`;
}

/** `events --stats`: the one stats line. */
export function statsEvent(root: string, id: string): string {
  const { rec } = open(root, id);
  return statsLine(id, managerOf(rec));
}

export interface StreamOptions {
  root: string;
  id: string;
  /** Between stats lines (runc's default: 5 s). */
  intervalMs: number;
  write: (line: string) => void;
  /** How often to look for OOM kills and for the container's end (default 100 ms). */
  pollMs?: number;
}

/** Streams events until the container stops or is deleted. */
export function streamEvents(o: StreamOptions): Promise<void> {
  if (!(o.intervalMs > 0)) throw new TsrunError('events: the interval must be greater than 0');
  const { dir, rec } = open(o.root, o.id);
  const cg = managerOf(rec);
  const poll = o.pollMs ?? 100;
  let base = 0;
  let told = 0;
  let stopWatch = () => undefined as void;
  if (cg) {
    try {
      base = Number(cg.oomKillCount());
      stopWatch = cg.watchOom(
        () => {
          told++;
          o.write(oomLine(o.id));
        },
        { intervalMs: poll },
      );
    } catch (e) {
      log.warn(`events: OOM kills cannot be watched: ${(e as Error).message}`);
    }
  }
  const alive = (): boolean => {
    const now = dir.read();
    return !!now && now.pid === rec.pid && statusOf(now, dir.fifo) !== 'stopped';
  };
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(statsTimer);
      clearInterval(endTimer);
      stopWatch();
      // an OOM kill of the last process ends the container before the watcher's next look
      if (cg) {
        try {
          const missed = Number(cg.oomKillCount()) - base - told;
          for (let i = 0; i < missed; i++) o.write(oomLine(o.id));
        } catch {
          // the cgroup is gone with the container
        }
      }
      resolve();
    };
    const statsTimer = setInterval(() => {
      if (!alive()) return finish();
      try {
        o.write(statsLine(o.id, cg));
      } catch (e) {
        log.error(`events: ${(e as Error).message}`); // runc logs and goes on
      }
    }, o.intervalMs);
    const endTimer = setInterval(() => {
      if (!alive()) finish();
    }, poll);
  });
}
