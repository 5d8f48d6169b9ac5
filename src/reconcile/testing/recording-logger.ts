import type { Logger } from '../types.js';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  bindings: Record<string, unknown>;
  obj: object;
  msg: string | undefined;
}

/** A Logger that keeps what it is told, children included, for assertions. */
export class RecordingLogger implements Logger {
  readonly records: LogRecord[];
  readonly bindings: Record<string, unknown>;

  constructor(bindings: Record<string, unknown> = {}, records: LogRecord[] = []) {
    this.bindings = bindings;
    this.records = records;
  }

  child(bindings: Record<string, unknown>): RecordingLogger {
    return new RecordingLogger({ ...this.bindings, ...bindings }, this.records);
  }

  debug = (obj: object, msg?: string): void => this.#log('debug', obj, msg);
  info = (obj: object, msg?: string): void => this.#log('info', obj, msg);
  warn = (obj: object, msg?: string): void => this.#log('warn', obj, msg);
  error = (obj: object, msg?: string): void => this.#log('error', obj, msg);

  #log(level: LogRecord['level'], obj: object, msg: string | undefined): void {
    this.records.push({ level, bindings: this.bindings, obj, msg });
  }
}
