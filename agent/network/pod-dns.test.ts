// How pods get the cluster DNS (agent/pods/plan.ts, dnsFor): kubelet's ClusterFirst.
import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/index.js';
import { planPod, type PlanOptions } from '../pods/plan.js';

function pod(spec: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop', uid: 'u-1' },
    spec: { containers: [{ name: 'c', image: 'i:1' }], ...spec },
  };
}

const base: PlanOptions = { nodeName: 'n', uid: 1000680000, gid: 0 };
const clusterDns = { nameserver: '172.30.0.10', domain: 'cluster.local', hostSearches: ['lab'] };

function dns(p: Pod, options: PlanOptions) {
  const { Dns, DnsSearch, DnsOptions } = planPod({ pod: p }, options).sandbox.create.HostConfig;
  return { Dns, DnsSearch, DnsOptions };
}

describe('pod DNS with a cluster DNS', () => {
  it('gives ClusterFirst pods the cluster resolver, search domains and ndots:5', () => {
    expect(dns(pod(), { ...base, clusterDns, dns: { nameservers: ['10.0.0.2'] } })).toEqual({
      Dns: ['172.30.0.10'],
      DnsSearch: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'lab'],
      DnsOptions: ['ndots:5'],
    });
  });

  it("adds the pod's dnsConfig (its options win) and honours dnsPolicy None and Default", () => {
    const withConfig = pod({
      dnsConfig: {
        nameservers: ['1.1.1.1'],
        searches: ['extra'],
        options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
      },
    });
    expect(dns(withConfig, { ...base, clusterDns })).toEqual({
      Dns: ['172.30.0.10', '1.1.1.1'],
      DnsSearch: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'lab', 'extra'],
      DnsOptions: ['ndots:2', 'edns0'],
    });
    expect(
      dns(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'] } }), {
        ...base,
        clusterDns,
      }),
    ).toEqual({ Dns: ['1.2.3.4'], DnsSearch: undefined, DnsOptions: undefined });
    expect(
      dns(pod({ dnsPolicy: 'Default' }), {
        ...base,
        clusterDns,
        dns: { nameservers: ['10.0.0.2'] },
      }),
    ).toEqual({ Dns: ['10.0.0.2'], DnsSearch: undefined, DnsOptions: undefined });
  });

  it('changes no container hash: only the sandbox (which a running pod keeps) differs', () => {
    const p = pod();
    const before = planPod({ pod: p }, base);
    const after = planPod({ pod: p }, { ...base, clusterDns });
    expect(after.containers.map((c) => c.plan?.hash)).toEqual(
      before.containers.map((c) => c.plan?.hash),
    );
    expect(after.sandbox.create.HostConfig.Dns).toEqual(['172.30.0.10']);
    expect(before.sandbox.create.HostConfig.Dns).toBeUndefined();
  });
});
