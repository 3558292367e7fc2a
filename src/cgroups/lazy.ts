// The cgroup code that only create, update and events need: every controller
// module (and bpf). The managers reach it through these loaders, which the
// bundlers keep as split points, so delete, kill, pause and state load none
// of it. vitest cannot require() TypeScript: test/setup-lazy.ts swaps in
// static imports.
/* eslint-disable @typescript-eslint/no-require-imports */
export const load = {
  v1Resources: () => require('./v1/resources') as typeof import('./v1/resources'),
  v2Resources: () => require('./v2/resources') as typeof import('./v2/resources'),
  v1Memory: () => require('./v1/memory') as typeof import('./v1/memory'),
  v2Memory: () => require('./v2/memory') as typeof import('./v2/memory'),
};
