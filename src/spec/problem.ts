// A problem found in a document, and the JSON paths that locate it.

/** One thing wrong with a document: where (`$.linux.namespaces[2].type`) and what. */
export interface Problem {
  path: string;
  message: string;
}

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['linux', 'namespaces', 2, 'type']` → `$.linux.namespaces[2].type`; odd keys → `$.linux.sysctl["net.ipv4.ip_forward"]`. */
export function jsonPath(segments: readonly PathSegment[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** "$.process.cwd: must be an absolute path" */
export function formatProblem(p: Problem): string {
  return `${p.path}: ${p.message}`;
}
