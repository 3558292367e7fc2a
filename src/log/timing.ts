// TSRUN_TIMING=1 prints, at exit, the milliseconds since process start at
// which each named step of a command was reached: the profile behind the
// figures in bench/. Without the variable, mark() does nothing.
import { writeSync } from 'node:fs';

const enabled = !!process.env.TSRUN_TIMING;
const marks: [string, number][] = [];

export function mark(name: string): void {
  if (!enabled) return;
  if (marks.length === 0) process.on('exit', () => writeSync(2, marks.map(([n, t]) => `timing ${t.toFixed(2)} ms ${n}\n`).join('')));
  marks.push([name, performance.now()]);
}
