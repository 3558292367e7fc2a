// Logging as runc's callers expect it. Errors always reach stderr as one
// plain line. With --log FILE, lines also go to FILE: logrus-like text, or
// JSON lines ({"level","msg","time"} with RFC 3339 time) through pino, which
// is loaded only when a JSON line is actually written. In JSON mode without
// --debug the file holds only error lines: podman parses the whole file as
// one JSON object when create fails.
import { appendFileSync, writeSync } from 'node:fs';

type Level = 'debug' | 'info' | 'warn' | 'error';

interface LogConfig {
  file?: string;
  format: 'text' | 'json';
  debug: boolean;
}

let config: LogConfig = { format: 'text', debug: false };
let jsonLogger: { [k in Level]: (msg: string) => void } | undefined;

export function configureLog(c: LogConfig): void {
  config = c;
  jsonLogger = undefined;
}

function writeStderr(line: string): void {
  try {
    writeSync(2, line.endsWith('\n') ? line : line + '\n');
  } catch {
    // stderr closed: nothing else to tell
  }
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function json(): { [k in Level]: (msg: string) => void } {
  if (!jsonLogger) {
    const pino = require('pino') as typeof import('pino');
    const dest = pino.destination({ dest: config.file!, sync: true, append: true, mkdir: false });
    const logger = pino(
      {
        level: 'debug',
        base: undefined,
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label: string) => ({ level: label }) },
      },
      dest,
    );
    jsonLogger = {
      debug: (m) => logger.debug(m),
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    };
  }
  return jsonLogger;
}

function toFile(level: Level, msg: string): void {
  if (!config.file) return;
  try {
    if (config.format === 'json') {
      json()[level](msg);
    } else {
      appendFileSync(config.file, `time="${new Date().toISOString()}" level=${level} msg=${quote(msg)}\n`);
    }
  } catch (e) {
    writeStderr(`tsrun: cannot write log file ${config.file}: ${(e as Error).message}`);
  }
}

export const log = {
  error(msg: string): void {
    toFile('error', msg);
    writeStderr(`tsrun: ${msg}`);
  },
  warn(msg: string): void {
    if (config.file && (config.format === 'text' || config.debug)) toFile('warn', msg);
    else writeStderr(`tsrun: warning: ${msg}`);
  },
  info(msg: string): void {
    if (!config.debug) return;
    if (config.file) toFile('info', msg);
    else writeStderr(`tsrun: ${msg}`);
  },
  debug(msg: string): void {
    if (!config.debug) return;
    if (config.file) toFile('debug', msg);
    else writeStderr(`tsrun: debug: ${msg}`);
  },
  get debugEnabled(): boolean {
    return config.debug;
  },
};
