// Facts about a host process from /proc, enough to know whether a recorded
// pid is still the container's init (pid reuse safe: the start time).
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** One letter: R S D Z T t X ... */
  state: string;
  /** Field 22 of /proc/PID/stat: start time in clock ticks after boot. */
  startTime: string;
  ppid: number;
}

/** Parses the text of /proc/PID/stat; the comm field may hold spaces and ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state), so field N is f[N - 3]
  if (f.length < 20) return undefined;
  return { state: f[0], ppid: Number(f[1]), startTime: f[19] };
}

export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True while pid is the same live (not zombie) process that started at startTime. */
export function isSameLiveProcess(pid: number, startTime: string | undefined, stat = readProcStat(pid)): boolean {
  if (!stat) return false;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}
