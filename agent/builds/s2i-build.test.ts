import { describe, expect, it } from 'vitest';
import type { BuildEvents } from './context.js';
import { HeldEvents } from './s2i-build.js';

function recorder(): BuildEvents & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    normal: (reason, message) => seen.push(`normal ${reason}: ${message}`),
    warning: (reason, message) => seen.push(`warning ${reason}: ${message}`),
  };
}

describe('held events', () => {
  it('are recorded only when released, in order, and pass through afterwards', () => {
    const held = new HeldEvents();
    const target = recorder();
    held.normal('Pulling', 'Pulling image "b"');
    held.warning('Failed', 'Failed to pull image "b"');
    expect(target.seen).toEqual([]);
    held.release(target);
    held.normal('Pulled', 'later');
    expect(target.seen).toEqual([
      'normal Pulling: Pulling image "b"',
      'warning Failed: Failed to pull image "b"',
      'normal Pulled: later',
    ]);
  });

  it('are dropped, with everything after, when discarded', () => {
    const held = new HeldEvents();
    const target = recorder();
    held.normal('Pulling', 'Pulling image "b"');
    held.discard();
    held.release(target);
    held.normal('Pulled', 'later');
    expect(target.seen).toEqual([]);
  });
});
