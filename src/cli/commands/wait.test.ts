import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../../api/index.js';
import { meets, parseFor, parseTimeout } from './wait.js';

const pod = (status: unknown): ApiObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  status,
});

describe('wait --for', () => {
  it('reads conditions, delete and jsonpath as kubectl does', () => {
    expect(parseFor('condition=Ready')).toEqual({
      kind: 'condition',
      type: 'Ready',
      status: 'True',
    });
    expect(parseFor('condition=Ready=false')).toEqual({
      kind: 'condition',
      type: 'Ready',
      status: 'False',
    });
    expect(parseFor('delete')).toEqual({ kind: 'delete' });
    expect(parseFor("jsonpath='{.status.containerStatuses[0].ready}'=true")).toEqual({
      kind: 'jsonpath',
      path: ['status', 'containerStatuses', 0, 'ready'],
      value: 'true',
    });
    expect(parseFor('jsonpath={.status.phase}')).toEqual({
      kind: 'jsonpath',
      path: ['status', 'phase'],
      value: undefined,
    });
    for (const bad of [
      'ready',
      'condition=',
      'jsonpath=status',
      'jsonpath={status}',
      'jsonpath={.a..b}',
    ]) {
      expect(() => parseFor(bad), bad).toThrow(/^--for /);
    }
  });

  it('matches conditions case-insensitively by type, and jsonpath values as text', () => {
    const p = pod({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ ready: true, restartCount: 0 }],
    });
    expect(meets(p, parseFor('condition=ready'))).toBe(true);
    expect(meets(p, parseFor('condition=Ready=False'))).toBe(false);
    expect(meets(p, parseFor('condition=Initialized'))).toBe(false);
    expect(meets(p, parseFor('jsonpath={.status.phase}=Running'))).toBe(true);
    expect(meets(p, parseFor('jsonpath={.status.containerStatuses[0].ready}=true'))).toBe(true);
    expect(meets(p, parseFor('jsonpath={.status.containerStatuses[0].restartCount}=0'))).toBe(true);
    expect(meets(p, parseFor('jsonpath={.status.podIP}'))).toBe(false);
    expect(meets(pod(undefined), parseFor('condition=Ready'))).toBe(false);
  });

  it('reads durations', () => {
    expect(parseTimeout('30s')).toBe(30_000);
    expect(parseTimeout('1h30m')).toBe(5_400_000);
    expect(parseTimeout('500ms')).toBe(500);
    expect(parseTimeout('45')).toBe(45_000);
    for (const bad of ['', 'soon', '10x', '5m later']) {
      expect(() => parseTimeout(bad), bad).toThrow(/^--timeout /);
    }
  });
});
