// The JSON schemas of schemas/, and the one function that turns them into
// validators (loadValidatorSource). Kept apart from validate.ts so that a
// build step can swap that function for code precompiled by ajv's standalone
// mode: scripts/precompile-validators.mjs writes a CommonJS module exporting
// one validate function per DocumentKind, and
// test/unit/validate.test.ts checks that such a module gives the same answers
// as the run-time compile. Wiring it in is then a small esbuild plugin that
// makes loadValidatorSource() return `(kind) => require(GENERATED)[kind]`.
//
// The JSON files are imported, not read from disk, so that esbuild inlines them
// into build/tsrun.js. ajv itself is only require()d inside
// loadValidatorSource(), so commands that never validate never load it.

import type { Options, ValidateFunction } from 'ajv';
import defs from '../../schemas/defs.json';
import defsLinux from '../../schemas/defs-linux.json';
import configSchema from '../../schemas/config-schema.json';
import configLinux from '../../schemas/config-linux.json';
import configOther from '../../schemas/config-other.json';
import stateSchema from '../../schemas/state-schema.json';
import featuresSchema from '../../schemas/features-schema.json';
import featuresLinux from '../../schemas/features-linux.json';

export type DocumentKind = 'config' | 'state' | 'features' | 'process';

/** Every schema, in the order ajv should add them. */
export const SCHEMAS: object[] = [
  defs,
  defsLinux,
  configLinux,
  configOther,
  configSchema,
  stateSchema,
  featuresLinux,
  featuresSchema,
];

/** The $id of the root schema of each document. */
export const SCHEMA_IDS: Record<DocumentKind, string> = {
  config: configSchema.$id,
  state: stateSchema.$id,
  features: featuresSchema.$id,
  process: `${configSchema.$id}#/definitions/Process`,
};

/**
 * ajv options, shared by the run-time compile and the precompiler.
 * - allErrors: `tsrun check` lists every problem at once.
 * - verbose: errors carry their (parent) schema; the messages use it for
 *   integer bounds ("must be an integer between 0 and 4294967295").
 * - validateSchema false: the unit tests check the schemas against the
 *   draft-07 meta-schema once, instead of every start paying for it.
 */
export const AJV_OPTIONS: Options = {
  allErrors: true,
  verbose: true,
  strict: true,
  strictTuples: false, // vm.hwConfig.iomems is a one-item tuple, as upstream has it
  validateSchema: false,
  addUsedSchema: false,
};

/** Gives the validator of one document kind; compiles on first use. */
export type ValidatorSource = (kind: DocumentKind) => ValidateFunction;

/** The run-time compile: requires ajv, compiles each kind when first asked. */
export function loadValidatorSource(): ValidatorSource {
  const AjvClass = (require('ajv') as typeof import('ajv')).default;
  const ajv = new AjvClass({ ...AJV_OPTIONS, schemas: SCHEMAS });
  return (kind) => {
    const v = ajv.getSchema(SCHEMA_IDS[kind]);
    if (!v) throw new Error(`internal error: no schema ${SCHEMA_IDS[kind]}`);
    return v;
  };
}
