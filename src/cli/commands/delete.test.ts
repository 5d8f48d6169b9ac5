import { describe, expect, it } from 'vitest';
import { IMMEDIATE_DELETION_WARNING, resolveGracePeriod } from './delete.js';

function resolve(opts: { gracePeriod?: string; force?: boolean; now?: boolean }): {
  grace: number;
  warnings: string[];
} {
  const warnings: string[] = [];
  const grace = resolveGracePeriod({ gracePeriod: '-1', ...opts }, (w) => warnings.push(w));
  return { grace, warnings };
}

describe('resolveGracePeriod (kubectl delete rules)', () => {
  it("leaves the object's own grace period by default and takes an explicit one", () => {
    expect(resolve({})).toEqual({ grace: -1, warnings: [] });
    expect(resolve({ gracePeriod: '10' })).toEqual({ grace: 10, warnings: [] });
    expect(resolve({ now: true })).toEqual({ grace: 1, warnings: [] });
  });

  it('turns --grace-period=0 into 1 unless --force, which alone means 0 and warns', () => {
    expect(resolve({ gracePeriod: '0' })).toEqual({ grace: 1, warnings: [] });
    expect(resolve({ force: true })).toEqual({ grace: 0, warnings: [IMMEDIATE_DELETION_WARNING] });
    expect(resolve({ force: true, gracePeriod: '0' }).grace).toBe(0);
    expect(resolve({ force: true, gracePeriod: '5' })).toEqual({
      grace: 5,
      warnings: ['Warning: --force is ignored because --grace-period is not 0.'],
    });
  });

  it('refuses what kubectl refuses', () => {
    expect(() => resolve({ gracePeriod: 'soon' })).toThrow('invalid --grace-period "soon"');
    expect(() => resolve({ gracePeriod: '-2' })).toThrow('invalid --grace-period "-2"');
    expect(() => resolve({ now: true, gracePeriod: '3' })).toThrow(
      '--now and --grace-period cannot be specified together',
    );
  });
});
