import { describe, expect, it } from 'vitest';
import { HELD_OUTPUT_MAX_CHARS, HeldOutput, type OutputTarget } from './held-output.js';

/** A build's log (complete lines, as the writer keeps them) and events, recorded. */
function recorder(): OutputTarget & { lines: string[]; seen: string[] } {
  const lines: string[] = [];
  const seen: string[] = [];
  let partial = '';
  return {
    lines,
    seen,
    log: {
      line: (text) => lines.push(text),
      output: (chunk) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
      },
      flush: () => {
        if (partial !== '') lines.push(partial);
        partial = '';
      },
    },
    events: {
      normal: (reason, message) => seen.push(`normal ${reason}: ${message}`),
      warning: (reason, message) => seen.push(`warning ${reason}: ${message}`),
    },
  };
}

describe('held log lines', () => {
  it('writes nothing until released, then what it held in order and what comes after', () => {
    const held = new HeldOutput();
    const target = recorder();
    held.log.line('first');
    held.log.output('out');
    held.log.output('put\npart');
    held.log.flush();
    expect(target.lines).toEqual([]);
    held.release(target);
    expect(target.lines).toEqual(['first', 'output', 'part']);
    held.log.line('after');
    expect(target.lines).toEqual(['first', 'output', 'part', 'after']);
  });

  it('drops what it held, and everything after, when discarded', () => {
    const held = new HeldOutput();
    const target = recorder();
    held.log.line('speculative');
    held.discard();
    held.log.line('later');
    held.release(target);
    expect(target.lines).toEqual([]);
  });

  it('holds at most its limit and says how much it dropped', () => {
    const held = new HeldOutput();
    const target = recorder();
    held.log.line('x'.repeat(HELD_OUTPUT_MAX_CHARS - 10));
    held.log.line('y'.repeat(20));
    held.log.line('z'.repeat(5));
    held.release(target);
    held.log.line('released');
    expect(target.lines).toHaveLength(3);
    expect(target.lines[1]).toBe('(25 characters of output were dropped here)');
    expect(target.lines[2]).toBe('released');
  });
});

describe('held events', () => {
  it('are recorded only when released, in order, and pass through afterwards', () => {
    const held = new HeldOutput();
    const target = recorder();
    held.events.normal('Pulling', 'Pulling image "b"');
    held.events.warning('Failed', 'Failed to pull image "b"');
    expect(target.seen).toEqual([]);
    held.release(target);
    held.events.normal('Pulled', 'later');
    expect(target.seen).toEqual([
      'normal Pulling: Pulling image "b"',
      'warning Failed: Failed to pull image "b"',
      'normal Pulled: later',
    ]);
  });

  it('are dropped, with everything after, when discarded', () => {
    const held = new HeldOutput();
    const target = recorder();
    held.events.normal('Pulling', 'Pulling image "b"');
    held.discard();
    held.release(target);
    held.events.normal('Pulled', 'later');
    expect(target.seen).toEqual([]);
  });
});
