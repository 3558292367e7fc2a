// Recipes: where they are kept, and the mark that comes first. Most configs are created once (an engine's, a
// conformance suite's), and leaving a recipe costs a second plan, so Bun's first create of a config leaves only
// an empty mark, and the second one the recipe (leave.ts) that the launcher replays from the third on.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { crc32hex } from '../state/crc32';

/** At most this many recipes are kept, and as many marks, the most recently written of each. */
export const MAX_RECIPES = 32;

/**
 * Where recipes are kept: outside every --root, which holds only containers (as runc's does), and in a tmpfs, as
 * a recipe is for this boot only. TSRUN_RECIPE_DIR moves it (the launcher reads the same variable).
 */
export function recipeDir(): string {
  return process.env.TSRUN_RECIPE_DIR || '/run/tsrun-recipes';
}

/** Where a create is: its --root as given and its bundle's realpath (a recipe is for one of each). */
export interface RecipePlace {
  root: string;
  bundle: string;
}

/**
 * A recipe's name, <config crc>-<config length>-<crc of root NUL bundle>-<mode>: what the launcher finds from the
 * command line and the config's bytes. The bundle is in it, so that the same config in many bundles (a conformance
 * suite's) is many configs, each created once, not one recipe made again for each.
 */
export function recipePath(at: RecipePlace, config: Buffer, mode: 'create' | 'run' | 'seen'): string {
  return path.join(recipeDir(), `${crc32hex(config)}-${config.length}-${crc32hex(Buffer.from(`${at.root}\0${at.bundle}`))}-${mode}`);
}

/** Whether Bun created this config here before (the mark). */
export function seenBefore(at: RecipePlace, config: Buffer): boolean {
  return existsSync(recipePath(at, config, 'seen'));
}

/** Leaves the mark after a create that may have a recipe. Never throws: a mark is only a hint. */
export function markSeen(at: RecipePlace, config: Buffer): void {
  try {
    mkdirSync(recipeDir(), { recursive: true, mode: 0o700 });
    closeSync(openSync(recipePath(at, config, 'seen'), 'w', 0o600));
    trim(recipeDir(), '-seen');
  } catch {
    // no mark: the next create leaves it
  }
}

/** Keeps the MAX_RECIPES newest files of `dir` whose names end with `suffix`. */
export function trim(dir: string, suffix: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith(suffix));
  if (names.length <= MAX_RECIPES) return;
  const files = names
    .map((name) => ({ name, at: statSync(path.join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at);
  for (const f of files.slice(MAX_RECIPES)) rmSync(path.join(dir, f.name), { force: true });
}
