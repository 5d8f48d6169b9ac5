import { describe, expect, it } from 'vitest';
import {
  quantityMillis as quantityMilliValue,
  quantityUnits as quantityValue,
} from './quantity.js';

describe('quantities as the scheduler reads them', () => {
  it.each([
    ['1', 1000],
    ['500m', 500],
    ['0.5', 500],
    ['.25', 250],
    ['2.', 2000],
    ['1.0001', 1001],
    ['100u', 1],
    ['1e-3', 1],
    ['2k', 2_000_000],
    [1, 1000],
    [0.1, 100],
    ['+3', 3000],
  ])('cpu %s is %i millicores', (q, milli) => {
    expect(quantityMilliValue(q)).toBe(milli);
  });

  it.each([
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1e3', 1000],
    ['1E6', 1e6],
    ['100', 100],
    ['0.5', 1],
    ['1500m', 2],
    ['110', 110],
    ['2Ki', 2048],
  ])('%s is %i units', (q, value) => {
    expect(quantityValue(q)).toBe(value);
  });

  it.each(['', 'abc', '1.2.3', '1Xi', 'Mi', '1 Mi', '--1', '1e'])('rejects %j', (q) => {
    expect(quantityValue(q)).toBeUndefined();
  });
});
