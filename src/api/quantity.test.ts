import { describe, expect, it } from 'vitest';
import {
  cpuMillis,
  cpuNanos,
  divideCeil,
  memoryBytes,
  parseQuantity,
  QuantityError,
  quantityToNumber,
} from './quantity.js';

describe('memoryBytes', () => {
  it.each([
    ['128Mi', 134_217_728],
    ['1Gi', 1_073_741_824],
    ['1Ki', 1024],
    ['1G', 1_000_000_000],
    ['500M', 500_000_000],
    ['1k', 1000],
    ['1.5Gi', 1_610_612_736],
    ['1e3', 1000],
    ['1E3', 1000],
    ['12e+2', 1200],
    ['1000', 1000],
    [1000, 1000],
    ['0', 0],
    ['+64Mi', 67_108_864],
  ])('%s -> %d bytes', (input, bytes) => {
    expect(memoryBytes(input)).toBe(bytes);
  });

  it('rounds fractional bytes up', () => {
    expect(memoryBytes('1500m')).toBe(2);
    expect(memoryBytes('0.5')).toBe(1);
  });

  it('refuses negative and malformed values', () => {
    expect(() => memoryBytes('-1Mi')).toThrow(QuantityError);
    for (const bad of [
      '',
      'Mi',
      '1MB',
      '1mi',
      '1 Gi x',
      'abc',
      '1.2.3',
      '.',
      '1e',
      '1e999',
      '0x10',
    ]) {
      expect(() => memoryBytes(bad), bad).toThrow(QuantityError);
    }
  });

  it('names the bad input in the message', () => {
    expect(() => memoryBytes('12XB')).toThrow(/"12XB"/);
  });
});

describe('cpuNanos', () => {
  it.each([
    ['500m', 500_000_000],
    ['1', 1_000_000_000],
    ['0.25', 250_000_000],
    ['0.1', 100_000_000],
    ['2', 2_000_000_000],
    ['100m', 100_000_000],
    ['1500m', 1_500_000_000],
    [0.5, 500_000_000],
    ['.5', 500_000_000],
    ['250000u', 250_000_000],
    ['1n', 1],
  ])('%s -> %d nano-CPUs', (input, nanos) => {
    expect(cpuNanos(input)).toBe(nanos);
  });

  it('is exact where floating point is not', () => {
    // 0.1 * 1e9 in floating point is 100000000.00000001, which would round up to ...001.
    expect(cpuNanos('0.1')).toBe(100_000_000);
    expect(cpuNanos('0.3')).toBe(300_000_000);
  });
});

describe('cpuMillis and divideCeil', () => {
  it('converts to millicores rounding up', () => {
    expect(cpuMillis('0.25')).toBe(250);
    expect(cpuMillis('1')).toBe(1000);
    expect(cpuMillis('1.0001')).toBe(1001);
  });

  it('divides like the downward API', () => {
    expect(divideCeil('128Mi', '1Mi')).toBe(128);
    expect(divideCeil('129M', '1Mi')).toBe(124);
    expect(divideCeil('500m', '1')).toBe(1);
    expect(divideCeil('500m', '1m')).toBe(500);
    expect(() => divideCeil('1', '0')).toThrow(QuantityError);
  });
});

describe('parseQuantity', () => {
  it('keeps exact fractions', () => {
    expect(parseQuantity('1.5')).toEqual({ num: 15n, den: 10n });
    expect(quantityToNumber(parseQuantity('-2.5k'))).toBe(-2500);
    expect(quantityToNumber(parseQuantity('1e-3'))).toBe(0.001);
  });
});
