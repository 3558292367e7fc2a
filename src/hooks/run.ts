// Runs the hooks the runtime itself is responsible for (prestart,
// createRuntime, poststart, poststop): the state JSON on stdin, the hook's
// own args and env, and its timeout. createContainer and startContainer run
// inside the container's namespaces, in tsrun-init.
import type { Hook, HookName, State } from '../spec/types';
import { TsrunError } from '../errors';

function envObject(env: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

function clip(b: Buffer | string | null | undefined): string {
  const s = (b ?? '').toString().trim();
  return s.length > 500 ? s.slice(0, 500) + '…' : s;
}

/** Runs one hook; throws a TsrunError naming it when it fails. */
export function runHook(name: HookName, index: number, hook: Hook, state: State): void {
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const where = `${name} hook #${index} (${hook.path})`;
  // required here: most containers have no hooks, and most commands run none
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const res = spawnSync(hook.path, args.slice(1), {
    argv0: args[0],
    env: envObject(hook.env),
    input: JSON.stringify(state),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: hook.timeout && hook.timeout > 0 ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 20,
  });
  const output = () => {
    const out = clip(res.stdout);
    const err = clip(res.stderr);
    return (out ? `, stdout: ${out}` : '') + (err ? `, stderr: ${err}` : '');
  };
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') throw new TsrunError(`${where} timed out after ${hook.timeout}s`);
    if (code === 'EPIPE') {
      // the hook did not read its stdin: not an error in itself
    } else {
      const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : res.error.message;
      throw new TsrunError(`${where}: ${reason}`);
    }
  }
  if (res.signal) throw new TsrunError(`${where} was killed by ${res.signal}${output()}`);
  if (res.status !== 0) throw new TsrunError(`${where} exited with status ${res.status}${output()}`);
}

/** Runs a list of hooks in order; the first failure stops and throws. */
export function runHooks(name: HookName, hooks: Hook[] | undefined, state: State): void {
  (hooks ?? []).forEach((h, i) => runHook(name, i, h, state));
}

/** For poststop: every hook runs; failures come back as warnings. */
export function runHooksCollectingErrors(name: HookName, hooks: Hook[] | undefined, state: State): string[] {
  const errors: string[] = [];
  (hooks ?? []).forEach((h, i) => {
    try {
      runHook(name, i, h, state);
    } catch (e) {
      errors.push((e as Error).message);
    }
  });
  return errors;
}
