import { UPDATE_FLAG_NAMES, updateContainer, type UpdateFlags } from '../runtime/update';
import { requireId, str, type CommandContext } from './context';

export default async function update(ctx: CommandContext): Promise<number> {
  const flags: Record<string, unknown> = {};
  for (const name of UPDATE_FLAG_NAMES) {
    const v = ctx.flags[name];
    if (v !== undefined && v !== null) flags[name] = v;
  }
  await updateContainer({ root: ctx.root, id: requireId(ctx), resourcesFile: str(ctx.flags.resources), flags: flags as UpdateFlags });
  return 0;
}
