// Cross-field checks of a config.json: the rules of runtime-spec v1.3.0 (and
// the checks runc makes before it creates a container) that a JSON schema
// cannot say. Each rule cites where it comes from:
//   config.md#…        https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md
//   config-linux.md#…  https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config-linux.md
//   runc validator     libcontainer/configs/validate/validator.go (v1.1.5 and v1.3.0)
//   runc specconv      libcontainer/specconv/spec_linux.go
//
// The checks are written to run on any JSON value (they skip what has the
// wrong shape, which the schema reports), so `tsrun check` can list schema
// and cross-field problems together. Facts about the host (does root.path
// exist, which user namespace does a path name) come through HostLookups
// (host.ts) so that the rules are testable without root.
//
// This file holds the two entry points and the order in which the rules run;
// the rules themselves are grouped by the part of the config they read:
//   process.ts     process (and exec --process documents), hooks
//   namespaces.ts  linux.namespaces, hostname, id mappings, time offsets
//   filesystem.ts  root, mounts, maskedPaths and readonlyPaths
//   devices.ts     linux.devices, linux.netDevices
//   resources.ts   cgroupsPath, resources, intelRdt, memoryPolicy
//   kernel.ts      sysctl, seccomp, personality

import { SPEC_VERSION } from '../../version';
import type { Problem } from '../problem';
import { checkDevices, checkNetDevices } from './devices';
import { checkMounts, checkPathLists, checkRoot } from './filesystem';
import { realHost, type HostLookups } from './host';
import { checkPersonality, checkSeccomp, checkSysctl } from './kernel';
import { checkTimeNamespace, checkUserNamespace, checkUts, namespaceTable } from './namespaces';
import { checkHooks, checkProcess, checkProcessFields } from './process';
import { checkCgroupsPath, checkIntelRdt, checkMemoryPolicy, checkResources } from './resources';
import { Collector, isObj, isStr, quote, type Obj } from './shared';

export interface CheckOptions {
  /** The bundle directory; root.path is resolved against it and must exist. Omit to skip filesystem checks. */
  bundleDir?: string;
  /** run and check need `process` (config.md#process: REQUIRED when start is called); create does not. */
  requireProcess?: boolean;
  /** Defaults to the real host. */
  host?: HostLookups;
  /** Receives problems that do not stop the container (spec SHOULD, runc warnings). */
  warnings?: Problem[];
}

/**
 * Runs every cross-field check; returns the errors (an empty list: the config
 * may be run). Call it after validateConfig() found nothing, or alongside it
 * (it tolerates wrong shapes).
 */
export function checkConfig(spec: unknown, opts: CheckOptions = {}): Problem[] {
  const c = new Collector(opts.warnings);
  const host = opts.host ?? realHost;
  if (!isObj(spec)) return c.errors;
  const linux = isObj(spec.linux) ? spec.linux : {};
  // read first (other rules need it), its problems told in document order below
  const nsProblems = new Collector(opts.warnings);
  const ns = namespaceTable(linux, nsProblems);

  checkVersion(spec, c);
  checkAnnotations(spec, c);
  checkRoot(spec, opts.bundleDir, host, c);
  checkProcess(spec, opts.requireProcess, c);
  checkUts(spec, ns, c);
  checkMounts(spec, ns, c);
  checkHooks(spec, c);
  c.errors.push(...nsProblems.errors);
  checkUserNamespace(linux, ns, host, c);
  checkTimeNamespace(linux, ns, c);
  checkDevices(linux, c);
  checkNetDevices(linux, ns, c);
  checkCgroupsPath(linux, c);
  checkResources(linux, c);
  checkSysctl(linux, ns, host, c);
  checkSeccomp(linux, c);
  checkPathLists(linux, c);
  checkIntelRdt(linux, c);
  checkMemoryPolicy(linux, c);
  checkPersonality(linux, c);
  return c.errors;
}

/**
 * The rules for a process object alone, for `exec --process FILE` (paths are
 * then `$.cwd`, …). The schema half is validateProcess() in ../validate.ts.
 */
export function checkProcessDocument(p: unknown, opts: { warnings?: Problem[] } = {}): Problem[] {
  const c = new Collector(opts.warnings);
  checkProcessFields(p, [], c);
  return c.errors;
}

/** config.md#annotations: "Keys MUST NOT be an empty string." */
function checkAnnotations(spec: Obj, c: Collector): void {
  if (isObj(spec.annotations) && Object.prototype.hasOwnProperty.call(spec.annotations, '')) {
    c.error(['annotations'], 'keys must not be empty');
  }
}

// --- ociVersion -------------------------------------------------------------

/** SemVer 2.0.0 (semver.org), the major version captured first. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/**
 * config.md#specification-version: ociVersion MUST be SemVer 2.0.0. The spec
 * keeps compatibility within a major version, so tsrun (spec 1.3.0) takes any
 * 1.x.y, pre-releases included ("1.0.2-dev" from `runc spec`). A later 1.x
 * (containerd writes its vendored specs-go version) is taken too: its unknown
 * fields are ignored, as runc, which does not look at ociVersion at all, does.
 * Other majors (0.x drafts, a future 2.x) are refused.
 */
function checkVersion(spec: Obj, c: Collector): void {
  const v = spec.ociVersion;
  if (!isStr(v)) return;
  const m = SEMVER.exec(v);
  if (!m) {
    c.error(['ociVersion'], `must be a SemVer 2.0.0 version such as ${SPEC_VERSION} (got ${quote(v)})`);
  } else if (m[1] !== '1') {
    c.error(['ociVersion'], `unsupported version ${v}: tsrun implements runtime-spec ${SPEC_VERSION} and accepts 1.x`);
  }
}
