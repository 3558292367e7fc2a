import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runHook, runHooksCollectingErrors } from '../../src/hooks/run';
import type { State } from '../../src/spec/types';

const state: State = { ociVersion: '1.3.0', id: 'hk', status: 'creating', pid: 1, bundle: '/b' };

describe('hook runner', () => {
  it('gives the state on stdin, its own args and env', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hook-')), 'out');
    runHook('prestart', 0, { path: '/bin/sh', args: ['sh', '-c', `cat > ${out}; echo >> ${out}; echo "$0 $1 $FOO" >> ${out}`, 'arg1'], env: ['FOO=bar'] }, state);
    const [json, line] = fs.readFileSync(out, 'utf8').split('\n');
    expect(JSON.parse(json)).toEqual(state);
    // sh -c SCRIPT arg1: $0 is arg1, $1 is empty
    expect(line).toBe('arg1  bar');
  });

  it('names the hook and its output when it fails', () => {
    expect(() => runHook('createRuntime', 2, { path: '/bin/sh', args: ['sh', '-c', 'echo oops >&2; exit 3'] }, state)).toThrow(
      /createRuntime hook #2 \(\/bin\/sh\) exited with status 3, stderr: oops/,
    );
  });

  it('kills a hook at its timeout', () => {
    const t0 = Date.now();
    expect(() => runHook('prestart', 0, { path: '/bin/sleep', args: ['sleep', '10'], timeout: 1 }, state)).toThrow(/timed out after 1s/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('reports a missing hook binary', () => {
    expect(() => runHook('prestart', 0, { path: '/no/such/hook' }, state)).toThrow(/no such file or directory/);
  });

  it('poststop keeps going after a failure and collects the errors', () => {
    const errs = runHooksCollectingErrors('poststop', [{ path: '/bin/false' }, { path: '/bin/true' }, { path: '/bin/false' }], state);
    expect(errs).toHaveLength(2);
    expect(errs[0]).toContain('poststop hook #0');
    expect(errs[1]).toContain('poststop hook #2');
  });
});
