// The oom_kill counter (v1 memory.oom_control, v2 memory.events). A file
// that is missing or has no such line (a kernel before 4.13, a cgroup without
// the memory controller) is an error: read as 0 it would hide every kill.
import { TsrunError } from '../errors';
import type { CgroupFs } from './fs';
import { parseFlatKeyed, reasonOf, type U64 } from './util';

export function readOomKill(fs: CgroupFs, file: string): U64 {
  let text: string;
  try {
    text = fs.readFile(file);
  } catch (e) {
    throw new TsrunError(`read the OOM kill counter ${file}: ${reasonOf(e)}`);
  }
  const n = parseFlatKeyed(text).oom_kill;
  if (n === undefined) throw new TsrunError(`${file} has no oom_kill counter (this kernel does not count OOM kills)`);
  return n;
}
