// The few messages of CRIU's RPC (images/rpc.proto, proto2) that checkpoint
// and restore send and read, in protobuf's wire format: criu_req with its
// criu_opts out, criu_resp in. A table of field numbers per message keeps
// the codec small; field numbers are CRIU's and never change.

export const CriuReqType = { DUMP: 1, RESTORE: 2, PRE_DUMP: 4, NOTIFY: 6, VERSION: 10 } as const;
export const CriuCgMode = { ignore: 0, soft: 3, full: 4, strict: 5 } as const;

export interface CriuOpts {
  imagesDirFd: number;
  pid?: number;
  leaveRunning?: boolean;
  extUnixSk?: boolean;
  tcpEstablished?: boolean;
  evasiveDevices?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  logLevel?: number;
  logFile?: string;
  notifyScripts?: boolean;
  root?: string;
  parentImg?: string;
  trackMem?: boolean;
  autoDedup?: boolean;
  workDirFd?: number;
  extMnt?: { key: string; val: string }[];
  manageCgroups?: boolean;
  cgRoot?: { ctrl?: string; path: string }[];
  rstSibling?: boolean;
  inheritFd?: { key: string; fd: number }[];
  manageCgroupsMode?: number;
  external?: string[];
  emptyNs?: number;
  freezeCgroup?: string;
  orphanPtsMaster?: boolean;
}

export interface CriuReq {
  type: number;
  opts?: CriuOpts;
  notifySuccess?: boolean;
}

export interface CriuResp {
  type: number;
  success: boolean;
  restorePid?: number;
  notify?: { script?: string; pid?: number };
  crErrno?: number;
  crErrmsg?: string;
}

type Kind = 'int' | 'bool' | 'string' | 'kv' | 'cgroot' | 'inherit';
// [field, number, kind]; a repeated field is an array in CriuOpts
const OPTS: [keyof CriuOpts, number, Kind][] = [
  ['imagesDirFd', 1, 'int'],
  ['pid', 2, 'int'],
  ['leaveRunning', 3, 'bool'],
  ['extUnixSk', 4, 'bool'],
  ['tcpEstablished', 5, 'bool'],
  ['evasiveDevices', 6, 'bool'],
  ['shellJob', 7, 'bool'],
  ['fileLocks', 8, 'bool'],
  ['logLevel', 9, 'int'],
  ['logFile', 10, 'string'],
  ['notifyScripts', 12, 'bool'],
  ['root', 13, 'string'],
  ['parentImg', 14, 'string'],
  ['trackMem', 15, 'bool'],
  ['autoDedup', 16, 'bool'],
  ['workDirFd', 17, 'int'],
  ['extMnt', 23, 'kv'],
  ['manageCgroups', 24, 'bool'],
  ['cgRoot', 25, 'cgroot'],
  ['rstSibling', 26, 'bool'],
  ['inheritFd', 27, 'inherit'],
  ['manageCgroupsMode', 34, 'int'],
  ['external', 37, 'string'],
  ['emptyNs', 38, 'int'],
  ['freezeCgroup', 44, 'string'],
  ['orphanPtsMaster', 50, 'bool'],
];

class Writer {
  private parts: number[] = [];

  varint(v: number): void {
    if (!Number.isInteger(v)) throw new RangeError(`protobuf: ${v} is not an integer`);
    // a negative int32 is its 64-bit two's complement: ten bytes
    let n = v < 0 ? (1n << 64n) + BigInt(v) : BigInt(v);
    do {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      this.parts.push(n ? b | 0x80 : b);
    } while (n);
  }

  key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.key(field, 2);
    this.varint(data.length);
    for (const b of data) this.parts.push(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, Buffer.from(s, 'utf8'));
  }

  int(field: number, v: number): void {
    this.key(field, 0);
    this.varint(v);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function encodeOpts(o: CriuOpts): Uint8Array {
  const w = new Writer();
  for (const [name, num, kind] of OPTS) {
    const v = o[name];
    if (v === undefined) continue;
    for (const item of (Array.isArray(v) ? v : [v]) as unknown[]) {
      if (kind === 'int') w.int(num, item as number);
      else if (kind === 'bool') w.int(num, item ? 1 : 0);
      else if (kind === 'string') w.string(num, item as string);
      else {
        const sub = new Writer();
        if (kind === 'kv') {
          const { key, val } = item as { key: string; val: string };
          sub.string(1, key);
          sub.string(2, val);
        } else if (kind === 'cgroot') {
          const { ctrl, path } = item as { ctrl?: string; path: string };
          if (ctrl !== undefined) sub.string(1, ctrl);
          sub.string(2, path);
        } else {
          const { key, fd } = item as { key: string; fd: number };
          sub.string(1, key);
          sub.int(2, fd);
        }
        w.bytes(num, sub.done());
      }
    }
  }
  return w.done();
}

export function encodeCriuReq(req: CriuReq): Uint8Array {
  const w = new Writer();
  w.int(1, req.type);
  if (req.opts) w.bytes(2, encodeOpts(req.opts));
  if (req.notifySuccess !== undefined) w.int(3, req.notifySuccess ? 1 : 0);
  return w.done();
}

/** The fields of one message: number -> its values (a varint as a number, length-delimited as bytes). */
function fields(buf: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  let off = 0;
  const varint = (): number => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (off >= buf.length || shift > 63n) throw new Error('a varint runs past the end');
      const b = buf[off++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    return Number(BigInt.asIntN(64, v));
  };
  while (off < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = varint();
      if (len < 0 || off + len > buf.length) throw new Error(`field ${field} runs past the end`);
      value = buf.subarray(off, off + len);
      off += len;
    } else if (wire === 1 || wire === 5) {
      off += wire === 1 ? 8 : 4; // fixed64/fixed32: not in criu_resp, skipped
      if (off > buf.length) throw new Error(`field ${field} runs past the end`);
      continue;
    } else throw new Error(`field ${field} has wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

const num = (f: Map<number, (number | Uint8Array)[]>, n: number): number | undefined => {
  const v = f.get(n)?.at(-1);
  return typeof v === 'number' ? v : undefined;
};
const msg = (f: Map<number, (number | Uint8Array)[]>, n: number): Uint8Array | undefined => {
  const v = f.get(n)?.at(-1);
  return v instanceof Uint8Array ? v : undefined;
};
const str = (f: Map<number, (number | Uint8Array)[]>, n: number): string | undefined => {
  const v = msg(f, n);
  return v ? Buffer.from(v).toString('utf8') : undefined;
};

/** A criu_resp; throws with what is wrong when the bytes are not one. */
export function decodeCriuResp(buf: Uint8Array): CriuResp {
  let f: Map<number, (number | Uint8Array)[]>;
  try {
    f = fields(buf);
  } catch (e) {
    throw new Error(`malformed criu_resp (${buf.length} bytes): ${(e as Error).message}`);
  }
  const type = num(f, 1);
  const success = num(f, 2);
  if (type === undefined || success === undefined) throw new Error(`malformed criu_resp (${buf.length} bytes): no type or success`);
  const resp: CriuResp = { type, success: success !== 0 };
  const restore = msg(f, 4);
  if (restore) resp.restorePid = num(fields(restore), 1);
  const notify = msg(f, 5);
  if (notify) {
    const nf = fields(notify);
    resp.notify = { script: str(nf, 1), pid: num(nf, 2) };
  }
  resp.crErrno = num(f, 7);
  resp.crErrmsg = str(f, 9);
  return resp;
}
