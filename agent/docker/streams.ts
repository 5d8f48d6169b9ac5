/**
 * Byte-stream plumbing for the engine's responses: Docker's multiplexed stdout/stderr framing
 * (8-byte headers: stream type, 3 zero bytes, big-endian length), line splitting and
 * newline-delimited JSON (events, pull/build progress). No Docker client here; pure enough to test
 * with byte arrays.
 */
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';

export type StdStream = 'stdout' | 'stderr';

export interface Frame {
  stream: StdStream;
  data: Buffer;
}

/** Incremental parser of Docker's multiplexed framing; frames may span chunks. */
export class FrameParser {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Frame[] = [];
    while (this.buffer.length >= 8) {
      const type = this.buffer[0];
      const length = this.buffer.readUInt32BE(4);
      if (this.buffer.length < 8 + length) break;
      const data = this.buffer.subarray(8, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      // 0 (stdin) never appears in output; treat anything but 2 as stdout.
      if (length > 0) frames.push({ stream: type === 2 ? 'stderr' : 'stdout', data });
    }
    return frames;
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get pending(): number {
    return this.buffer.length;
  }
}

/** Encodes one frame (for tests and fakes). */
export function encodeFrame(stream: StdStream, data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const head = Buffer.alloc(8);
  head[0] = stream === 'stderr' ? 2 : 1;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Bytes in, `Frame` objects out; with `tty` the input is raw and all of it is stdout. */
export function demuxTransform(tty: boolean): Transform {
  const parser = new FrameParser();
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (tty) {
        this.push({ stream: 'stdout', data: chunk } satisfies Frame);
      } else {
        for (const f of parser.push(chunk)) this.push(f);
      }
      done();
    },
  });
}

export interface LogLine {
  stream: StdStream;
  /** The line without its trailing newline (and without the timestamp, when requested). */
  text: string;
  /** RFC 3339 timestamp from the engine, when `timestamps` was asked for. */
  timestamp?: string;
}

const timestampRe = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) /;

/** Splits each stream's frames into lines, keeping stdout and stderr apart. */
export class LineSplitter {
  private readonly partial: Record<StdStream, string> = { stdout: '', stderr: '' };
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  private readonly timestamps: boolean;

  constructor(timestamps = false) {
    this.timestamps = timestamps;
  }

  push(frame: Frame): LogLine[] {
    const text =
      this.partial[frame.stream] + this.decoders[frame.stream].decode(frame.data, { stream: true });
    const parts = text.split('\n');
    this.partial[frame.stream] = parts.pop() ?? '';
    return parts.map((p) => this.line(frame.stream, p.endsWith('\r') ? p.slice(0, -1) : p));
  }

  /** Whatever is left without a final newline. */
  flush(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream] + this.decoders[stream].decode();
      if (rest !== '') out.push(this.line(stream, rest));
      this.partial[stream] = '';
    }
    return out;
  }

  private line(stream: StdStream, raw: string): LogLine {
    if (!this.timestamps) return { stream, text: raw };
    const m = timestampRe.exec(raw);
    return m ? { stream, text: raw.slice(m[0].length), timestamp: m[1] } : { stream, text: raw };
  }
}

/** A readable of `LogLine` objects from a (multiplexed unless `tty`) byte stream. */
export function logLines(
  source: NodeJS.ReadableStream,
  options: { tty: boolean; timestamps: boolean },
): Readable {
  const parser = new FrameParser();
  const splitter = new LineSplitter(options.timestamps);
  const lines = new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const frames = options.tty
        ? [{ stream: 'stdout' as const, data: chunk }]
        : parser.push(chunk);
      for (const f of frames) for (const l of splitter.push(f)) this.push(l);
      done();
    },
    flush(done: TransformCallback) {
      for (const l of splitter.flush()) this.push(l);
      done();
    },
  });
  const input = source as Readable;
  input.on('error', (err) => lines.destroy(err));
  lines.on('close', () => {
    if (!input.destroyed) input.destroy();
  });
  input.pipe(lines);
  return lines;
}

/** Splits a byte stream of newline-delimited JSON into parsed values; skips blank lines. */
export class JsonLineParser {
  private partial = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Buffer): unknown[] {
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    return parts.filter((p) => p.trim() !== '').map((p) => JSON.parse(p) as unknown);
  }

  /** A final object without a trailing newline (the engine does not always send one). */
  flush(): unknown[] {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    return rest.trim() === '' ? [] : [JSON.parse(rest) as unknown];
  }
}

/** Async iteration over newline-delimited JSON values of a byte stream. */
export async function* jsonLines(source: NodeJS.ReadableStream): AsyncGenerator<unknown> {
  const parser = new JsonLineParser();
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    yield* parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  yield* parser.flush();
}

/** Collects a multiplexed stream into stdout/stderr strings, keeping at most `maxBytes` of each. */
export async function collectOutput(
  source: NodeJS.ReadableStream,
  options: { tty: boolean; maxBytes: number },
): Promise<{ stdout: string; stderr: string; truncated: boolean }> {
  const parser = new FrameParser();
  const out: Record<StdStream, Buffer[]> = { stdout: [], stderr: [] };
  const size: Record<StdStream, number> = { stdout: 0, stderr: 0 };
  let truncated = false;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const frames = options.tty ? [{ stream: 'stdout' as const, data: chunk }] : parser.push(chunk);
    for (const f of frames) {
      const room = options.maxBytes - size[f.stream];
      if (room <= 0) {
        truncated = true;
        continue;
      }
      const piece = f.data.length > room ? f.data.subarray(0, room) : f.data;
      if (piece.length < f.data.length) truncated = true;
      out[f.stream].push(piece);
      size[f.stream] += piece.length;
    }
  }
  return {
    stdout: Buffer.concat(out.stdout).toString('utf8'),
    stderr: Buffer.concat(out.stderr).toString('utf8'),
    truncated,
  };
}
