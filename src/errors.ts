// One error type for everything tsrun reports to its user: a message that
// says what failed and where, and exit status 1.
import { errnoText } from './errno';

export class TsrunError extends Error {
  readonly exitCode: number;
  /** Extra problems, for errors that gather several (validation). */
  readonly details: string[];

  constructor(message: string, opts: { exitCode?: number; details?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TsrunError';
    this.exitCode = opts.exitCode ?? 1;
    this.details = opts.details ?? [];
  }
}

/** A system call failure as Node reports it, turned into "what: path: reason". */
export function sysError(what: string, err: unknown): TsrunError {
  const e = err as NodeJS.ErrnoException;
  const reason = e && e.code ? describeErrno(e) : String((e && e.message) || err);
  return new TsrunError(`${what}: ${reason}`, { cause: err });
}

export function describeErrno(e: NodeJS.ErrnoException): string {
  return (e.code && errnoText(e.code)) || e.message;
}
