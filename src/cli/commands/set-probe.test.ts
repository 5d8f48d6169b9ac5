import { describe, expect, it } from 'vitest';
import type { Container } from '../../api/index.js';
import { CliError } from '../errors.js';
import { applyProbeChange, parseGetUrl, probeChange, type ProbeOptions } from './set-probe.js';

const opts = (o: Partial<ProbeOptions>): ProbeOptions => ({ containers: '*', ...o });

describe('set probe', () => {
  it('reads --get-url as an httpGet handler', () => {
    expect(parseGetUrl('http://:8080/healthz')).toEqual({
      httpGet: { scheme: 'HTTP', port: 8080, path: '/healthz' },
    });
    expect(parseGetUrl('https://example.com/ready?full=1')).toEqual({
      httpGet: { scheme: 'HTTPS', port: 443, path: '/ready?full=1', host: 'example.com' },
    });
    expect(() => parseGetUrl('ftp://:21/x')).toThrow('the scheme must be http or https');
    expect(() => parseGetUrl('nonsense')).toThrow('expected a URL such as http://:8080/healthz');
  });

  it('adds a probe, changes only the timing named, replaces the handler, and removes', () => {
    const containers: Container[] = [
      { name: 'web', image: 'web:1' },
      { name: 'side', image: 'side:1' },
    ];
    const add = probeChange(
      opts({ readiness: true, getUrl: 'http://:8080/healthz', initialDelaySeconds: '5' }),
      [],
    );
    expect(applyProbeChange(containers, add)).toBe(true);
    expect(containers[0]!.readinessProbe).toEqual({
      httpGet: { scheme: 'HTTP', port: 8080, path: '/healthz' },
      initialDelaySeconds: 5,
    });
    expect(applyProbeChange(containers, add)).toBe(false);

    applyProbeChange(containers, probeChange(opts({ readiness: true, periodSeconds: '20' }), []));
    expect(containers[1]!.readinessProbe).toEqual({
      httpGet: { scheme: 'HTTP', port: 8080, path: '/healthz' },
      initialDelaySeconds: 5,
      periodSeconds: 20,
    });

    applyProbeChange(containers, probeChange(opts({ readiness: true, openTcp: 'http' }), []));
    expect(containers[0]!.readinessProbe).toEqual({
      tcpSocket: { port: 'http' },
      initialDelaySeconds: 5,
      periodSeconds: 20,
    });

    applyProbeChange(containers, probeChange(opts({ liveness: true }), ['cat', '/tmp/ok']));
    expect(containers[0]!.livenessProbe).toEqual({ exec: { command: ['cat', '/tmp/ok'] } });

    expect(
      applyProbeChange(
        containers,
        probeChange(opts({ liveness: true, readiness: true, remove: true }), []),
      ),
    ).toBe(true);
    expect(containers).toEqual([
      { name: 'web', image: 'web:1' },
      { name: 'side', image: 'side:1' },
    ]);
  });

  it('names what is wrong', () => {
    const fails = (o: Partial<ProbeOptions>, command: string[] = []): string => {
      try {
        probeChange(opts(o), command);
      } catch (err) {
        expect(err).toBeInstanceOf(CliError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(fails({ getUrl: 'http://:80/' })).toContain(
      'one of --liveness, --readiness or --startup',
    );
    expect(fails({ liveness: true, getUrl: 'http://:80/', openTcp: '80' })).toContain(
      'only one of --get-url, --open-tcp or a command',
    );
    expect(fails({ liveness: true, openTcp: '99999' })).toContain('--open-tcp "99999"');
    expect(fails({ liveness: true, periodSeconds: '0' })).toContain(
      '--period-seconds "0": expected a whole number of at least 1',
    );
    expect(fails({ liveness: true, remove: true }, ['true'])).toContain(
      '--remove cannot be combined',
    );
    expect(fails({ liveness: true })).toContain('give a handler');
    expect(() =>
      applyProbeChange(
        [{ name: 'web', image: 'x' }],
        probeChange(opts({ liveness: true, timeoutSeconds: '3' }), []),
      ),
    ).toThrow('container "web" has no liveness probe to change');
  });
});
