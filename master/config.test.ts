import { describe, expect, it } from 'vitest';
import { isLoopback, loadConfig, parseListen } from './config.js';

describe('loadConfig', () => {
  it('has defaults under HOME', () => {
    const c = loadConfig({ HOME: '/home/u' });
    expect(c).toEqual({
      dataDir: '/home/u/.slipway/data',
      listen: { host: '127.0.0.1', port: 8443 },
      storeUrl: 'sqlite:///home/u/.slipway/data/state.db',
      compactionIntervalSeconds: 300,
      logLevel: 'info',
      shutdownTimeoutSeconds: 10,
      controllers: true,
      nodeMonitorGracePeriodSeconds: 40,
      podEvictionTimeoutSeconds: 300,
      registry: undefined,
      allowedRegistriesForImport: undefined,
      scheduledImageImportIntervalSeconds: 900,
      allowFileGitSources: false,
      binaryBuildMaxBytes: 50 * 1024 * 1024,
      routeSubdomain: 'apps.localhost',
      serviceCidr: '172.30.0.0/16',
      serviceNodePortRange: '30000-32767',
    });
  });

  it('reads the registries imports may read', () => {
    expect(
      loadConfig({
        SLIPWAY_DATA_DIR: '/d',
        SLIPWAY_ALLOWED_REGISTRIES_FOR_IMPORT: 'docker.io, *.example.com,127.0.0.1:5000',
      }).allowedRegistriesForImport,
    ).toEqual(['docker.io', '*.example.com', '127.0.0.1:5000']);
    expect(() =>
      loadConfig({ SLIPWAY_DATA_DIR: '/d' }, { allowedRegistriesForImport: 'docker.io,https://x' }),
    ).toThrow(/allowedRegistriesForImport: "https:\/\/x" is not HOST\[:PORT\] or \*\.DOMAIN/);
  });

  it('reads the node port range and refuses one that is not FIRST-LAST', () => {
    expect(
      loadConfig({ SLIPWAY_DATA_DIR: '/d', SLIPWAY_SERVICE_NODE_PORT_RANGE: '31000-31999' })
        .serviceNodePortRange,
    ).toBe('31000-31999');
    for (const bad of ['32767-30000', '0-100', '30000', '30000-70000']) {
      expect(() => loadConfig({ SLIPWAY_DATA_DIR: '/d' }, { serviceNodePortRange: bad })).toThrow(
        /serviceNodePortRange: must be FIRST-LAST/,
      );
    }
  });

  it('reads the service CIDR and refuses one that is not an IPv4 network', () => {
    expect(
      loadConfig({ SLIPWAY_DATA_DIR: '/d', SLIPWAY_SERVICE_CIDR: '10.96.0.0/12' }).serviceCidr,
    ).toBe('10.96.0.0/12');
    expect(() => loadConfig({ SLIPWAY_DATA_DIR: '/d' }, { serviceCidr: '10.96.0.1/12' })).toThrow(
      /serviceCidr: must be a network address/,
    );
  });

  it('reads the build settings from the environment and options', () => {
    const env = {
      SLIPWAY_DATA_DIR: '/d',
      SLIPWAY_REGISTRY: '127.0.0.1:5000',
      SLIPWAY_ALLOW_FILE_GIT_SOURCES: 'true',
      SLIPWAY_BINARY_BUILD_MAX_BYTES: '1024',
    };
    const c = loadConfig(env);
    expect(c.registry).toBe('127.0.0.1:5000');
    expect(c.allowFileGitSources).toBe(true);
    expect(c.binaryBuildMaxBytes).toBe(1024);
    const o = loadConfig(env, { registry: 'registry.local', allowFileGitSources: false });
    expect(o.registry).toBe('registry.local');
    expect(o.allowFileGitSources).toBe(false);
    expect(() => loadConfig({ ...env, SLIPWAY_REGISTRY: 'http://127.0.0.1:5000' })).toThrow(
      /registry: must be HOST\[:PORT\]/,
    );
    expect(() => loadConfig({ ...env, SLIPWAY_BINARY_BUILD_MAX_BYTES: '0' })).toThrow(
      /binaryBuildMaxBytes/,
    );
  });

  it('reads the controller settings from the environment and options', () => {
    const env = {
      SLIPWAY_CONTROLLERS: 'false',
      SLIPWAY_NODE_MONITOR_GRACE_PERIOD_SECONDS: '3',
      SLIPWAY_POD_EVICTION_TIMEOUT_SECONDS: '5',
    };
    const c = loadConfig({ ...env, SLIPWAY_DATA_DIR: '/d' });
    expect(c.controllers).toBe(false);
    expect(c.nodeMonitorGracePeriodSeconds).toBe(3);
    expect(c.podEvictionTimeoutSeconds).toBe(5);
    const o = loadConfig(env, {
      dataDir: '/d',
      controllers: true,
      nodeMonitorGracePeriodSeconds: 1,
      podEvictionTimeoutSeconds: 0,
    });
    expect([o.controllers, o.nodeMonitorGracePeriodSeconds, o.podEvictionTimeoutSeconds]).toEqual([
      true,
      1,
      0,
    ]);
    expect(loadConfig({ SLIPWAY_CONTROLLERS: '1' }, { dataDir: '/d' }).controllers).toBe(true);
    expect(() => loadConfig({ SLIPWAY_CONTROLLERS: 'maybe' }, { dataDir: '/d' })).toThrow(
      /controllers: must be true or false/,
    );
    expect(() => loadConfig({}, { dataDir: '/d', nodeMonitorGracePeriodSeconds: 0 })).toThrow(
      /nodeMonitorGracePeriodSeconds/,
    );
  });

  it('reads the environment, and options win over it', () => {
    const env = {
      SLIPWAY_DATA_DIR: '/srv/a',
      SLIPWAY_LISTEN: '[::1]:9000',
      SLIPWAY_COMPACTION_INTERVAL_SECONDS: '60',
      SLIPWAY_LOG_LEVEL: 'debug',
    };
    const fromEnv = loadConfig(env);
    expect(fromEnv.dataDir).toBe('/srv/a');
    expect(fromEnv.listen).toEqual({ host: '::1', port: 9000 });
    expect(fromEnv.compactionIntervalSeconds).toBe(60);
    expect(fromEnv.logLevel).toBe('debug');
    const c = loadConfig(env, {
      dataDir: '/srv/b',
      listen: '127.0.0.1:0',
      storeUrl: 'memory://',
      compactionIntervalSeconds: 0,
    });
    expect(c.dataDir).toBe('/srv/b');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.storeUrl).toBe('memory://');
    expect(c.compactionIntervalSeconds).toBe(0);
  });

  it('lists every invalid setting', () => {
    expect(() =>
      loadConfig(
        {},
        {
          dataDir: '/d',
          listen: 'nope',
          logLevel: 'loud',
          compactionIntervalSeconds: 'x',
          storeUrl: 'state.db',
        },
      ),
    ).toThrow(/listen: .*nope.*logLevel.*|listen/);
    try {
      loadConfig(
        {},
        {
          dataDir: '/d',
          listen: 'nope',
          logLevel: 'loud',
          compactionIntervalSeconds: -1,
          storeUrl: 'state.db',
        },
      );
    } catch (err) {
      const message = (err as Error).message;
      for (const field of ['listen', 'logLevel', 'compactionIntervalSeconds', 'storeUrl'])
        expect(message).toContain(field);
    }
    expect(() => loadConfig({})).toThrow(/dataDir/);
  });

  it('parses listen addresses', () => {
    expect(parseListen('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    expect(() => parseListen('1.2.3.4:70000')).toThrow();
    expect(() => parseListen('8443')).toThrow();
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
  });
});
