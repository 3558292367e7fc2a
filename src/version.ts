// Versions, without importing main (which runs the CLI).
declare const TSRUN_VERSION: string;
declare const TSRUN_COMMIT: string;

export const SPEC_VERSION = '1.3.0';
export const VERSION = typeof TSRUN_VERSION === 'string' ? TSRUN_VERSION : 'dev';
export const COMMIT = typeof TSRUN_COMMIT === 'string' ? TSRUN_COMMIT : 'unknown';
