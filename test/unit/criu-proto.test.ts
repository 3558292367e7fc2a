// CRIU's RPC messages in protobuf's wire format: requests as CRIU's own
// decoder (protobuf-c) reads them, answers as CRIU writes them. The byte
// strings were worked out by hand from images/rpc.proto's field numbers.
import { describe, expect, it } from 'vitest';
import { CriuReqType, decodeCriuResp, encodeCriuReq } from '../../src/runtime/criu-proto';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('criu_req encoding', () => {
  it('writes the type, the options in field order and notify_success', () => {
    // type=2; opts{images_dir_fd=3 (1:0x08), root="/r" (13:0x6a), rst_sibling=1 (26:0xd0 0x01), manage_cgroups_mode=3 (34:0x90 0x02)}
    const b = encodeCriuReq({ type: CriuReqType.RESTORE, opts: { imagesDirFd: 3, root: '/r', rstSibling: true, manageCgroupsMode: 3 } });
    expect(hex(b)).toBe('0802' + '120c' + '0803' + '6a022f72' + 'd00101' + '900203');
    expect(hex(encodeCriuReq({ type: CriuReqType.NOTIFY, notifySuccess: true }))).toBe('08061801');
  });

  it('writes repeated submessages and strings once per item, and a pid past one byte as a varint', () => {
    const b = encodeCriuReq({
      type: CriuReqType.DUMP,
      opts: { imagesDirFd: 3, pid: 300, extMnt: [{ key: '/a', val: '/b' }], cgRoot: [{ path: '/c' }, { ctrl: 'pids', path: '/d' }], inheritFd: [{ key: 'pipe:[1]', fd: 1 }], external: ['x', 'y'] },
    });
    const opts = '0803' + '10ac02' + 'ba0108' + '0a022f61' + '12022f62' + 'ca0104' + '12022f63' + 'ca010a' + '0a0470696473' + '12022f64' + 'da010c' + '0a08706970653a5b315d' + '1001' + 'aa020178' + 'aa020179';
    expect(hex(b)).toBe('0801' + '12' + (opts.length / 2).toString(16) + opts);
  });

  it('writes a negative int32 as ten bytes, as protobuf does', () => {
    expect(hex(encodeCriuReq({ type: 1, opts: { imagesDirFd: -1 } }))).toBe('0801' + '120b' + '08ffffffffffffffffff01');
  });
});

describe('criu_resp decoding', () => {
  it('reads a restore answer with its pid', () => {
    expect(decodeCriuResp(Buffer.from('08021001' + '2203' + '08d209', 'hex'))).toMatchObject({ type: 2, success: true, restorePid: 1234 });
  });

  it('reads a notification with its script and pid', () => {
    // notify{script="setup-namespaces", pid=77}
    const script = Buffer.from('setup-namespaces').toString('hex');
    const notify = '0a10' + script + '104d';
    const r = decodeCriuResp(Buffer.from('08061001' + '2a' + (notify.length / 2).toString(16) + notify, 'hex'));
    expect(r).toMatchObject({ type: 6, success: true, notify: { script: 'setup-namespaces', pid: 77 } });
  });

  it('reads a failure with errno and message, skipping fields it does not know', () => {
    const msg = Buffer.from('no such pid').toString('hex');
    const r = decodeCriuResp(Buffer.from('08011000' + '3803' + '4a0b' + msg + '5801' + 'fd0100000000', 'hex'));
    expect(r).toMatchObject({ type: 1, success: false, crErrno: 3, crErrmsg: 'no such pid' });
  });

  it('says what is wrong with bytes that are not an answer', () => {
    expect(() => decodeCriuResp(Buffer.from('0802', 'hex'))).toThrow('no type or success');
    expect(() => decodeCriuResp(Buffer.from('08021001220508', 'hex'))).toThrow('runs past the end');
    expect(() => decodeCriuResp(Buffer.from('0b', 'hex'))).toThrow('wire type 3');
    expect(() => decodeCriuResp(Buffer.from('08ff', 'hex'))).toThrow('past the end');
  });
});
