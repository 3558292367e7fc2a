// Our schemas give the verdicts of the runtime-spec v1.3.0 schemas on its own
// fixtures: every file under test/{config,state,features}/good must pass, every
// one under bad/ must fail (invalid JSON counts as failing).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { precondition } from '../helpers/harness';
import { parseJson } from '../../src/spec/json';
import { validateConfig, validateFeatures, validateState, type Problem } from '../../src/spec/validate';

const shared = path.resolve(__dirname, '../../../shared');
const fixtures = path.join(shared, 'runtime-spec/schema/test');
const present = precondition(fs.existsSync(fixtures), `schema-fixtures: ${fixtures} is absent (a clone without ../shared)`);

const validators: Record<string, (doc: unknown) => Problem[]> = {
  config: validateConfig,
  state: validateState,
  features: validateFeatures,
};

function files(kind: string, verdict: 'good' | 'bad'): string[] {
  const dir = path.join(fixtures, kind, verdict);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Problems of a fixture file, invalid JSON being one problem. */
function problemsOf(kind: string, file: string): Problem[] {
  const parsed = parseJson(fs.readFileSync(file, 'utf8'));
  if (!parsed.ok) return [{ path: '$', message: parsed.message }];
  return validators[kind](parsed.value);
}

(present ? describe : describe.skip)('runtime-spec schema fixtures', () => {
  for (const kind of Object.keys(validators)) {
    describe(kind, () => {
      it('has fixtures', () => {
        expect(files(kind, 'good').length + files(kind, 'bad').length).toBeGreaterThan(0);
      });
      for (const file of files(kind, 'good')) {
        it(`accepts good/${path.basename(file)}`, () => {
          expect(problemsOf(kind, file)).toEqual([]);
        });
      }
      for (const file of files(kind, 'bad')) {
        it(`rejects bad/${path.basename(file)}`, () => {
          expect(problemsOf(kind, file).length).toBeGreaterThan(0);
        });
      }
    });
  }
});
