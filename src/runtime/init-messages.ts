// The messages tsrun-init sends (native/plan.h, MSG_*), decoded and checked,
// and the one loop that create, run and exec follow them with. A message of
// an unknown kind, the wrong length or one the phase does not expect is an
// error of its own words, never a RangeError or a silent skip.
import { Msg } from '../plan/tags';
import { TsrunError } from '../errors';
import { log } from '../log/logger';
import type { InitChannel, InitMessage } from './init-channel';

export type InitEvent =
  | { kind: 'pid'; pid: number }
  | { kind: 'hooks' }
  | { kind: 'ready' }
  | { kind: 'started' }
  | { kind: 'exit'; status: number }
  | { kind: 'warn'; text: string }
  | { kind: 'error'; text: string };

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(Msg).map(([k, v]) => [v, k]));

function malformed(m: InitMessage, why: string): TsrunError {
  return new TsrunError(`tsrun-init sent a malformed ${NAMES[m.tag] ?? `tag ${m.tag}`} message (${m.payload.length} bytes): ${why}`);
}

function u64Of(m: InitMessage): number {
  if (m.payload.length !== 8) throw malformed(m, 'a number takes 8 bytes');
  const v = m.payload.readBigUInt64LE(0);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(m, `${v} is out of range`);
  return Number(v);
}

function empty(m: InitMessage, kind: 'hooks' | 'ready' | 'started'): InitEvent {
  if (m.payload.length !== 0) throw malformed(m, 'it carries no payload');
  return { kind };
}

/** One message as an event; throws on an unknown tag or a payload of the wrong size. */
export function decodeInitMessage(m: InitMessage): InitEvent {
  switch (m.tag) {
    case Msg.PID: {
      const pid = u64Of(m);
      if (pid < 1 || pid > 0x3fffffff) throw malformed(m, `${pid} is not a pid`);
      return { kind: 'pid', pid };
    }
    case Msg.EXIT: {
      const status = u64Of(m);
      if (status > 0xffff) throw malformed(m, `${status} is not a wait status`);
      return { kind: 'exit', status };
    }
    case Msg.HOOKS:
      return empty(m, 'hooks');
    case Msg.READY:
      return empty(m, 'ready');
    case Msg.STARTED:
      return empty(m, 'started');
    case Msg.WARN:
      return { kind: 'warn', text: m.payload.toString('utf8') };
    case Msg.ERROR:
      return { kind: 'error', text: m.payload.toString('utf8') };
    default:
      throw new TsrunError(`tsrun-init sent a message of unknown kind (tag ${m.tag}, ${m.payload.length} bytes)`);
  }
}

type Handled = Exclude<InitEvent['kind'], 'warn' | 'error'>;
type Handler<K extends Handled> = (e: Extract<InitEvent, { kind: K }>) => boolean | void | Promise<boolean | void>;

export interface FollowOptions {
  /** The events this phase expects; a handler returning true ends the loop with that event. Any other is an error. */
  on: { [K in Handled]?: Handler<K> };
  /** "log" where an error of the process is followed by its exit status (after start); "throw" by default. */
  errors?: 'throw' | 'log';
  /** The channel closed before a handler ended the loop: the error to throw, or undefined to return null. */
  closed: () => TsrunError | undefined;
}

/** Reads the init's messages until a handler ends the loop (that event) or the channel closes (null). */
export async function followInit(channel: InitChannel, o: FollowOptions): Promise<InitEvent | null> {
  for (;;) {
    const m = await channel.next();
    if (m === null) {
      const e = o.closed();
      if (e) throw e;
      return null;
    }
    const ev = decodeInitMessage(m);
    if (ev.kind === 'warn') {
      log.warn(ev.text);
      continue;
    }
    if (ev.kind === 'error') {
      if (o.errors === 'log') {
        log.error(ev.text);
        continue;
      }
      throw new TsrunError(ev.text);
    }
    const handler = o.on[ev.kind] as ((e: InitEvent) => boolean | void | Promise<boolean | void>) | undefined;
    if (!handler) throw new TsrunError(`tsrun-init sent ${NAMES[m.tag]} where it was not expected`);
    if ((await handler(ev)) === true) return ev;
  }
}

/** How the init's stage 0 ended, for a message: " (exit status 1)", " (killed by SIGKILL)". */
export function exitNote(channel: InitChannel): string {
  const exit = channel.stage0Exit;
  return exit ? (exit.signal ? ` (killed by ${exit.signal})` : ` (exit status ${exit.code})`) : '';
}
