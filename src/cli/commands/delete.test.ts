import { describe, expect, it } from 'vitest';
import { IMMEDIATE_DELETION_WARNING, resolveCascade, resolveGracePeriod } from './delete.js';

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

describe('resolveCascade (kubectl --cascade)', () => {
  it('takes background, orphan and foreground, and the old booleans with a warning', () => {
    const warnings: string[] = [];
    const warn = (w: string) => warnings.push(w);
    expect(resolveCascade('background', warn)).toBe('background');
    expect(resolveCascade('orphan', warn)).toBe('orphan');
    expect(resolveCascade('foreground', warn)).toBe('foreground');
    expect(warnings).toEqual([]);
    expect(resolveCascade(true, warn)).toBe('background');
    expect(resolveCascade('false', warn)).toBe('orphan');
    expect(warnings).toEqual([
      'warning: --cascade=true is deprecated (boolean value) and can be replaced with --cascade=background.',
      'warning: --cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.',
    ]);
    expect(() => resolveCascade('sometimes', warn)).toThrow(
      'invalid cascade value (sometimes). Must be "background", "foreground", or "orphan".',
    );
  });
});
