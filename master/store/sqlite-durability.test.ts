/**
 * kill -9 during writes: every acknowledged write is on disk afterwards, and every txn is
 * all-or-nothing. A child process writes as fast as it can and prints each acknowledged write;
 * the test kills it mid-stream, reopens the database and checks. Several rounds on one file,
 * so each round also starts from a database recovered after a kill.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite.js';
import type { StoreEvent } from './types.js';

const WRITER = fileURLToPath(new URL('./testdata/sqlite-writer.mjs', import.meta.url));
const ROUNDS = 3;
const ACKS_BEFORE_KILL = 300;

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'slipway-durability-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface WriterRun {
  lines: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the writer until it has acknowledged `acks` writes, then kill -9s it. */
async function runWriter(path: string, round: number, acks: number): Promise<WriterRun> {
  // process.execPath: the same Node that runs the tests (the project's pinned one).
  const child = spawn(process.execPath, [WRITER, path, String(round)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let pending = '';
  let stderr = '';
  let killed = false;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    // A line is acknowledged only once complete.
    pending = parts.pop() ?? '';
    lines.push(...parts);
    if (!killed && lines.length >= acks) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  const [, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { lines, signal, stderr };
}

async function allEvents(store: SqliteStore): Promise<StoreEvent[]> {
  const head = await store.currentRevision();
  const events: StoreEvent[] = [];
  if (head === 0) return events;
  const controller = new AbortController();
  for await (const ev of store.watch('', 0, controller.signal)) {
    events.push(ev);
    if (ev.revision >= head) break;
  }
  return events;
}

describe('sqlite store under kill -9', () => {
  it('keeps every acknowledged write and applies each txn whole or not at all', async () => {
    const path = join(tmp, 'state.db');
    const acked = { creates: new Map<string, number>(), txns: new Map<string, number>() };
    let lastAckedRevision = 0;

    for (let round = 1; round <= ROUNDS; round++) {
      // Shifting the kill by one ack per round lands it in a single create in one round and in
      // a txn in the next.
      const run = await runWriter(path, round, ACKS_BEFORE_KILL + round);
      expect(run.stderr).toBe('');
      expect(run.signal).toBe('SIGKILL');
      expect(run.lines.length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);
      expect(run.lines[0]).toMatch(/^ready \d+$/);
      for (const line of run.lines.slice(1)) {
        const [kind, id, rev] = line.split(' ');
        const revision = Number(rev);
        if (kind === 'create') acked.creates.set(id!, revision);
        else if (kind === 'txn') acked.txns.set(id!, revision);
        else throw new Error(`unexpected line from the writer: ${line}`);
        expect(revision).toBeGreaterThan(lastAckedRevision);
        lastAckedRevision = revision;
      }

      const store = new SqliteStore(path);
      try {
        expect(await store.currentRevision()).toBeGreaterThanOrEqual(lastAckedRevision);

        // Every acknowledged write is there, at the acknowledged revision.
        for (const [key, revision] of acked.creates) {
          expect(await store.get(key)).toEqual({
            key,
            value: `value ${key}`,
            createRevision: revision,
            modRevision: revision,
          });
        }
        for (const [id, revision] of acked.txns) {
          for (let i = 0; i < 3; i++) {
            const kv = await store.get(`t/${id}/${i}`);
            expect(kv?.modRevision).toBe(revision - 3 + i);
          }
        }

        // Every txn on disk, acknowledged or not, is complete: three keys and the counter move.
        const groups = new Map<string, number[]>();
        for (const kv of (await store.list('t/')).items) {
          const id = kv.key.slice(2, kv.key.lastIndexOf('/'));
          groups.set(id, [...(groups.get(id) ?? []), kv.modRevision]);
        }
        for (const [id, revisions] of groups) {
          expect(revisions, `txn ${id}`).toHaveLength(3);
        }
        for (const id of acked.txns.keys()) expect(groups.has(id)).toBe(true);
        const events = await allEvents(store);
        expect(events.map((ev) => ev.revision)).toEqual(
          Array.from({ length: events.length }, (_, i) => i + 1),
        );
        const counterMoves = events.filter((ev) => ev.kv.key === 'counter' && ev.type === 'update');
        expect(counterMoves.map((ev) => ev.kv.value).sort()).toEqual([...groups.keys()].sort());
        for (const move of counterMoves) {
          // The txn's three creates sit right before its counter update.
          const at = events.indexOf(move);
          expect(events.slice(at - 3, at).map((ev) => ev.kv.key)).toEqual([
            `t/${move.kv.value}/0`,
            `t/${move.kv.value}/1`,
            `t/${move.kv.value}/2`,
          ]);
        }
      } finally {
        await store.close();
      }
    }
    expect(acked.txns.size).toBeGreaterThan(ROUNDS * 100);
  }, 60_000);
});
