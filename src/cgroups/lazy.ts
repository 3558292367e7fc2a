// Cgroup code that only some calls need: the managers (a plain `kill` needs
// none), and every controller module (and bpf), which only create, update
// and events need. These loaders are split points for the bundlers, so the
// other commands load none of it. vitest cannot require() TypeScript:
// test/setup-lazy.ts swaps in static imports.
/* eslint-disable @typescript-eslint/no-require-imports */
export const load = {
  manager: () => require('./manager') as typeof import('./manager'),
  v1Resources: () => require('./v1/resources') as typeof import('./v1/resources'),
  v2Resources: () => require('./v2/resources') as typeof import('./v2/resources'),
  v1Cpuset: () => require('./v1/cpuset') as typeof import('./v1/cpuset'),
  v2Create: () => require('./v2/create') as typeof import('./v2/create'),
  v1Memory: () => require('./v1/memory') as typeof import('./v1/memory'),
  v2Memory: () => require('./v2/memory') as typeof import('./v2/memory'),
};
