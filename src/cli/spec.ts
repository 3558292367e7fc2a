import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultSpec } from '../runtime/default-spec';
import { TsrunError, sysError } from '../errors';
import { str, type CommandContext } from './context';

export default function spec(ctx: CommandContext): number {
  const bundle = str(ctx.flags.bundle) ?? '.';
  const file = path.join(bundle, 'config.json');
  const doc = defaultSpec({ rootless: Boolean(ctx.flags.rootless), uid: process.getuid?.(), gid: process.getgid?.() });
  try {
    writeFileSync(file, JSON.stringify(doc, null, '\t') + '\n', { flag: 'wx', mode: 0o666 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new TsrunError(`File ${file} exists. Remove it first`);
    throw sysError(`write ${file}`, e);
  }
  return 0;
}
