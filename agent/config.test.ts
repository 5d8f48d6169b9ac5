import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/util/duration.js';
import { loadConfig, parseLabels } from './config.js';

const required = { server: 'http://127.0.0.1:8443', token: 't0k3n' };

describe('loadConfig', () => {
  it('has kubelet-like defaults', () => {
    const c = loadConfig({}, required);
    expect(c).toMatchObject({
      server: 'http://127.0.0.1:8443',
      token: 't0k3n',
      nodeName: hostname().toLowerCase(),
      docker: 'unix:///var/run/docker.sock',
      heartbeatIntervalMs: 10_000,
      backoff: { baseMs: 10_000, capMs: 300_000, resetAfterMs: 600_000 },
      pidsLimit: 1024,
      gcIntervalMs: 60_000,
      logLevel: 'info',
      extraLabels: {},
      listen: { host: '0.0.0.0', port: 0 },
    });
  });

  it("collects images at the kubelet's thresholds, and reads them from the environment", () => {
    expect(loadConfig({}, required).imageGc).toEqual({
      highThresholdPercent: 85,
      lowThresholdPercent: 80,
      minimumAgeMs: 120_000,
    });
    const env = {
      SLIPWAY_AGENT_IMAGE_GC_HIGH_THRESHOLD: '90',
      SLIPWAY_AGENT_IMAGE_GC_LOW_THRESHOLD: '70',
      SLIPWAY_AGENT_IMAGE_MINIMUM_GC_AGE: '10m',
    };
    expect(loadConfig(env, required).imageGc).toEqual({
      highThresholdPercent: 90,
      lowThresholdPercent: 70,
      minimumAgeMs: 600_000,
    });
    expect(() => loadConfig({ SLIPWAY_AGENT_IMAGE_GC_LOW_THRESHOLD: '90' }, required)).toThrow(
      /imageGcLowThreshold: must not be more than imageGcHighThreshold \(85\)/,
    );
    expect(() => loadConfig({ SLIPWAY_AGENT_IMAGE_GC_HIGH_THRESHOLD: '101' }, required)).toThrow(
      /imageGcHighThreshold:/,
    );
  });

  it('takes the logs/exec server address from --listen or SLIPWAY_AGENT_LISTEN', () => {
    expect(loadConfig({ SLIPWAY_AGENT_LISTEN: '0.0.0.0:10250' }, required).listen).toEqual({
      host: '0.0.0.0',
      port: 10250,
    });
    expect(loadConfig({}, { ...required, listen: '[::1]:0' }).listen).toEqual({
      host: '::1',
      port: 0,
    });
    expect(() => loadConfig({}, { ...required, listen: 'nowhere' })).toThrow(
      /listen: "nowhere" is not a HOST:PORT address/,
    );
  });

  it('reads the environment, and options win over it', () => {
    const env = {
      SLIPWAY_AGENT_SERVER: 'http://master:8443/',
      SLIPWAY_AGENT_TOKEN: 'from-env',
      SLIPWAY_AGENT_NODE_NAME: 'node-a',
      DOCKER_HOST: 'tcp://10.0.0.5:2375',
      SLIPWAY_AGENT_BACKOFF_BASE: '200ms',
      SLIPWAY_AGENT_BACKOFF_MAX: '2s',
      SLIPWAY_AGENT_HEARTBEAT_INTERVAL: '15',
      SLIPWAY_AGENT_LABELS: 'a=1, b=two',
    };
    const c = loadConfig(env, { token: 'from-flag' });
    expect(c).toMatchObject({
      server: 'http://master:8443',
      token: 'from-flag',
      nodeName: 'node-a',
      docker: 'tcp://10.0.0.5:2375',
      heartbeatIntervalMs: 15_000,
      backoff: { baseMs: 200, capMs: 2000 },
      extraLabels: { a: '1', b: 'two' },
    });
  });

  it('names every problem', () => {
    expect(() => loadConfig({}, { nodeName: 'Not_A_Name', backoffBase: 'soon' })).toThrow(
      /^invalid agent configuration: server: Required value: pass --server URL or set SLIPWAY_AGENT_SERVER; token: Required value: pass --token or set SLIPWAY_AGENT_TOKEN; nodeName: .+; backoffBase: "soon" is not a duration/,
    );
    expect(() => loadConfig({}, { ...required, backoffBase: '10s', backoffMax: '1s' })).toThrow(
      /backoffMax: must not be less than backoffBase/,
    );
    expect(() => loadConfig({}, { ...required, server: 'ftp://x' })).toThrow(
      /server: must be an http\(s\) URL/,
    );
  });
});

describe('build settings', () => {
  it('have defaults, and read the environment and options', () => {
    const d = loadConfig({}, required);
    expect(d.dataDir).toBe('/var/lib/slipway/agent');
    expect(d.builds).toEqual({
      sourceLimitBytes: 1024 * 1024 * 1024,
      cloneTimeoutMs: 300_000,
      allowLocalSources: false,
    });
    const c = loadConfig(
      {
        SLIPWAY_AGENT_DATA_DIR: '/srv/agent/',
        SLIPWAY_AGENT_BUILD_SOURCE_LIMIT: '256Mi',
        SLIPWAY_AGENT_BUILD_CLONE_TIMEOUT: '90s',
        SLIPWAY_AGENT_BUILD_ALLOW_LOCAL_SOURCES: 'true',
      },
      required,
    );
    expect(c.dataDir).toBe('/srv/agent');
    expect(c.builds).toEqual({
      sourceLimitBytes: 256 * 1024 * 1024,
      cloneTimeoutMs: 90_000,
      allowLocalSources: true,
    });
    expect(
      loadConfig({}, { ...required, dataDir: '/d', buildAllowLocalSources: false }).dataDir,
    ).toBe('/d');
  });

  it('refuse what makes no sense', () => {
    expect(() => loadConfig({}, { ...required, dataDir: 'relative' })).toThrow(
      /dataDir: must be an absolute path/,
    );
    expect(() => loadConfig({}, { ...required, buildSourceLimit: '10Ki' })).toThrow(
      /buildSourceLimit: must be at least 1Mi/,
    );
    expect(() => loadConfig({}, { ...required, buildAllowLocalSources: 'maybe' })).toThrow(
      /buildAllowLocalSources: "maybe" is not true or false/,
    );
  });
});

describe('parseDuration and parseLabels', () => {
  it('reads Go-like durations; plain digits are seconds, numbers milliseconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('12')).toBe(12_000);
    expect(parseDuration(300)).toBe(300);
    expect(() => parseDuration('10 s')).toThrow(/not a duration/);
    expect(() => parseDuration(-1)).toThrow(/invalid duration/);
  });

  it('reads k=v lists', () => {
    expect(parseLabels('x=1,y=,z=a=b')).toEqual({ x: '1', y: '', z: 'a=b' });
    expect(() => parseLabels('novalue')).toThrow(/not a KEY=VALUE label/);
  });
});

describe('service proxy and cluster DNS settings', () => {
  it('runs both by default, the DNS on the bridge gateway at a free port', () => {
    const c = loadConfig({}, required);
    expect(c.serviceProxy).toBe(true);
    expect(c.dnsListen).toEqual({ host: undefined, port: 0 });
    expect(c.resolvConf).toBe('/etc/resolv.conf');
  });

  it("reads the host's resolver settings from SLIPWAY_AGENT_RESOLV_CONF", () => {
    const c = loadConfig(
      { SLIPWAY_AGENT_RESOLV_CONF: '/run/systemd/resolve/resolv.conf' },
      required,
    );
    expect(c.resolvConf).toBe('/run/systemd/resolve/resolv.conf');
    // Empty, as every setting: the default.
    expect(loadConfig({ SLIPWAY_AGENT_RESOLV_CONF: '' }, required).resolvConf).toBe(
      '/etc/resolv.conf',
    );
  });

  it('reads SLIPWAY_AGENT_SERVICE_PROXY and SLIPWAY_AGENT_DNS_LISTEN', () => {
    const c = loadConfig(
      { SLIPWAY_AGENT_SERVICE_PROXY: 'false', SLIPWAY_AGENT_DNS_LISTEN: '172.17.0.1:5353' },
      required,
    );
    expect(c.serviceProxy).toBe(false);
    expect(c.dnsListen).toEqual({ host: '172.17.0.1', port: 5353 });
    expect(loadConfig({ SLIPWAY_AGENT_DNS_LISTEN: '1053' }, required).dnsListen).toEqual({
      host: undefined,
      port: 1053,
    });
    expect(() => loadConfig({ SLIPWAY_AGENT_SERVICE_PROXY: 'maybe' }, required)).toThrow(
      /serviceProxy: "maybe" is not true or false/,
    );
    expect(() => loadConfig({ SLIPWAY_AGENT_DNS_LISTEN: 'localhost:53' }, required)).toThrow(
      /dnsListen: "localhost" is not an IPv4 address/,
    );
  });
});
