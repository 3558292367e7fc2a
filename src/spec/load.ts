// Reading a bundle: config.json parsed, validated against the schema, then
// checked across fields. loadBundle() is for create/run (first problem in the
// message, all of them in the error's details); checkBundle() is for
// `tsrun check` (every problem, nothing thrown).

import { readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { describeErrno, TsrunError } from '../errors';
import { checkConfig } from './checks';
import { resolveRootfs } from './checks/filesystem';
import type { HostLookups } from './checks/host';
import { describeJsonError, parseJson } from './json';
import { formatProblem, type Problem } from './problem';
import type { Spec } from './types';
import { validateConfig } from './validate';

export interface LoadOptions {
  /** create and run: the config must have a process (config.md#process). */
  requireProcess: boolean;
  /** For tests; defaults to the real host. */
  host?: HostLookups;
}

export interface LoadedBundle {
  spec: Spec;
  /** The bundle directory, absolute, symlinks resolved. */
  bundle: string;
  /** The root filesystem, absolute, symlinks resolved. */
  rootfs: string;
  /** Problems that do not stop the container ("$.mounts[0].options: should …"), for the log. */
  warnings: string[];
  /** config.json's bytes as read (a recipe keeps them). */
  configBytes: Buffer;
}

type Read = { ok: true; file: string; bundle: string; doc: unknown; bytes: Buffer } | { ok: false; file: string; bundle: string; message: string };

/** The bundle made absolute (realpath when it exists) and its config.json parsed. */
function readConfig(bundleDir: string): Read {
  let bundle = path.resolve(bundleDir);
  try {
    bundle = realpathSync(bundle);
  } catch {
    // keep the resolved path: opening config.json below says what is wrong
  }
  const file = path.join(bundle, 'config.json');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, file, bundle, message: `open ${file}: ${err.code ? describeErrno(err) : err.message}` };
  }
  const parsed = parseJson(bytes.toString('utf8'));
  if (!parsed.ok) return { ok: false, file, bundle, message: `${describeJsonError(parsed)}` };
  return { ok: true, file, bundle, doc: parsed.value, bytes };
}

/** Schema problems first, then cross-field ones (each once). */
function allProblems(doc: unknown, bundle: string, opts: { requireProcess: boolean; host?: HostLookups; warnings: Problem[] }): Problem[] {
  const problems = validateConfig(doc);
  const seen = new Set(problems.map((p) => `${p.path}\0${p.message}`));
  for (const p of checkConfig(doc, { bundleDir: bundle, requireProcess: opts.requireProcess, host: opts.host, warnings: opts.warnings })) {
    const key = `${p.path}\0${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  }
  return problems;
}

/**
 * Reads, validates and checks BUNDLE/config.json. Throws TsrunError:
 *   open BUNDLE/config.json: no such file or directory
 *   invalid JSON in BUNDLE/config.json at line 3, column 5: unexpected '}', expected a value
 *   invalid configuration BUNDLE/config.json: $.process.cwd: must be an absolute path (got "tmp") (and 2 more problems)
 * with every problem in `details`.
 */
export function loadBundle(bundleDir: string, opts: LoadOptions): LoadedBundle {
  const read = readConfig(bundleDir);
  if (!read.ok) {
    if (read.message.startsWith('open ')) throw new TsrunError(read.message);
    throw new TsrunError(read.message.replace(/^invalid JSON/, `invalid JSON in ${read.file}`));
  }
  const warnings: Problem[] = [];
  const problems = allProblems(read.doc, read.bundle, { requireProcess: opts.requireProcess, host: opts.host, warnings });
  if (problems.length > 0) {
    const [first] = problems;
    const more = problems.length - 1;
    const tail = more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : '';
    throw new TsrunError(`invalid configuration ${read.file}: ${formatProblem(first)}${tail}`, {
      details: problems.map(formatProblem),
    });
  }
  const spec = read.doc as Spec;
  // checkConfig made sure root.path names a directory.
  const rootPath = resolveRootfs(spec.root!.path, read.bundle);
  let rootfs: string;
  try {
    rootfs = realpathSync(rootPath);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TsrunError(`invalid rootfs ${rootPath}: ${err.code ? describeErrno(err) : err.message}`, { cause: e });
  }
  return { spec, bundle: read.bundle, rootfs, warnings: warnings.map(formatProblem), configBytes: read.bytes };
}

/**
 * Every problem of BUNDLE/config.json, for `tsrun check`: a missing or
 * unreadable file and invalid JSON come back as one problem at `$`.
 * requireProcess defaults to true (check answers "can this bundle be run?").
 */
export function checkBundle(bundleDir: string, opts: { requireProcess?: boolean; host?: HostLookups; warnings?: Problem[] } = {}): Problem[] {
  const read = readConfig(bundleDir);
  if (!read.ok) return [{ path: '$', message: read.message }];
  return allProblems(read.doc, read.bundle, {
    requireProcess: opts.requireProcess ?? true,
    host: opts.host,
    warnings: opts.warnings ?? [],
  });
}
