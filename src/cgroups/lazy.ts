// Cgroup code that only some calls need: the managers (a plain `kill` needs
// none), and every controller module (and bpf), which only create, update
// and events need. These loaders are split points for the bundlers, so the
// other commands load none of it. vitest cannot require() TypeScript:
// test/setup-lazy.ts swaps in static imports.
//
// Under Bun the first require() in a process costs more than an import()
// (bench/levers.md), so the callers that can await (create) preload with
// import(), and the synchronous loaders then find the module in the cache.
interface Modules {
  manager: typeof import('./manager');
  v1Resources: typeof import('./v1/resources');
  v2Resources: typeof import('./v2/resources');
  v1Cpuset: typeof import('./v1/cpuset');
  v2Create: typeof import('./v2/create');
  v1Memory: typeof import('./v1/memory');
  v2Memory: typeof import('./v2/memory');
}
type Name = keyof Modules;

const cache: Partial<Modules> = {};

const importers: { [K in Name]: () => Promise<Modules[K]> } = {
  manager: () => import('./manager'),
  v1Resources: () => import('./v1/resources'),
  v2Resources: () => import('./v2/resources'),
  v1Cpuset: () => import('./v1/cpuset'),
  v2Create: () => import('./v2/create'),
  v1Memory: () => import('./v1/memory'),
  v2Memory: () => import('./v2/memory'),
};

export const load: { [K in Name]: () => Modules[K] } = {
  manager: () => (cache.manager ??= require('./manager') as Modules['manager']),
  v1Resources: () => (cache.v1Resources ??= require('./v1/resources') as Modules['v1Resources']),
  v2Resources: () => (cache.v2Resources ??= require('./v2/resources') as Modules['v2Resources']),
  v1Cpuset: () => (cache.v1Cpuset ??= require('./v1/cpuset') as Modules['v1Cpuset']),
  v2Create: () => (cache.v2Create ??= require('./v2/create') as Modules['v2Create']),
  v1Memory: () => (cache.v1Memory ??= require('./v1/memory') as Modules['v1Memory']),
  v2Memory: () => (cache.v2Memory ??= require('./v2/memory') as Modules['v2Memory']),
};

/** Brings the named modules in with import(), for the synchronous loaders above. */
export async function preload(...names: Name[]): Promise<void> {
  await Promise.all(
    names.map(async (n) => {
      if (!cache[n]) (cache as Record<Name, unknown>)[n] = await importers[n]();
    }),
  );
}
