import { createContainer } from '../runtime/create';
import { createOptionsOf, type CommandContext } from './context';

export default async function create(ctx: CommandContext): Promise<number> {
  const { channel } = await createContainer(createOptionsOf(ctx));
  channel.detach();
  return 0;
}
