import { UPDATE_FLAG_NAMES, updateContainer, type UpdateFlags } from '../runtime/update';
import { requireId, str, type CommandContext } from './context';
import { withLock } from '../state/lock';

export default async function update(ctx: CommandContext): Promise<number> {
  const id = requireId(ctx);
  const flags: Record<string, unknown> = {};
  for (const name of UPDATE_FLAG_NAMES) {
    const v = ctx.flags[name];
    if (v !== undefined && v !== null) flags[name] = v;
  }
  // the lock serialises updates; the resources file (maybe stdin) is read inside it
  await withLock(ctx.root, id, () =>
    updateContainer({ root: ctx.root, id, resourcesFile: str(ctx.flags.resources), flags: flags as UpdateFlags }),
  );
  return 0;
}
