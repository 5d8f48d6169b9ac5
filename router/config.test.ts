import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/util/duration.js';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  const base = { server: 'http://127.0.0.1:8443/', token: 't' };

  it('fills the OpenShift router defaults', () => {
    const c = loadConfig({}, base);
    expect(c).toMatchObject({
      server: 'http://127.0.0.1:8443',
      routerName: 'default',
      listen: { host: '0.0.0.0', port: 80 },
      listenHttps: undefined,
      statsListen: { host: '127.0.0.1', port: 1936 },
      requireAdmission: true,
      allowLoopbackEndpoints: false,
      defaultBalance: 'roundrobin',
      timeouts: { connectMs: 5000, serverMs: 30_000, clientMs: 30_000, tunnelMs: 3_600_000 },
      debounceMs: 5,
    });
  });

  it('reads the environment, and options win', () => {
    const env = {
      SLIPWAY_ROUTER_SERVER: 'http://master:8443',
      SLIPWAY_ROUTER_TOKEN: 'from-env',
      SLIPWAY_ROUTER_LISTEN_HTTPS: '0.0.0.0:443',
      SLIPWAY_ROUTER_REQUIRE_ADMISSION: 'false',
      SLIPWAY_ROUTER_SERVER_TIMEOUT: '2m',
    };
    const c = loadConfig(env, { token: 'from-option', routerName: 'internal' });
    expect(c.server).toBe('http://master:8443');
    expect(c.token).toBe('from-option');
    expect(c.routerName).toBe('internal');
    expect(c.listenHttps).toEqual({ host: '0.0.0.0', port: 443 });
    expect(c.requireAdmission).toBe(false);
    expect(c.timeouts.serverMs).toBe(120_000);
  });

  it('names every invalid setting', () => {
    expect(() =>
      loadConfig(
        {},
        { server: 'ftp://x', listen: 'nowhere', routerName: 'Bad_Name', defaultBalance: 'fast' },
      ),
    ).toThrow(
      /server: must be an http\(s\) URL.*token: Required value.*routerName:.*listen:.*defaultBalance:/,
    );
    expect(() => loadConfig({}, { ...base, requireAdmission: 'maybe' })).toThrow(
      /requireAdmission: "maybe"/,
    );
  });

  it('runs one worker per CPU by default, and one where the kernel picks the port', () => {
    expect(loadConfig({}, base).workers).toBe(availableParallelism());
    expect(loadConfig({}, { ...base, workers: 'auto' }).workers).toBe(availableParallelism());
    expect(loadConfig({}, { ...base, listen: '127.0.0.1:0' }).workers).toBe(1);
    expect(loadConfig({}, { ...base, listenHttps: '127.0.0.1:0' }).workers).toBe(1);
    expect(loadConfig({ SLIPWAY_ROUTER_WORKERS: '3' }, base).workers).toBe(3);
    expect(() => loadConfig({}, { ...base, listen: '127.0.0.1:0', workers: 2 })).toThrow(
      /listen: several workers share a port, so it must be fixed/,
    );
    expect(() => loadConfig({}, { ...base, workers: 'many' })).toThrow(/workers:/);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('3')).toBe(3000);
    expect(() => parseDuration('soon')).toThrow();
  });
});
