// One conversation with CRIU's RPC (`criu swrk`), as runc has it, through
// `tsrun-init --criu` (native/criu.c), which holds the SOCK_SEQPACKET socket
// and the fds Bun cannot: criu_req out, criu_resp in, each notification
// answered once the runtime has done its part (hooks at setup-namespaces).
// Why the RPC and not criu's command line: only the RPC has
// orphan-pts-master (a container with a terminal), rst_sibling (the restored
// process a child of ours, for a foreground restore) and the notifications
// at the points where runc runs hooks.
import { closeSync, openSync } from 'node:fs';
import { Msg } from '../plan/tags';
import { TsrunError } from '../errors';
import { InitChannel, type InitMessage } from './init-channel';
import { CriuReqType, decodeCriuResp, encodeCriuReq, type CriuReq, type CriuResp } from './criu-proto';

export interface CriuSessionOptions {
  criu: string;
  imagesDir: string;
  workDir?: string;
  /** restore: where the new terminal's master goes. */
  consoleSocket?: string;
  /** restore in the foreground with a terminal and no socket: the init keeps the master and proxies our stdio. */
  keepMaster?: boolean;
  /** Files criu gets open, each for the inherit_fd of its key (a namespace joined by path: runc's extRootNetNS). */
  inherit?: { key: string; file: string; what: string }[];
}

/** The fd numbers CRIU finds the directories at (in the init, which CRIU sees as its peer). */
export const IMAGES_DIR_FD = 3;
export const WORK_DIR_FD = 4;

export type NotifyHandler = (script: string, pid: number) => void | Promise<void>;

export class CriuSession {
  /** criu's wait status once the init reported it (request() may read it first). */
  private criuExit: number | undefined;

  private constructor(
    private readonly channel: InitChannel,
    private readonly fds: number[],
    /** criu's pid, before it runs: the caller puts it in the container's cgroups. */
    readonly criuPid: number,
    /** The inherit_fd entries for o.inherit: fd numbers as criu has them. */
    readonly inherited: { key: string; fd: number }[],
  ) {}

  static async start(o: CriuSessionOptions): Promise<CriuSession> {
    const fds: number[] = [];
    const open = (file: string, what: string) => {
      try {
        fds.push(openSync(file, 'r'));
      } catch (e) {
        throw new TsrunError(`open ${what} ${file}: ${(e as Error).message}`);
      }
    };
    try {
      open(o.imagesDir, 'the image directory');
      if (o.workDir) open(o.workDir, 'the work directory');
      const firstInherited = fds.length;
      for (const { file, what } of o.inherit ?? []) open(file, what);
      // the init (and criu after it) has our fds as 3, 4, ... in this order
      const inherited = (o.inherit ?? []).map(({ key }, i) => ({ key, fd: 3 + firstInherited + i }));
      const env = Object.fromEntries(Object.entries(process.env).filter((kv): kv is [string, string] => kv[1] !== undefined));
      const channel = InitChannel.spawn(0, { args: ['--criu'], fds, env });
      const start = [o.criu, o.consoleSocket ?? '', o.keepMaster ? '1' : '0'].map((s) => `${s}\0`).join('');
      channel.send(Msg.CRIU_START, start);
      const m = await channel.next();
      if (m?.tag !== Msg.PID || m.payload.length !== 8) {
        channel.detach();
        throw unexpected(m, 'the pid of criu');
      }
      return new CriuSession(channel, fds, Number(m.payload.readBigUInt64LE(0)), inherited);
    } catch (e) {
      for (const fd of fds) closeSync(fd);
      throw e;
    }
  }

  /**
   * Sends req and answers every notification (after onNotify, which may throw: CRIU is then told it failed);
   * returns CRIU's last answer, which the caller checks for success.
   */
  async request(req: CriuReq, onNotify: NotifyHandler): Promise<CriuResp> {
    this.channel.send(Msg.CRIU_REQ, encodeCriuReq(req));
    // what the init could not do for a notification (send the pty master on): CRIU is told at its answer
    let failed: string | undefined;
    for (;;) {
      const m = await this.channel.next();
      // the first error is the cause (criu's exec failing, say); what the init says after it follows from it
      if (m?.tag === Msg.ERROR) {
        failed ??= m.payload.toString('utf8');
        continue;
      }
      if (m?.tag === Msg.CRIU_EXIT) {
        this.criuExit = exitStatus(m.payload);
        if (failed !== undefined) throw new TsrunError(failed); // criu could not start, say
        return { type: req.type, success: false, crErrmsg: `criu exited (${waitStatusText(this.criuExit)}) before it answered` };
      }
      if (m === null && failed !== undefined) throw new TsrunError(failed);
      if (m?.tag !== Msg.CRIU_RESP) throw unexpected(m, "criu's answer");
      let resp: CriuResp;
      try {
        resp = decodeCriuResp(m.payload);
      } catch (e) {
        throw new TsrunError(`criu: ${(e as Error).message}`);
      }
      if (!resp.success || resp.type !== CriuReqType.NOTIFY) {
        if (failed !== undefined) throw new TsrunError(failed);
        return resp;
      }
      try {
        if (failed !== undefined) throw new TsrunError(failed);
        await onNotify(resp.notify?.script ?? '', resp.notify?.pid ?? 0);
      } catch (e) {
        this.channel.send(Msg.CRIU_REQ, encodeCriuReq({ type: CriuReqType.NOTIFY, notifySuccess: false }));
        throw e;
      }
      this.channel.send(Msg.CRIU_REQ, encodeCriuReq({ type: CriuReqType.NOTIFY, notifySuccess: true }));
    }
  }

  /** No more requests: criu ends (after a pre-dump it would wait for one). Resolves with its wait status. */
  async close(): Promise<number> {
    this.channel.send(Msg.CRIU_CLOSE, '');
    while (this.criuExit === undefined) {
      const m = await this.channel.next();
      if (m?.tag === Msg.CRIU_EXIT) this.criuExit = exitStatus(m.payload);
      else if (m?.tag !== Msg.CRIU_RESP) throw unexpected(m, 'the exit of criu');
    }
    return this.criuExit;
  }

  /** After close(): waits for the restored process (the init's child); its wait status. */
  async waitRestored(pid: number): Promise<number> {
    const v = Buffer.alloc(8);
    v.writeBigUInt64LE(BigInt(pid));
    this.channel.send(Msg.CRIU_WAIT, v);
    const m = await this.channel.next();
    if (m?.tag !== Msg.EXIT || m.payload.length !== 8) throw unexpected(m, `the exit of process ${pid}`);
    return Number(m.payload.readBigUInt64LE(0));
  }

  /**
   * After a failure: lets criu end by itself (it undoes its own mounts) for up to timeoutMs, then ends the
   * conversation, which kills a criu still running.
   */
  async abandon(timeoutMs = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    try {
      await Promise.race([this.close().then(() => undefined, () => undefined), late]);
    } finally {
      clearTimeout(timer);
      this.end();
    }
  }

  /** Ends the conversation; a criu still running is killed by the init, which then exits. */
  end(): void {
    this.channel.detach();
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}

function exitStatus(payload: Buffer): number {
  if (payload.length !== 8) throw new TsrunError(`tsrun-init --criu sent a malformed exit of criu (${payload.length} bytes)`);
  return Number(payload.readBigUInt64LE(0));
}

function waitStatusText(s: number): string {
  return s & 0x7f ? `signal ${s & 0x7f}` : `exit ${(s >> 8) & 0xff}`;
}

function unexpected(m: InitMessage | null, wanted: string): TsrunError {
  if (m === null) return new TsrunError(`tsrun-init --criu ended before ${wanted}`);
  if (m.tag === Msg.ERROR) return new TsrunError(m.payload.toString('utf8'));
  return new TsrunError(`tsrun-init --criu sent message ${m.tag} where ${wanted} was expected`);
}
