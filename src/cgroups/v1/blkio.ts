// v1 blkio: weights (CFQ files blkio.weight*, or BFQ's blkio.bfq.weight*) and
// the throttle lists. Kernels without CFQ/BFQ group scheduling have only the
// throttle files: a weight then is an error that names the missing file.

import type { BlockIO, ThrottleDevice } from '../../spec/types';
import type { BlkioEntry, Stats } from '../stats';
import { CtlCtx, cgWrite, field, int, parseU64, tryRead } from '../util';

const F = (k: string) => field(`blockIO.${k}`);
const NO_WEIGHT = 'no CFQ/BFQ weight support on this kernel';

function weightFiles(c: CtlCtx): { weight: string; device: string } {
  if (c.fs.exists(`${c.dir}/blkio.weight`)) return { weight: 'blkio.weight', device: 'blkio.weight_device' };
  if (c.fs.exists(`${c.dir}/blkio.bfq.weight`)) return { weight: 'blkio.bfq.weight', device: 'blkio.bfq.weight_device' };
  return { weight: 'blkio.weight', device: 'blkio.weight_device' }; // for the error message
}

const THROTTLE: [keyof BlockIO, string][] = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
];

export function applyBlkio(c: CtlCtx, b: BlockIO | undefined): void {
  if (!b) return;
  const wf = weightFiles(c);
  if (b.weight !== undefined && b.weight !== 0) {
    cgWrite(c.fs, c.dir, wf.weight, int(b.weight, F('weight')), F('weight'), NO_WEIGHT);
  }
  if (b.leafWeight !== undefined && b.leafWeight !== 0) {
    cgWrite(c.fs, c.dir, 'blkio.leaf_weight', int(b.leafWeight, F('leafWeight')), F('leafWeight'), 'leaf weights are CFQ-only');
  }
  (b.weightDevice ?? []).forEach((wd, i) => {
    const dev = `${wd.major}:${wd.minor}`;
    if (wd.weight !== undefined && wd.weight !== 0) {
      cgWrite(c.fs, c.dir, wf.device, `${dev} ${wd.weight}`, F(`weightDevice[${i}].weight`), NO_WEIGHT);
    }
    if (wd.leafWeight !== undefined && wd.leafWeight !== 0) {
      cgWrite(c.fs, c.dir, 'blkio.leaf_weight_device', `${dev} ${wd.leafWeight}`, F(`weightDevice[${i}].leafWeight`), 'leaf weights are CFQ-only');
    }
  });
  for (const [key, file] of THROTTLE) {
    ((b[key] as ThrottleDevice[] | undefined) ?? []).forEach((td, i) => {
      cgWrite(c.fs, c.dir, file, `${td.major}:${td.minor} ${td.rate}`, F(`${key}[${i}]`), 'no blkio throttling on this kernel');
    });
  }
}

/** "8:0 Read 1282048" / "8:0 6792" lines; "Total N" lines are skipped. */
export function parseBlkioStat(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/[\s:]+/).filter(Boolean);
    if (f.length < 3 || f[0] === 'Total') continue;
    const op = f.length === 4 ? f[2] : '';
    out.push({ major: parseU64(f[0]), minor: parseU64(f[1]), op, value: parseU64(f[f.length - 1]) });
  }
  return out;
}

type BlkioKey = keyof Stats['blkio'];

/** The first family of stat files the kernel has, as runc picks them. */
const FAMILIES: [string, BlkioKey][][] = [
  [['blkio.bfq.sectors_recursive', 'sectorsRecursive'], ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'], ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.bfq.io_queued_recursive', 'ioQueueRecursive'], ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'], ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive']],
  [['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'], ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive']],
  [['blkio.sectors_recursive', 'sectorsRecursive'], ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'], ['blkio.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.io_queued_recursive', 'ioQueueRecursive'], ['blkio.time_recursive', 'ioTimeRecursive'],
    ['blkio.io_serviced_recursive', 'ioServicedRecursive'], ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive']],
  [['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'], ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive']],
  [['blkio.throttle.io_serviced', 'ioServicedRecursive'], ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive']],
];

export function blkioStats(c: CtlCtx, s: Stats): void {
  for (const family of FAMILIES) {
    if (!c.fs.exists(`${c.dir}/${family[0][0]}`)) continue;
    for (const [file, key] of family) {
      const t = tryRead(c.fs, `${c.dir}/${file}`);
      if (t !== undefined) s.blkio[key] = parseBlkioStat(t);
    }
    return;
  }
}
