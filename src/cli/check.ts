// `tsrun check`: every problem in a bundle at once, not just the first.
import * as path from 'node:path';
import { checkBundle } from '../spec/load';
import { str, type CommandContext } from './context';
import { writeOut } from './output';

export default function check(ctx: CommandContext): number {
  const bundle = path.resolve(str(ctx.flags.bundle) ?? '.');
  const problems = checkBundle(bundle);
  const file = path.join(bundle, 'config.json');
  if (problems.length === 0) {
    writeOut(`${file}: no problems found\n`);
    return 0;
  }
  writeOut(problems.map((p) => `${file}: ${p.path}: ${p.message}\n`).join(''));
  writeOut(`${problems.length} problem${problems.length === 1 ? '' : 's'} found\n`);
  return 1;
}
