import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  collectOutput,
  encodeFrame,
  FrameParser,
  jsonLines,
  LineSplitter,
  logLines,
  type LogLine,
} from './streams.js';

async function all<T>(it: AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v as T);
  return out;
}

describe('FrameParser', () => {
  it('demultiplexes frames split across chunks at any byte', () => {
    const bytes = Buffer.concat([
      encodeFrame('stdout', 'hello\n'),
      encodeFrame('stderr', 'oops\n'),
      encodeFrame('stdout', 'x'),
    ]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new FrameParser();
      const frames = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
      expect(frames.map((f) => [f.stream, f.data.toString()])).toEqual([
        ['stdout', 'hello\n'],
        ['stderr', 'oops\n'],
        ['stdout', 'x'],
      ]);
      expect(p.pending).toBe(0);
    }
  });
});

describe('LineSplitter', () => {
  it('keeps partial lines per stream and splits multi-byte characters safely', () => {
    const s = new LineSplitter();
    const euro = Buffer.from('€');
    expect(
      s.push({ stream: 'stdout', data: Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]) }),
    ).toEqual([]);
    expect(s.push({ stream: 'stderr', data: Buffer.from('err\n') })).toEqual([
      { stream: 'stderr', text: 'err' },
    ]);
    expect(
      s.push({ stream: 'stdout', data: Buffer.concat([euro.subarray(1), Buffer.from('b\r\nc')]) }),
    ).toEqual([{ stream: 'stdout', text: 'a€b' }]);
    expect(s.flush()).toEqual([{ stream: 'stdout', text: 'c' }]);
  });

  it('splits off engine timestamps', () => {
    const s = new LineSplitter(true);
    expect(
      s.push({
        stream: 'stdout',
        data: Buffer.from('2026-11-22T04:35:55.123456789Z hello world\nno stamp\n'),
      }),
    ).toEqual([
      { stream: 'stdout', text: 'hello world', timestamp: '2026-11-22T04:35:55.123456789Z' },
      { stream: 'stdout', text: 'no stamp' },
    ]);
  });
});

describe('logLines', () => {
  it('turns a multiplexed byte stream into LogLine objects', async () => {
    const src = Readable.from([
      encodeFrame('stdout', 'one\ntw'),
      encodeFrame('stderr', 'e1\n'),
      encodeFrame('stdout', 'o\nlast'),
    ]);
    expect(await all<LogLine>(logLines(src, { tty: false, timestamps: false }))).toEqual([
      { stream: 'stdout', text: 'one' },
      { stream: 'stderr', text: 'e1' },
      { stream: 'stdout', text: 'two' },
      { stream: 'stdout', text: 'last' },
    ]);
  });

  it('treats TTY output as raw stdout', async () => {
    const src = Readable.from([Buffer.from('a\nb\n')]);
    expect(await all<LogLine>(logLines(src, { tty: true, timestamps: false }))).toEqual([
      { stream: 'stdout', text: 'a' },
      { stream: 'stdout', text: 'b' },
    ]);
  });

  it('destroys the source when the consumer stops early', async () => {
    const src = new Readable({ read() {} });
    const lines = logLines(src, { tty: true, timestamps: false });
    src.push('a\n');
    for await (const _ of lines) break;
    await new Promise((r) => setImmediate(r));
    expect(src.destroyed).toBe(true);
  });
});

describe('jsonLines and collectOutput', () => {
  it('parses newline-delimited JSON across chunk boundaries, with or without a final newline', async () => {
    const src = Readable.from([Buffer.from('{"a":1}\n{"b"'), Buffer.from(':2}\n\n{"c":3}')]);
    expect(await all(jsonLines(src))).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('collects output up to a limit per stream', async () => {
    const src = Readable.from([
      encodeFrame('stdout', '12345'),
      encodeFrame('stderr', 'ab'),
      encodeFrame('stdout', '678'),
    ]);
    expect(await collectOutput(src, { tty: false, maxBytes: 6 })).toEqual({
      stdout: '123456',
      stderr: 'ab',
      truncated: true,
    });
  });
});
