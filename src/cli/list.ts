import { listContainers } from '../runtime/state';
import type { CommandContext } from './context';
import { log } from '../log/logger';
import { writeOut } from './output';

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] + 3))).join('').trimEnd()).join('\n') + '\n';
}

export default function list(ctx: CommandContext): number {
  const states = listContainers(ctx.root, (id, message) => log.error(`list: container ${id}: ${message}`));
  if (ctx.flags.quiet) {
    writeOut(states.map((s) => s.id + '\n').join(''));
  } else if (ctx.flags.format === 'json') {
    writeOut(JSON.stringify(states) + '\n');
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const s of states) rows.push([s.id, String(s.pid ?? 0), s.status, s.bundle, s.created ?? '', s.owner || 'root']);
    writeOut(table(rows));
  }
  return 0;
}
