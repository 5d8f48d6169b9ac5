import { describe, expect, it } from 'vitest';
import {
  changedUdpTargets,
  parseFlows,
  removeStaleUdpFlows,
  staleDeletions,
  type ConntrackTools,
  type FlowDeletion,
  type FlowFilter,
  type UdpFlow,
} from './conntrack.js';
import type { ServicePortEntry } from './service-ports.js';

function entry(
  clusterIP: string,
  backends: string[],
  extra: Partial<ServicePortEntry> = {},
): ServicePortEntry {
  return {
    id: `ns/${clusterIP}`,
    namespace: 'ns',
    name: clusterIP,
    protocol: 'udp',
    clusterIP,
    port: 53,
    backends: backends.map((b) => ({ ip: b.split(':')[0]!, port: Number(b.split(':')[1]) })),
    ...extra,
  };
}

function flow(src: string, dst: string, reply: string): UdpFlow {
  const [s, sp] = src.split(':');
  const [d, dp] = dst.split(':');
  const [r, rp] = reply.split(':');
  return {
    src: s!,
    sport: Number(sp),
    dst: d!,
    dport: Number(dp),
    replySrc: r!,
    replySport: Number(rp),
  };
}

describe('parseFlows', () => {
  it("reads each flow's original tuple and where its replies come from", () => {
    const output = [
      'udp      17 28 src=10.88.0.5 dst=172.30.0.10 sport=40000 dport=53 src=10.88.0.1 dst=10.88.0.5 sport=35353 dport=40000 [ASSURED] mark=0 use=1',
      'udp      17 29 src=192.0.2.2 dst=172.30.0.20 sport=5000 dport=514 [UNREPLIED] src=10.88.0.9 dst=192.0.2.2 sport=1514 dport=5000 mark=0 use=1',
      'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.',
      'udp      17 29 src=192.0.2.2 dst=172.30.0.20 sport=5000 dport=514',
      '',
    ].join('\n');
    expect(parseFlows(output)).toEqual([
      flow('10.88.0.5:40000', '172.30.0.10:53', '10.88.0.1:35353'),
      flow('192.0.2.2:5000', '172.30.0.20:514', '10.88.0.9:1514'),
    ]);
  });
});

describe('changedUdpTargets', () => {
  it('takes every UDP port on the first sync, and no TCP port ever', () => {
    const tcp = { ...entry('172.30.0.2', ['10.0.0.2:80']), protocol: 'tcp' as const };
    const targets = changedUdpTargets(undefined, [entry('172.30.0.1', ['10.0.0.1:53']), tcp]);
    expect(targets).toEqual([
      { cluster: { ip: '172.30.0.1', port: 53 }, backends: [{ ip: '10.0.0.1', port: 53 }] },
    ]);
    expect(changedUdpTargets([tcp], [{ ...tcp, backends: [] }])).toEqual([]);
  });

  it('takes the ports whose endpoints changed, and those that went away with nobody to answer', () => {
    const before = [
      entry('172.30.0.1', ['10.0.0.1:53', '10.0.0.2:53']),
      entry('172.30.0.2', ['10.0.0.3:53']),
      entry('172.30.0.3', ['10.0.0.4:53']),
    ];
    const after = [entry('172.30.0.1', ['10.0.0.2:53']), entry('172.30.0.2', ['10.0.0.3:53'])];
    expect(changedUdpTargets(before, after)).toEqual([
      { cluster: { ip: '172.30.0.1', port: 53 }, backends: [{ ip: '10.0.0.2', port: 53 }] },
      { cluster: { ip: '172.30.0.3', port: 53 }, backends: [] },
    ]);
  });

  it('looks at a nodePort given up, as well as the new one', () => {
    const before = [entry('172.30.0.1', ['10.0.0.1:53'], { nodePort: 30053 })];
    const after = [entry('172.30.0.1', ['10.0.0.1:53'], { nodePort: 30054 })];
    expect(changedUdpTargets(before, after)).toEqual([
      {
        cluster: { ip: '172.30.0.1', port: 53 },
        nodePort: 30054,
        backends: [{ ip: '10.0.0.1', port: 53 }],
      },
      { nodePort: 30053, backends: [] },
    ]);
  });
});

describe('staleDeletions', () => {
  const target = {
    cluster: { ip: '172.30.0.1', port: 53 },
    nodePort: 30053,
    backends: [{ ip: '10.0.0.2', port: 53 }],
  };

  it('deletes flows to the ClusterIP answered by anyone but a current endpoint, once per answerer', () => {
    const flows = [
      flow('10.88.0.5:40000', '172.30.0.1:53', '10.0.0.1:53'),
      flow('10.88.0.5:40001', '172.30.0.1:53', '10.0.0.1:53'),
      flow('10.88.0.6:40000', '172.30.0.1:53', '10.0.0.2:53'),
      // Sent before any rule translated the ClusterIP.
      flow('10.88.0.7:40000', '172.30.0.1:53', '172.30.0.1:53'),
      // Another port of the same address is another service port's business.
      flow('10.88.0.7:40000', '172.30.0.1:54', '10.0.0.9:54'),
    ];
    expect(staleDeletions(target, flows, [])).toEqual<FlowDeletion[]>([
      { dst: '172.30.0.1', dport: 53, replySrc: '10.0.0.1', replySport: 53 },
      { dst: '172.30.0.1', dport: 53, replySrc: '172.30.0.1', replySport: 53 },
    ]);
  });

  it("deletes translated flows to the nodePort answered by a gone endpoint, not the node's own", () => {
    const flows = [
      flow('192.0.2.9:5000', '192.0.2.1:30053', '10.0.0.1:53'),
      flow('192.0.2.9:5001', '192.0.2.1:30053', '10.0.0.2:53'),
      // The node talking to port 30053 of another host: not translated, not ours.
      flow('192.0.2.1:6000', '198.51.100.7:30053', '198.51.100.7:30053'),
    ];
    expect(staleDeletions(target, [], flows)).toEqual<FlowDeletion[]>([
      { dport: 30053, replySrc: '10.0.0.1', replySport: 53 },
    ]);
  });

  it('deletes every flow of a port nobody may answer any more', () => {
    const flows = [flow('10.88.0.6:40000', '172.30.0.1:53', '10.0.0.2:53')];
    expect(staleDeletions({ ...target, backends: [] }, flows, [])).toHaveLength(1);
  });
});

describe('removeStaleUdpFlows', () => {
  it('lists the flows of each target and deletes the stale ones', async () => {
    const listed: FlowFilter[] = [];
    const deleted: FlowDeletion[] = [];
    const tools: ConntrackTools = {
      listUdp: (filter) => {
        listed.push(filter);
        return Promise.resolve(
          filter.dst
            ? [
                flow('10.88.0.5:40000', '172.30.0.1:53', '10.0.0.1:53'),
                flow('10.88.0.5:40002', '172.30.0.1:53', '10.0.0.2:53'),
              ]
            : [flow('192.0.2.9:5000', '192.0.2.1:30053', '10.0.0.1:53')],
        );
      },
      deleteUdp: (deletion) => {
        deleted.push(deletion);
        return Promise.resolve(1);
      },
    };
    const removed = await removeStaleUdpFlows(tools, [
      {
        cluster: { ip: '172.30.0.1', port: 53 },
        nodePort: 30053,
        backends: [{ ip: '10.0.0.2', port: 53 }],
      },
      { nodePort: 30054, backends: [] },
    ]);
    expect(listed).toEqual([{ dst: '172.30.0.1', dport: 53 }, { dport: 30053 }, { dport: 30054 }]);
    expect(deleted).toEqual([
      { dst: '172.30.0.1', dport: 53, replySrc: '10.0.0.1', replySport: 53 },
      { dport: 30053, replySrc: '10.0.0.1', replySport: 53 },
    ]);
    expect(removed).toBe(2);
  });
});
