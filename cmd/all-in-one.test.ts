import { describe, expect, it } from 'vitest';
import { planRegistry } from './all-in-one.js';

describe('planRegistry', () => {
  it('runs the registry on 127.0.0.1:5000 by default when an agent runs, none without one', () => {
    expect(planRegistry(undefined, {}, true)).toEqual({
      kind: 'local',
      host: '127.0.0.1',
      port: 5000,
    });
    expect(planRegistry(undefined, {}, false)).toEqual({ kind: 'none' });
  });

  it('--no-registry runs none, whatever SLIPWAY_REGISTRY says', () => {
    expect(planRegistry(false, { SLIPWAY_REGISTRY: '127.0.0.1:5001' }, true)).toEqual({
      kind: 'none',
    });
  });

  it('runs it on a loopback address given by --registry or SLIPWAY_REGISTRY (port 0: any)', () => {
    expect(planRegistry('127.0.0.1:0', {}, true)).toEqual({
      kind: 'local',
      host: '127.0.0.1',
      port: 0,
    });
    expect(planRegistry(undefined, { SLIPWAY_REGISTRY: 'localhost:5002' }, true)).toEqual({
      kind: 'local',
      host: '127.0.0.1',
      port: 5002,
    });
    // The option wins over the environment.
    expect(planRegistry('127.0.0.2:5003', { SLIPWAY_REGISTRY: '127.0.0.1:1' }, true)).toEqual({
      kind: 'local',
      host: '127.0.0.2',
      port: 5003,
    });
  });

  it('only records a registry that runs elsewhere, or when no local engine is used', () => {
    expect(planRegistry('registry.example.com:5000', {}, true)).toEqual({
      kind: 'external',
      address: 'registry.example.com:5000',
    });
    expect(planRegistry('127.0.0.1:5000', {}, false)).toEqual({
      kind: 'external',
      address: '127.0.0.1:5000',
    });
  });

  it('refuses what is not HOST:PORT, and port 0 for a registry it does not run', () => {
    expect(() => planRegistry('http://127.0.0.1:5000', {}, true)).toThrow(
      '--registry: "http://127.0.0.1:5000" is not a HOST:PORT address (e.g. 127.0.0.1:5000, or 127.0.0.1:0 for any free port)',
    );
    expect(() => planRegistry('127.0.0.1', {}, true)).toThrow(/is not a HOST:PORT address/);
    expect(() => planRegistry('127.0.0.1:70000', {}, true)).toThrow(/is not a HOST:PORT/);
    expect(() => planRegistry('registry.example.com:0', {}, true)).toThrow(
      '--registry: port 0 (any free port) only works for a registry that up runs itself',
    );
  });
});
