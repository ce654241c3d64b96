/**
 * Structured logs (pino): one JSON object per line for log collectors, or a short human line on a terminal.
 * Request lines carry a request id (the client's `X-Request-Id` when it is sane, else a fresh one), echoed in the
 * response so a user can quote it. Secrets never reach a log: no headers, bodies or query strings are logged.
 */
import { randomUUID } from 'node:crypto';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const STANDARD_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** `12:34:56.789 INFO message key=value …` from one pino JSON line. */
export function prettyLine(json: string): string {
  const entry = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(Number(entry.time)).toISOString().slice(11, 23);
  const extras = Object.entries(entry)
    .filter(([key]) => !STANDARD_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `${time} ${(LEVEL_NAMES[Number(entry.level)] ?? String(entry.level)).padEnd(5)} ${String(entry.msg ?? '')}${extras.length ? ` ${extras.join(' ')}` : ''}\n`;
}

/**
 * Lines written to `out` together, once per turn of the event loop (and at exit): a busy server logs a line per
 * request, and writing each on its own — a system call to a pipe or a terminal — cost as much as a small request's
 * reads. A line waits at most until the turn's work is done; one process writing through `out` keeps the order.
 */
function batchedStream(out: NodeJS.WritableStream, format: (line: string) => string): DestinationStream {
  let pending = '';
  const flush = () => {
    unflushed.delete(flush);
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  return {
    write(line: string) {
      if (pending === '') {
        setImmediate(flush);
        flushAtExit(flush);
      }
      pending += format(line);
    },
  };
}

/** Streams with lines not written yet, written if the process exits first. */
const unflushed = new Set<() => void>();
let exitHooked = false;

function flushAtExit(flush: () => void): void {
  unflushed.add(flush);
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const pending of [...unflushed]) pending();
  });
}

/** Loggers made by `createLogger` (no bindings, serializers or hooks), with the stream their lines go to. */
const plainStreams = new WeakMap<Logger, DestinationStream>();

export function createLogger(settings: LogSettings, out: NodeJS.WritableStream = process.stdout): Logger {
  const options = { level: settings.level, base: undefined, timestamp: pino.stdTimeFunctions.epochTime };
  const stream = batchedStream(out, settings.format === 'pretty' ? prettyLine : (line) => line);
  const logger = pino(options, stream);
  plainStreams.set(logger, stream);
  return logger;
}

type LineLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * `logger[level](fields, message)` for a line of plain JSON values (strings, numbers, booleans, lists of them), as
 * pino writes it — level, time, the fields, the message — serialised in one `JSON.stringify` instead of pino's walk
 * over the fields: a line per request, ~3 µs of a name search's request under load (issue 14). Other loggers (a
 * child with bindings, a test's) log through pino.
 */
export function logLine(logger: Logger, level: LineLevel, fields: Record<string, unknown>, message: string): void {
  const stream = plainStreams.get(logger);
  if (!stream) {
    logger[level](fields, message);
    return;
  }
  if (!logger.isLevelEnabled(level)) return;
  const body = JSON.stringify(fields);
  const middle = body.length > 2 ? `${body.slice(1, -1)},` : '';
  stream.write(
    `{"level":${logger.levels.values[level]},"time":${Date.now()},${middle}"msg":${JSON.stringify(message)}}\n`,
  );
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A client's request id if it is a short token of safe characters (it is echoed into logs and headers). */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[A-Za-z0-9._:-]{1,100}$/.test(value) ? value : randomUUID();
}
