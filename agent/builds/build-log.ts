/**
 * The build log: one file per build pod (kubelet keeps pod logs under /var/log/pods; the agent
 * keeps a build's under its data directory), a line per log line as `RFC3339NANO TEXT`. The
 * runner writes it (the clone, pulls, assemble's output, the commit, push progress); the agent's
 * log server reads it for the build pod's container, with tail, since, timestamps and follow.
 *
 * Every line passes through a redactor first: secret values the build knows of, and user
 * information in URLs, never reach the file (X8).
 */
import { once } from 'node:events';
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { redactCredentials } from '../../src/api/git-source.js';
import type { LogLine } from '../docker/streams.js';

export const REDACTED = '*****';

/** Default cap on a build log's size; beyond it lines are dropped (and that is said once). */
export const BUILD_LOG_MAX_BYTES = 64 * 1024 * 1024;

/** The log's tail a failed build reports (OpenShift's `status.logSnippet`): lines and bytes. */
export const LOG_TAIL_LINES = 20;
export const LOG_TAIL_MAX_BYTES = 2048;

/** Replaces secret values and URL credentials in text. */
export class Redactor {
  readonly #values = new Set<string>();

  add(...values: string[]): void {
    for (const v of values) if (v.length >= 4) this.#values.add(v);
  }

  redact(text: string): string {
    let out = redactCredentials(text);
    // Longest first, so a value containing another is replaced whole.
    for (const v of [...this.#values].sort((a, b) => b.length - a.length)) {
      if (out.includes(v)) out = out.split(v).join(REDACTED);
    }
    return out;
  }
}

/** `2024-05-06T07:08:09.123000000Z`: Kubernetes' nanosecond RFC 3339 (milliseconds here). */
export function nanoTimestamp(date: Date): string {
  return date.toISOString().replace(/Z$/, '000000Z');
}

/** What the steps of a build write to its log. */
export interface BuildLog {
  /** Writes each line of `text` (a trailing newline is not an extra line). */
  line(text: string): void;
  /** Output as it comes (container output): complete lines are written, the rest waits. */
  output(chunk: string): void;
  /** Writes what `output` still holds without a newline. */
  flush(): void;
}

export class BuildLogWriter implements BuildLog {
  readonly #out: WriteStream;
  readonly #redactor: Redactor;
  readonly #maxBytes: number;
  #written = 0;
  #truncated = false;
  #partial = '';
  #closed = false;
  /** The last lines, redacted, also those dropped from a log that reached its size limit. */
  readonly #recent: string[] = [];

  constructor(path: string, redactor: Redactor, maxBytes = BUILD_LOG_MAX_BYTES) {
    // Opened at once, so the log exists (and can be served) from the moment the build begins.
    this.#out = createWriteStream(path, { fd: openSync(path, 'a', 0o600) });
    this.#out.on('error', () => undefined);
    this.#redactor = redactor;
    this.#maxBytes = maxBytes;
  }

  /** Writes each line of `text` (a trailing newline is not an extra line). */
  line(text: string): void {
    const lines = text.replace(/\r?\n$/, '').split('\n');
    for (const l of lines) this.#write(l.replace(/\r$/, ''));
  }

  /** Output as it comes (container output): complete lines are written, the rest waits. */
  output(chunk: string): void {
    const text = this.#partial + chunk;
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const p of parts) this.#write(p.replace(/\r$/, ''));
    if (this.#partial.length > 64 * 1024) {
      this.#write(this.#partial);
      this.#partial = '';
    }
  }

  /** Writes what `output` still holds without a newline. */
  flush(): void {
    if (this.#partial !== '') this.#write(this.#partial);
    this.#partial = '';
  }

  #write(text: string): void {
    if (this.#closed) return;
    const redacted = this.#redactor.redact(text);
    this.#recent.push(redacted);
    if (this.#recent.length > LOG_TAIL_LINES) this.#recent.shift();
    const line = `${nanoTimestamp(new Date())} ${redacted}\n`;
    if (this.#written + line.length > this.#maxBytes) {
      if (!this.#truncated) {
        this.#truncated = true;
        this.#out.write(
          `${nanoTimestamp(new Date())} (the build log reached its size limit; further output is dropped)\n`,
        );
      }
      return;
    }
    this.#written += line.length;
    this.#out.write(line);
  }

  /**
   * The last lines written (without timestamps): at most LOG_TAIL_LINES, and LOG_TAIL_MAX_BYTES
   * from the end.
   */
  tail(): string {
    const lines = [...this.#recent];
    let text = lines.join('\n');
    while (lines.length > 1 && Buffer.byteLength(text) > LOG_TAIL_MAX_BYTES) {
      lines.shift();
      text = lines.join('\n');
    }
    const bytes = Buffer.from(text);
    // One line longer than the limit: its end, on a character boundary.
    return bytes.length > LOG_TAIL_MAX_BYTES
      ? bytes
          .subarray(bytes.length - LOG_TAIL_MAX_BYTES)
          .toString('utf8')
          .replace(/^\uFFFD+/, '')
      : text;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#out.end();
    if (!this.#out.writableFinished) await once(this.#out, 'finish').catch(() => undefined);
  }
}

export interface ReadLogOptions {
  follow?: boolean;
  tail?: number | undefined;
  sinceSeconds?: number | undefined;
  timestamps?: boolean;
  signal?: AbortSignal;
  /** While following: true once nothing more will be written (the build is over). */
  isDone?: () => Promise<boolean>;
  pollMs?: number;
  now?: () => number;
}

/** Parses one stored line into a LogLine. */
export function parseStoredLine(raw: string, timestamps: boolean): LogLine & { time: number } {
  const space = raw.indexOf(' ');
  const stamp = space > 0 ? raw.slice(0, space) : '';
  const time = Date.parse(stamp);
  if (Number.isNaN(time)) return { stream: 'stdout', text: raw, time: 0 };
  const text = raw.slice(space + 1);
  return timestamps
    ? { stream: 'stdout', text, timestamp: stamp, time }
    : { stream: 'stdout', text, time };
}

/**
 * The log as a readable of LogLine objects: the whole file (or its last `tail` lines, those
 * since `sinceSeconds`), then, with `follow`, what is appended until `isDone` says the build is
 * over or `signal` aborts.
 */
export function readBuildLog(path: string, options: ReadLogOptions = {}): Readable {
  const timestamps = options.timestamps ?? false;
  const pollMs = options.pollMs ?? 200;
  const now = options.now ?? Date.now;
  const since =
    options.sinceSeconds === undefined ? undefined : now() - options.sinceSeconds * 1000;
  const keep = (l: { time: number }): boolean => since === undefined || l.time >= since;
  async function* lines(): AsyncGenerator<LogLine> {
    const file = await open(path, 'r');
    try {
      let offset = 0;
      let partial = '';
      const readMore = async (): Promise<string[]> => {
        const size = (await file.stat()).size;
        if (size <= offset) return [];
        const buf = Buffer.alloc(size - offset);
        const { bytesRead } = await file.read(buf, 0, buf.length, offset);
        offset += bytesRead;
        const text = partial + buf.subarray(0, bytesRead).toString('utf8');
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        return parts;
      };
      const strip = ({ time: _time, ...line }: LogLine & { time: number }): LogLine => line;
      let first = (await readMore()).map((l) => parseStoredLine(l, timestamps)).filter(keep);
      if (options.tail !== undefined) first = first.slice(Math.max(0, first.length - options.tail));
      for (const l of first) yield strip(l);
      if (!options.follow) return;
      for (;;) {
        if (options.signal?.aborted) return;
        const done = (await options.isDone?.()) ?? true;
        const more = await readMore();
        for (const raw of more) {
          const l = parseStoredLine(raw, timestamps);
          if (keep(l)) yield strip(l);
        }
        if (done && more.length === 0) return;
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(t);
            options.signal?.removeEventListener('abort', wake);
            resolve();
          };
          const t = setTimeout(wake, pollMs);
          options.signal?.addEventListener('abort', wake, { once: true });
        });
      }
    } finally {
      await file.close();
    }
  }
  return Readable.from(lines(), { objectMode: true });
}

/** True when the file exists. */
export async function logExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
