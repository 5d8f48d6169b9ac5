import { describe, expect, it } from 'vitest';
import { readLines, readWatchStream } from './watch-stream.js';

async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('readLines', () => {
  it('splits across chunk boundaries, including inside multi-byte characters', async () => {
    const bytes = new TextEncoder().encode('é\n');
    const lines = await collect(
      readLines(chunks('ab', 'c\nd', bytes.slice(0, 1), bytes.slice(1), 'last')),
    );
    expect(lines).toEqual(['abc', 'dé', 'last']);
  });
});

describe('readWatchStream', () => {
  it('parses events and skips keep-alive blank lines', async () => {
    const a = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } });
    const b = JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'b' } } });
    const events = await collect(
      readWatchStream(chunks(`${a}\n\n`, b.slice(0, 5), `${b.slice(5)}\n`)),
    );
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
  });

  it('rejects lines that are not watch events', async () => {
    await expect(
      collect(readWatchStream(chunks('{"type":"NOPE","object":{}}\n'))),
    ).rejects.toMatchObject({
      reason: 'InternalError',
    });
    await expect(collect(readWatchStream(chunks('not json\n')))).rejects.toThrow(/not JSON/);
  });
});
