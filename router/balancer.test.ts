import { describe, expect, it } from 'vitest';
import type { Balance } from './annotations.js';
import { Balancer } from './balancer.js';
import type { Backend, Target } from './route-table.js';

function target(key: string, weight = 1): Target {
  const [ip = '', port = '0'] = key.split(':');
  return { key, ip, port: Number(port), service: 's', weight, cookie: `c-${key}` };
}

function backend(targets: Target[], balance: Balance = 'roundrobin'): Backend {
  return {
    key: 'ns/r',
    namespace: 'ns',
    name: 'r',
    host: 'h',
    path: '',
    targets,
    totalWeight: targets.reduce((n, t) => n + t.weight, 0),
    uniformWeights: targets.every((t) => t.weight === targets[0]?.weight),
    balance,
    cookieName: 'c',
    timeoutMs: undefined,
    tunnelTimeoutMs: undefined,
    tls: undefined,
    passthrough: false,
    signature: '',
  };
}

const none = { active: () => 0 };

function picks(b: Balancer, be: Backend, n: number, ip = '10.1.1.1'): string[] {
  return Array.from({ length: n }, () => b.pick(be, ip)?.key ?? '-');
}

describe('Balancer', () => {
  it('has nothing to pick from an empty backend', () => {
    expect(new Balancer(none).pick(backend([]), '1.1.1.1')).toBeUndefined();
  });

  it('round robin rotates through equal targets', () => {
    const be = backend([target('a:1'), target('b:1'), target('c:1')]);
    expect(picks(new Balancer(none), be, 6)).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'b:1', 'c:1']);
  });

  it('weighted round robin follows the weights smoothly', () => {
    const be = backend([target('a:1', 3), target('b:1', 1)]);
    const seq = picks(new Balancer(none), be, 8);
    expect(seq.filter((k) => k === 'a:1')).toHaveLength(6);
    expect(seq.filter((k) => k === 'b:1')).toHaveLength(2);
    // Smooth: never three a's in a row... at most 3 then a b.
    expect(seq.join(',')).not.toContain('a:1,a:1,a:1,a:1');
  });

  it('keeps its position across identical tables (same target list)', () => {
    const targets = [target('a:1'), target('b:1')];
    const bal = new Balancer(none);
    expect(bal.pick(backend(targets), '1')?.key).toBe('a:1');
    expect(bal.pick(backend(targets), '1')?.key).toBe('b:1');
  });

  it('leastconn prefers the target with the fewest requests in flight per weight', () => {
    const active: Record<string, number> = { 'a:1': 5, 'b:1': 1, 'c:1': 3 };
    const bal = new Balancer({ active: (k) => active[k] ?? 0 });
    const be = backend([target('a:1'), target('b:1'), target('c:1')], 'leastconn');
    expect(bal.pick(be, 'x')?.key).toBe('b:1');
    active['b:1'] = 9;
    expect(bal.pick(be, 'x')?.key).toBe('c:1');
    const weighted = backend([target('a:1', 10), target('c:1', 1)], 'leastconn');
    expect(bal.pick(weighted, 'x')?.key).toBe('a:1');
  });

  it('source hashing keeps a client on one target and spreads clients', () => {
    const be = backend([target('a:1'), target('b:1'), target('c:1')], 'source');
    const bal = new Balancer(none);
    for (const ip of ['10.0.0.1', '10.0.0.2', '192.168.1.7']) {
      const first = bal.pick(be, ip)?.key;
      expect(picks(bal, be, 5, ip).every((k) => k === first)).toBe(true);
    }
    const spread = new Set(Array.from({ length: 50 }, (_, i) => bal.pick(be, `10.0.${i}.1`)?.key));
    expect(spread.size).toBe(3);
  });

  it('random draws by weight', () => {
    const be = backend([target('a:1', 1), target('b:1', 3)], 'random');
    const values = [0.1, 0.3, 0.5, 0.9];
    let i = 0;
    const bal = new Balancer(none, () => values[i++]!);
    expect(picks(bal, be, 4)).toEqual(['a:1', 'b:1', 'b:1', 'b:1']);
  });

  it('honours a sticky value for a live target and ignores a stale one', () => {
    const be = backend([target('a:1'), target('b:1')]);
    const bal = new Balancer(none);
    expect(bal.pick(be, 'x', 'c-b:1')?.key).toBe('b:1');
    expect(bal.pick(be, 'x', 'c-b:1')?.key).toBe('b:1');
    expect(bal.pick(be, 'x', 'c-gone:1')?.key).toBe('a:1');
  });

  it('skips excluded targets (retries)', () => {
    const be = backend([target('a:1'), target('b:1')]);
    const bal = new Balancer(none);
    expect(bal.pick(be, 'x', undefined, new Set(['a:1']))?.key).toBe('b:1');
    expect(bal.pick(be, 'x', undefined, new Set(['a:1', 'b:1']))).toBeUndefined();
  });
});
