import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go; standard output by default. */
  destination?: DestinationStream;
}

/** The one way components get a logger; pass it down and use `child({ component })`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const base = { level: options.level ?? 'info', base: { pid: process.pid } };
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
