// Logging: errors go to stderr AND --log; warnings/debug go to --log when given, else stderr.
// On success `create` must print nothing: its stdio is the container's.
// JSON lines are what containerd and podman decode: {"level":"error","msg":...,"time":RFC3339}.
// pino is loaded only when a JSON line is actually written (it costs ~18 ms to load).
import * as fs from 'node:fs';

export type LogFormat = 'text' | 'json';
export type Level = 'error' | 'warning' | 'info' | 'debug';

interface LogConfig { file?: string; format: LogFormat; debug: boolean }
const config: LogConfig = { format: 'text', debug: false };

export function configureLog(opts: Partial<LogConfig>): void {
  if (opts.file !== undefined) config.file = opts.file || undefined;
  if (opts.format) config.format = opts.format;
  if (opts.debug !== undefined) config.debug = opts.debug;
}

export function isDebug(): boolean {
  return config.debug;
}

type PinoLike = { [k in 'error' | 'warn' | 'info' | 'debug']: (msg: string) => void } & { flush?: () => void };
let pinoLogger: PinoLike | undefined;

function jsonLogger(file: string): PinoLike {
  if (!pinoLogger) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const pino = require('pino') as typeof import('pino');
    const dest = pino.destination({ dest: file, sync: true, append: true, mkdir: false });
    pinoLogger = pino(
      {
        base: undefined,
        level: 'debug',
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label: string) => ({ level: label === 'warn' ? 'warning' : label }) },
      },
      dest,
    ) as unknown as PinoLike;
  }
  return pinoLogger;
}

function writeFileLine(level: Level, msg: string): void {
  const file = config.file!;
  try {
    if (config.format === 'json') {
      const l = jsonLogger(file);
      (level === 'warning' ? l.warn : l[level]).call(l, msg);
    } else {
      const line = `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`;
      fs.appendFileSync(file, line);
    }
  } catch {
    // A broken --log must not hide the error itself, which also goes to stderr.
  }
}

function writeStderr(msg: string): void {
  try {
    fs.writeSync(2, msg + '\n');
  } catch {
    /* stderr closed: nothing more we can do */
  }
}

export function logError(msg: string): void {
  writeStderr(msg);
  if (config.file) writeFileLine('error', msg);
}

export function logWarn(msg: string): void {
  if (config.file) writeFileLine('warning', msg);
  else writeStderr(`warning: ${msg}`);
}

export function logDebug(msg: string): void {
  if (!config.debug) return;
  if (config.file) writeFileLine('debug', msg);
  else writeStderr(`debug: ${msg}`);
}
