// Talks to tsrun-init over the socket it gets as its last fd: sends the plan,
// then reads its messages (records, see native/plan.h) one at a time.
import { encodeMessage } from '../plan/encode';
import { spawnInit, type InitMode, type InitProcess, type InitTransport } from './init-process';
import { initBinary } from './init-binary';

export interface InitMessage {
  tag: number;
  payload: Buffer;
}

export class InitChannel {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ((m: InitMessage | null) => void) | undefined;
  private queue: (InitMessage | null)[] = [];
  private closed = false;

  private constructor(
    readonly child: InitProcess,
    private readonly transport: InitTransport,
  ) {
    transport.listen(
      (chunk) => this.onData(chunk),
      () => this.push(null),
    );
  }

  /** Exit of the process we spawned (stage 0), once known. */
  get stage0Exit(): InitProcess['exit'] {
    return this.child.exit;
  }

  /**
   * Starts tsrun-init with our stdio as its stdio, preserveFds more fds
   * (3 .. 3+N-1) passed through, and the channel socket after them.
   */
  static spawn(preserveFds = 0, mode?: InitMode): InitChannel {
    const { proc, transport } = spawnInit(initBinary(), preserveFds, mode);
    return new InitChannel(proc, transport);
  }

  send(tag: number, payload?: Uint8Array | string): void {
    this.transport.write(encodeMessage(tag, payload));
  }

  /** The next message, or null once the init closed its end. */
  next(): Promise<InitMessage | null> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Lets the init live on without us: the runtime process may now exit. */
  detach(): void {
    this.transport.close();
    this.child.unref();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 8) {
      const len = this.buffered.readUInt32LE(4);
      if (this.buffered.length < 8 + len) break;
      const tag = this.buffered.readUInt32LE(0);
      const payload = this.buffered.subarray(8, 8 + len);
      this.buffered = this.buffered.subarray(8 + len);
      this.push({ tag, payload });
    }
  }

  private push(m: InitMessage | null): void {
    if (m === null) {
      if (this.closed) return;
      this.closed = true;
    }
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w(m);
    } else {
      this.queue.push(m);
    }
  }
}

let early: { channel: InitChannel; preserveFds: number } | undefined;

/**
 * Starts tsrun-init as early as the command line is known (main.ts, for
 * create, run and exec): its start-up and its first cgroup move overlap
 * the loading of the rest of tsrun. takeInit() hands it over.
 */
export function startInitEarly(preserveFds: number): void {
  early = { channel: InitChannel.spawn(preserveFds), preserveFds };
}

/** The init started early, or a new one. */
export function takeInit(preserveFds: number): InitChannel {
  const e = early;
  early = undefined;
  if (e && e.preserveFds === preserveFds) return e.channel;
  if (e) e.channel.child.kill('SIGKILL');
  return InitChannel.spawn(preserveFds);
}
