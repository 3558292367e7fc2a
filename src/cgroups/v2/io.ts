// v2 io: weights go to io.bfq.weight (BFQ takes blkio's 10..1000 as is) or,
// without BFQ, to io.weight (converted to 1..10000 as runc does); throttles go
// to io.max as "MAJ:MIN rbps=|wbps=|riops=|wiops=N". v2 has no leaf weights.

import type { BlockIO, ThrottleDevice } from '../../spec/types';
import type { BlkioEntry, Stats } from '../stats';
import { CtlCtx, cannotApply, cgWrite, field, parseU64, tryRead } from '../util';

const F = (k: string) => field(`blockIO.${k}`);
const NO_WEIGHT = 'no BFQ (io.bfq.weight) or io.cost (io.weight) weight support on this kernel';

/** runc: 1 + (weight - 10) * 9999 / 990 maps blkio's [10, 1000] onto io.weight's [1, 10000]. */
export function blkioWeightToIoWeight(w: number): number {
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

export function ioFieldsSet(b: BlockIO | undefined): string[] {
  if (!b) return [];
  const out: string[] = [];
  if (b.weight) out.push('weight');
  if (b.leafWeight) out.push('leafWeight');
  if (b.weightDevice?.length) out.push('weightDevice');
  for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'] as const) {
    if (b[k]?.length) out.push(k);
  }
  return out.map(F);
}

const THROTTLE: [keyof BlockIO, string][] = [
  ['throttleReadBpsDevice', 'rbps'],
  ['throttleWriteBpsDevice', 'wbps'],
  ['throttleReadIOPSDevice', 'riops'],
  ['throttleWriteIOPSDevice', 'wiops'],
];

export function applyIo(c: CtlCtx, b: BlockIO | undefined): void {
  if (!b) return;
  if (b.leafWeight) throw cannotApply(F('leafWeight'), 'cgroup v2 has no leaf weights');
  const bfq = c.fs.exists(`${c.dir}/io.bfq.weight`);
  const weightFile = bfq ? 'io.bfq.weight' : 'io.weight';
  const conv = (w: number) => String(bfq ? w : blkioWeightToIoWeight(w));
  if (b.weight) cgWrite(c.fs, c.dir, weightFile, conv(b.weight), F('weight'), NO_WEIGHT);
  (b.weightDevice ?? []).forEach((wd, i) => {
    if (wd.leafWeight) throw cannotApply(F(`weightDevice[${i}].leafWeight`), 'cgroup v2 has no leaf weights');
    if (wd.weight) {
      cgWrite(c.fs, c.dir, weightFile, `${wd.major}:${wd.minor} ${conv(wd.weight)}`, F(`weightDevice[${i}].weight`), NO_WEIGHT);
    }
  });
  for (const [key, name] of THROTTLE) {
    ((b[key] as ThrottleDevice[] | undefined) ?? []).forEach((td, i) => {
      cgWrite(c.fs, c.dir, 'io.max', `${td.major}:${td.minor} ${name}=${td.rate}`, F(`${key}[${i}]`));
    });
  }
}

export function ioStatsV2(c: CtlCtx, s: Stats): void {
  const t = tryRead(c.fs, `${c.dir}/io.stat`);
  if (t === undefined) return;
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of t.split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    for (const kv of kvs) {
      const [k, v] = kv.split('=');
      const e = (op: string): BlkioEntry => ({ major: Number(m[1]), minor: Number(m[2]), op, value: parseU64(v) });
      if (k === 'rbytes') bytes.push(e('Read'));
      else if (k === 'wbytes') bytes.push(e('Write'));
      else if (k === 'rios') ios.push(e('Read'));
      else if (k === 'wios') ios.push(e('Write'));
    }
  }
  s.blkio.ioServiceBytesRecursive = bytes;
  s.blkio.ioServicedRecursive = ios;
}
