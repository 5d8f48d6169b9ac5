import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import { endpointsKind, formatEndpoints, type Endpoints } from './endpoints.js';

function endpoints(subsets: unknown[]): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web' }, subsets } as Endpoints;
}

function causes(input: unknown): string[] {
  try {
    validateObject(endpointsKind, input);
  } catch (err) {
    if (err instanceof ApiError) {
      return (err.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    }
    throw err;
  }
  return [];
}

describe('Endpoints validation', () => {
  it('accepts ready and not-ready addresses with named ports', () => {
    expect(
      causes(
        endpoints([
          {
            addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p' } }],
            notReadyAddresses: [{ ip: '10.0.0.2' }],
            ports: [
              { name: 'http', port: 8080, protocol: 'TCP' },
              { name: 'metrics', port: 9100 },
            ],
          },
        ]),
      ),
    ).toEqual([]);
  });

  it('refuses addresses that are not IPs or in special ranges, naming the field', () => {
    expect(
      causes(
        endpoints([
          {
            addresses: [{ ip: 'web' }, { ip: '169.254.169.254' }, { ip: '0.0.0.0' }],
            notReadyAddresses: [{ ip: 'fe80::1' }],
          },
        ]),
      ),
    ).toEqual([
      'subsets[0].addresses[0].ip: Invalid value: "web": must be a valid IP address',
      'subsets[0].addresses[1].ip: Invalid value: "169.254.169.254": may not be in the link-local range (169.254.0.0/16)',
      'subsets[0].addresses[2].ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
      'subsets[0].notReadyAddresses[0].ip: Invalid value: "fe80::1": may not be in the link-local range (fe80::/10)',
    ]);
  });

  it('requires port names when a subset has several ports', () => {
    expect(causes(endpoints([{ ports: [{ port: 1 }, { port: 2, name: 'b' }] }]))).toEqual([
      'subsets[0].ports[0].name: Required value',
    ]);
    expect(causes(endpoints([{ ports: [{ port: 70000 }] }]))[0]).toMatch(
      /^subsets\[0\]\.ports\[0\]\.port:/,
    );
  });
});

describe('formatEndpoints', () => {
  it('lists ready ip:port pairs, three at most', () => {
    expect(formatEndpoints(endpoints([]))).toBe('<none>');
    const ready = (n: number) => Array.from({ length: n }, (_, i) => ({ ip: `10.0.0.${i + 1}` }));
    expect(formatEndpoints(endpoints([{ addresses: ready(2), ports: [{ port: 80 }] }]))).toBe(
      '10.0.0.1:80,10.0.0.2:80',
    );
    expect(
      formatEndpoints(
        endpoints([
          { addresses: ready(5), notReadyAddresses: [{ ip: '10.0.1.1' }], ports: [{ port: 80 }] },
        ]),
      ),
    ).toBe('10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...');
    expect(
      formatEndpoints(endpoints([{ notReadyAddresses: ready(1), ports: [{ port: 80 }] }])),
    ).toBe('<none>');
  });
});
