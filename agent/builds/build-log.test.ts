import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine } from '../docker/streams.js';
import {
  BuildLogWriter,
  LOG_TAIL_LINES,
  LOG_TAIL_MAX_BYTES,
  nanoTimestamp,
  readBuildLog,
  Redactor,
} from './build-log.js';

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

async function logFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'build-log-'));
  dirs.push(dir);
  return join(dir, 'build.log');
}

async function lines(stream: NodeJS.ReadableStream): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of stream) out.push(l as unknown as LogLine);
  return out;
}

describe('Redactor', () => {
  it('hides secret values and URL credentials', () => {
    const r = new Redactor();
    r.add('hunter22', 'abc'); // too short values are not redacted (they would hide words)
    expect(r.redact('password hunter22 in https://dev:hunter22@git.example.com/x and abc')).toBe(
      'password ***** in https://redacted@git.example.com/x and abc',
    );
  });
});

describe('the build log', () => {
  it('keeps its last lines, redacted and bounded, for a failed build to report', async () => {
    const r = new Redactor();
    r.add('s3cret-value');
    const log = new BuildLogWriter(await logFile(), r);
    for (let i = 1; i <= LOG_TAIL_LINES + 5; i += 1) log.line(`line ${i}`);
    log.output('npm ERR! 404 s3cret-value\npartial');
    log.flush();
    const tail = log.tail().split('\n');
    expect(tail).toHaveLength(LOG_TAIL_LINES);
    expect(tail.slice(-3)).toEqual([`line ${LOG_TAIL_LINES + 5}`, 'npm ERR! 404 *****', 'partial']);
    log.line('x'.repeat(LOG_TAIL_MAX_BYTES + 10));
    expect(log.tail()).toBe('x'.repeat(LOG_TAIL_MAX_BYTES));
    log.line('short');
    expect(log.tail()).toBe('short');
    await log.close();
  });

  it('writes timestamped, redacted lines and reads them back with tail and timestamps', async () => {
    const path = await logFile();
    const r = new Redactor();
    r.add('s3cret-value');
    const w = new BuildLogWriter(path, r);
    w.line('first');
    w.output('partial ');
    w.output('line with s3cret-value\nsecond\r\nthird');
    w.line('a\nb');
    await w.close();
    const all = await lines(readBuildLog(path));
    expect(all.map((l) => l.text)).toEqual([
      'first',
      'partial line with *****',
      'second',
      'a',
      'b',
      'third',
    ]);
    const tail = await lines(readBuildLog(path, { tail: 2, timestamps: true }));
    expect(tail.map((l) => l.text)).toEqual(['b', 'third']);
    expect(tail[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('filters by sinceSeconds', async () => {
    const path = await logFile();
    const now = Date.parse('2024-05-06T10:00:00Z');
    await appendFile(
      path,
      `${nanoTimestamp(new Date(now - 60_000))} old\n${nanoTimestamp(new Date(now - 5_000))} new\n`,
    );
    const recent = await lines(readBuildLog(path, { sinceSeconds: 10, now: () => now }));
    expect(recent.map((l) => l.text)).toEqual(['new']);
  });

  it('follows new lines until the build is done', async () => {
    const path = await logFile();
    const w = new BuildLogWriter(path, new Redactor());
    w.line('one');
    let done = false;
    const reader = readBuildLog(path, { follow: true, pollMs: 10, isDone: async () => done });
    const seen: string[] = [];
    const finished = (async () => {
      for await (const l of reader) seen.push((l as LogLine).text);
    })();
    await new Promise((r) => setTimeout(r, 50));
    w.line('two');
    await w.close();
    done = true;
    await finished;
    expect(seen).toEqual(['one', 'two']);
  });

  it('stops following when the signal aborts', async () => {
    const path = await logFile();
    const w = new BuildLogWriter(path, new Redactor());
    w.line('one');
    await w.close();
    const controller = new AbortController();
    const reader = readBuildLog(path, {
      follow: true,
      pollMs: 1000,
      isDone: async () => false,
      signal: controller.signal,
    });
    const finished = lines(reader);
    setTimeout(() => controller.abort(), 20);
    expect((await finished).map((l) => l.text)).toEqual(['one']);
  });

  it('drops lines beyond its size limit, saying so once', async () => {
    const path = await logFile();
    const w = new BuildLogWriter(path, new Redactor(), 200);
    for (let i = 0; i < 20; i++) w.line(`line ${i}`);
    await w.close();
    const texts = (await lines(readBuildLog(path))).map((l) => l.text);
    expect(texts.length).toBeLessThan(10);
    expect(texts.at(-1)).toContain('size limit');
  });
});
