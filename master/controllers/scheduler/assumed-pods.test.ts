import { describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/api/index.js';
import { FakeClock } from '../../../src/reconcile/testing/fake-clock.js';
import { AssumedPods } from './assumed-pods.js';

function pod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'ns', name, uid: `uid-${name}` },
    spec: { containers: [{ name: 'app', image: 'img' }] },
  };
}

describe('AssumedPods', () => {
  it('counts assumed pods on their node until confirmed, forgotten or expired', () => {
    const clock = new FakeClock();
    const assumed = new AssumedPods(clock, 1000);
    assumed.assume(pod('a'), 'n1');
    assumed.assume(pod('b'), 'n1');
    assumed.assume(pod('c'), 'n2');
    expect(assumed.has(pod('a'))).toBe(true);
    expect(assumed.onNode('n1', new Set()).map((p) => [p.metadata.name, p.spec.nodeName])).toEqual([
      ['a', 'n1'],
      ['b', 'n1'],
    ]);
    // Pods the caller already counts from its cache are not counted twice.
    expect(assumed.onNode('n1', new Set(['uid-a'])).map((p) => p.metadata.name)).toEqual(['b']);

    assumed.confirm(pod('a'));
    assumed.forget(pod('c'));
    expect(assumed.onNode('n1', new Set()).map((p) => p.metadata.name)).toEqual(['b']);
    expect(assumed.onNode('n2', new Set())).toEqual([]);

    clock.advance(1001);
    expect(assumed.has(pod('b'))).toBe(false);
    expect(assumed.onNode('n1', new Set())).toEqual([]);
    expect(assumed.size).toBe(0);
  });
});
