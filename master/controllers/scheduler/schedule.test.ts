import { describe, expect, it } from 'vitest';
import type { Node, Pod } from '../../../src/api/index.js';
import { fitErrorMessage, schedule, type ScheduleResult } from './schedule.js';

interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  ready?: 'True' | 'False' | 'Unknown' | null;
  unschedulable?: boolean;
  labels?: Record<string, string>;
  taints?: {
    key: string;
    value?: string;
    effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  }[];
}

function node(name: string, o: NodeOptions = {}): Node {
  const ready = o.ready === undefined ? 'True' : o.ready;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: o.labels ?? {} },
    spec: { unschedulable: o.unschedulable, taints: o.taints },
    status: {
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' },
      conditions: ready === null ? [] : [{ type: 'Ready', status: ready }],
    },
  };
}

interface PodOptions {
  cpu?: string;
  memory?: string;
  limitsOnly?: boolean;
  nodeName?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  owner?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: object[];
  hostPorts?: { hostPort: number; protocol?: 'TCP' | 'UDP'; hostIP?: string }[];
  init?: { cpu?: string; memory?: string };
}

let seq = 0;
function pod(name: string, o: PodOptions = {}): Pod {
  const resources: Record<string, string> = {};
  if (o.cpu) resources.cpu = o.cpu;
  if (o.memory) resources.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: 'ns',
      name,
      uid: `uid-${name}-${seq++}`,
      ownerReferences: o.owner
        ? [
            {
              apiVersion: 'v1',
              kind: 'ReplicationController',
              name: o.owner,
              uid: o.owner,
              controller: true,
            },
          ]
        : undefined,
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'img',
          resources: o.limitsOnly ? { limits: resources } : { requests: resources },
          ports: (o.hostPorts ?? []).map((p) => ({ containerPort: 8080, ...p })),
        },
      ],
      initContainers: o.init
        ? [{ name: 'init', image: 'img', resources: { requests: { ...o.init } } }]
        : undefined,
      nodeName: o.nodeName,
      nodeSelector: o.nodeSelector,
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    },
    status: { phase: o.phase ?? (o.nodeName ? 'Running' : 'Pending') },
  };
}

function on(...pods: Pod[]): Map<string, Pod[]> {
  const map = new Map<string, Pod[]>();
  for (const p of pods) {
    const list = map.get(p.spec.nodeName!) ?? [];
    list.push(p);
    map.set(p.spec.nodeName!, list);
  }
  return map;
}

const fail = (message: string): ScheduleResult => ({ unschedulable: true, message });

describe('schedule: filters', () => {
  it('places a pod on the only node', () => {
    expect(schedule(pod('p'), [node('n1')], new Map())).toEqual({ node: 'n1' });
  });

  it('reports no nodes at all', () => {
    expect(schedule(pod('p'), [], new Map())).toEqual(fail('no nodes available to schedule pods'));
  });

  it('skips nodes that are not Ready', () => {
    const nodes = [
      node('a', { ready: 'False' }),
      node('b', { ready: 'Unknown' }),
      node('c', { ready: null }),
    ];
    expect(schedule(pod('p'), nodes, new Map())).toEqual(
      fail('0/3 nodes are available: 3 node(s) were not ready.'),
    );
    expect(schedule(pod('p'), [...nodes, node('d')], new Map())).toEqual({ node: 'd' });
  });

  it('skips cordoned nodes unless the pod tolerates the unschedulable taint', () => {
    const nodes = [node('a', { unschedulable: true })];
    expect(schedule(pod('p'), nodes, new Map())).toEqual(
      fail('0/1 nodes are available: 1 node(s) were unschedulable.'),
    );
    const tolerant = pod('p', {
      tolerations: [
        { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
      ],
    });
    expect(schedule(tolerant, nodes, new Map())).toEqual({ node: 'a' });
  });

  it('honours NoSchedule and NoExecute taints, ignores PreferNoSchedule', () => {
    const gpu = node('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    const drain = node('drain', { taints: [{ key: 'maintenance', effect: 'NoExecute' }] });
    const soft = node('soft', {
      taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }],
    });
    expect(schedule(pod('p'), [gpu, drain], new Map())).toEqual(
      fail(
        '0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, ' +
          '1 node(s) had untolerated taint {maintenance: }.',
      ),
    );
    expect(schedule(pod('p'), [gpu, soft], new Map())).toEqual({ node: 'soft' });
  });

  it.each([
    [
      'Equal with the value',
      { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
      true,
    ],
    ['Equal by default', { key: 'dedicated', value: 'gpu' }, true],
    ['Exists on the key', { key: 'dedicated', operator: 'Exists' }, true],
    ['Exists on every key', { operator: 'Exists' }, true],
    ['a different value', { key: 'dedicated', value: 'cpu' }, false],
    ['a different effect', { key: 'dedicated', value: 'gpu', effect: 'NoExecute' }, false],
  ])('a toleration with %s: tolerated=%s', (_what, toleration, ok) => {
    const gpu = node('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    const result = schedule(pod('p', { tolerations: [toleration] }), [gpu], new Map());
    expect('node' in result).toBe(ok);
  });

  it('matches nodeSelector against node labels', () => {
    const nodes = [
      node('a', { labels: { disk: 'hdd' } }),
      node('b', { labels: { disk: 'ssd', zone: 'x' } }),
    ];
    expect(schedule(pod('p', { nodeSelector: { disk: 'ssd' } }), nodes, new Map())).toEqual({
      node: 'b',
    });
    expect(schedule(pod('p', { nodeSelector: { disk: 'nvme' } }), nodes, new Map())).toEqual(
      fail("0/2 nodes are available: 2 node(s) didn't match node selector."),
    );
  });

  it('counts requests of pods already on the node against allocatable', () => {
    const nodes = [node('a', { cpu: '2', memory: '4Gi' })];
    const running = on(pod('x', { nodeName: 'a', cpu: '1500m', memory: '3Gi' }));
    expect(schedule(pod('p', { cpu: '500m', memory: '1Gi' }), nodes, running)).toEqual({
      node: 'a',
    });
    expect(schedule(pod('p', { cpu: '501m' }), nodes, running)).toEqual(
      fail('0/1 nodes are available: 1 Insufficient cpu.'),
    );
    expect(schedule(pod('p', { cpu: '600m', memory: '1025Mi' }), nodes, running)).toEqual(
      fail('0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.'),
    );
  });

  it('ignores pods that have finished, and the pod itself', () => {
    const nodes = [node('a', { cpu: '1' })];
    const self = pod('p', { cpu: '1' });
    const pods = on(
      pod('done', { nodeName: 'a', cpu: '1', phase: 'Succeeded' }),
      pod('crashed', { nodeName: 'a', cpu: '1', phase: 'Failed' }),
      { ...self, spec: { ...self.spec, nodeName: 'a' } },
    );
    expect(schedule(self, nodes, pods)).toEqual({ node: 'a' });
    expect(
      schedule(self, nodes, on(pod('x', { nodeName: 'a', cpu: '1', phase: 'Pending' }))),
    ).toEqual(fail('0/1 nodes are available: 1 Insufficient cpu.'));
  });

  it('lets a pod without requests onto a full node', () => {
    const full = on(pod('x', { nodeName: 'a', cpu: '4', memory: '8Gi' }));
    expect(schedule(pod('p'), [node('a')], full)).toEqual({ node: 'a' });
  });

  it('treats limits without requests as requests', () => {
    expect(schedule(pod('p', { memory: '9Gi', limitsOnly: true }), [node('a')], new Map())).toEqual(
      fail('0/1 nodes are available: 1 Insufficient memory.'),
    );
  });

  it('takes the larger of the containers and the biggest init container', () => {
    const nodes = [node('a', { cpu: '2' })];
    expect(schedule(pod('p', { cpu: '1', init: { cpu: '2' } }), nodes, new Map())).toEqual({
      node: 'a',
    });
    expect(schedule(pod('p', { cpu: '1', init: { cpu: '2100m' } }), nodes, new Map())).toEqual(
      fail('0/1 nodes are available: 1 Insufficient cpu.'),
    );
  });

  it('enforces the pod count', () => {
    const nodes = [node('a', { pods: '2' })];
    const two = on(pod('x', { nodeName: 'a' }), pod('y', { nodeName: 'a' }));
    expect(schedule(pod('p'), nodes, two)).toEqual(
      fail('0/1 nodes are available: 1 Too many pods.'),
    );
    expect(schedule(pod('p'), nodes, on(pod('x', { nodeName: 'a' })))).toEqual({ node: 'a' });
  });

  it('refuses nodes where a requested host port is taken', () => {
    const nodes = [node('a'), node('b')];
    const pods = on(pod('x', { nodeName: 'a', hostPorts: [{ hostPort: 80 }] }));
    expect(schedule(pod('p', { hostPorts: [{ hostPort: 80 }] }), [node('a')], pods)).toEqual(
      fail(
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
      ),
    );
    expect(schedule(pod('p', { hostPorts: [{ hostPort: 80 }] }), nodes, pods)).toEqual({
      node: 'b',
    });
    // Another protocol, or another port, does not conflict.
    expect(
      schedule(pod('p', { hostPorts: [{ hostPort: 80, protocol: 'UDP' }] }), [node('a')], pods),
    ).toEqual({
      node: 'a',
    });
    expect(schedule(pod('p', { hostPorts: [{ hostPort: 81 }] }), [node('a')], pods)).toEqual({
      node: 'a',
    });
  });

  it('compares host IPs: distinct addresses share a port, the wildcard takes it on all', () => {
    const onIp = on(pod('x', { nodeName: 'a', hostPorts: [{ hostPort: 80, hostIP: '10.0.0.1' }] }));
    const want = (hostIP?: string): Pod =>
      pod('p', { hostPorts: [{ hostPort: 80, ...(hostIP ? { hostIP } : {}) }] });
    expect(schedule(want('10.0.0.2'), [node('a')], onIp)).toEqual({ node: 'a' });
    expect('unschedulable' in schedule(want('10.0.0.1'), [node('a')], onIp)).toBe(true);
    expect('unschedulable' in schedule(want(), [node('a')], onIp)).toBe(true);
  });

  it('accepts a lookup function for the pods on each node', () => {
    const pods = on(pod('x', { nodeName: 'a', cpu: '4' }));
    expect(
      schedule(pod('p', { cpu: '1' }), [node('a'), node('b')], (name) => pods.get(name) ?? []),
    ).toEqual({
      node: 'b',
    });
  });
});

describe('schedule: scoring', () => {
  it('prefers the least allocated node', () => {
    const pods = on(
      pod('x', { nodeName: 'a', cpu: '2', memory: '4Gi' }),
      pod('y', { nodeName: 'b', cpu: '1', memory: '1Gi' }),
    );
    expect(
      schedule(pod('p', { cpu: '100m', memory: '100Mi' }), [node('a'), node('b')], pods),
    ).toEqual({ node: 'b' });
  });

  it('weighs free memory and cpu equally', () => {
    // a: lots of cpu used, b: lots of memory used, c: a bit of both.
    const pods = on(
      pod('x', { nodeName: 'a', cpu: '3', memory: '1Gi' }),
      pod('y', { nodeName: 'b', cpu: '1', memory: '6Gi' }),
      pod('z', { nodeName: 'c', cpu: '1', memory: '2Gi' }),
    );
    expect(
      schedule(pod('p', { cpu: '100m', memory: '100Mi' }), [node('a'), node('b'), node('c')], pods),
    ).toEqual({
      node: 'c',
    });
  });

  it('favours the bigger node for the same load', () => {
    const nodes = [
      node('small', { cpu: '2', memory: '4Gi' }),
      node('big', { cpu: '8', memory: '16Gi' }),
    ];
    expect(schedule(pod('p', { cpu: '1', memory: '1Gi' }), nodes, new Map())).toEqual({
      node: 'big',
    });
  });

  it('spreads pods without requests by counting them at the scoring defaults', () => {
    const pods = on(pod('x', { nodeName: 'a' }));
    expect(schedule(pod('p'), [node('a'), node('b')], pods)).toEqual({ node: 'b' });
  });

  it('breaks ties by node name', () => {
    expect(schedule(pod('p'), [node('c'), node('a'), node('b')], new Map())).toEqual({ node: 'a' });
  });

  it('spreads pods of the same owner over nodes', () => {
    // a is emptier, but already runs a replica of the same controller.
    const pods = on(
      pod('web-1', { nodeName: 'a', owner: 'rc-web', cpu: '100m' }),
      pod('db-1', { nodeName: 'b', owner: 'rc-db', cpu: '1' }),
    );
    expect(
      schedule(pod('web-2', { owner: 'rc-web', cpu: '100m' }), [node('a'), node('b')], pods),
    ).toEqual({
      node: 'b',
    });
    // Without an owner, only load counts.
    expect(schedule(pod('solo', { cpu: '100m' }), [node('a'), node('b')], pods)).toEqual({
      node: 'a',
    });
  });

  it('puts the next replica on the node with the fewest of its siblings', () => {
    const pods = on(
      pod('w1', { nodeName: 'a', owner: 'rc' }),
      pod('w2', { nodeName: 'a', owner: 'rc' }),
      pod('w3', { nodeName: 'b', owner: 'rc' }),
      pod('x1', { nodeName: 'c' }),
      pod('x2', { nodeName: 'c' }),
      pod('x3', { nodeName: 'c' }),
    );
    expect(schedule(pod('w4', { owner: 'rc' }), [node('a'), node('b'), node('c')], pods)).toEqual({
      node: 'c',
    });
  });

  it('only scores nodes that passed the filters', () => {
    const nodes = [node('a', { ready: 'False' }), node('b', { cpu: '1' })];
    expect(schedule(pod('p', { cpu: '100m' }), nodes, new Map())).toEqual({ node: 'b' });
  });
});

describe('unschedulable message', () => {
  it('counts reasons over nodes and sorts them as kube-scheduler does', () => {
    const nodes = [
      node('a', { memory: '1Gi' }),
      node('b', { memory: '1Gi' }),
      node('c', { labels: { disk: 'hdd' } }),
    ];
    const p = pod('p', { memory: '2Gi', nodeSelector: {} });
    expect(schedule(p, nodes.slice(0, 2), new Map())).toEqual(
      fail('0/2 nodes are available: 2 Insufficient memory.'),
    );
    const q = pod('q', { memory: '2Gi' });
    // c fits the memory but is excluded by the selector; a and b match it but lack memory.
    const labelled = nodes.map((n) =>
      n.metadata.name === 'c' ? n : { ...n, metadata: { ...n.metadata, labels: { disk: 'ssd' } } },
    );
    expect(
      schedule({ ...q, spec: { ...q.spec, nodeSelector: { disk: 'ssd' } } }, labelled, new Map()),
    ).toEqual(
      fail("0/3 nodes are available: 1 node(s) didn't match node selector, 2 Insufficient memory."),
    );
  });

  it('lists every reason from every filter that failed', () => {
    const nodes = [
      node('a', { ready: 'False' }),
      node('b', { unschedulable: true }),
      node('c', { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }),
      node('d', { labels: {} }),
      node('e', { cpu: '100m', memory: '1Mi', pods: '0' }),
    ];
    const p = pod('p', { cpu: '1', memory: '1Gi' });
    const onD = on(pod('x', { nodeName: 'd', hostPorts: [{ hostPort: 80 }] }));
    const withPort: Pod = {
      ...p,
      spec: {
        ...p.spec,
        containers: [{ ...p.spec.containers[0]!, ports: [{ containerPort: 80, hostPort: 80 }] }],
      },
    };
    expect(schedule(withPort, nodes, onD)).toEqual(
      fail(
        '0/5 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods, ' +
          "1 node(s) didn't have free ports for the requested pod ports, 1 node(s) had untolerated taint {k: v}, " +
          '1 node(s) were not ready, 1 node(s) were unschedulable.',
      ),
    );
  });

  it('sorts the "count reason" strings byte-wise, like Go sort.Strings', () => {
    expect(
      fitErrorMessage(13, [
        ...Array.from({ length: 10 }, () => ['node(s) were not ready']),
        ['Insufficient cpu'],
        ['Insufficient cpu'],
        ["node(s) didn't match node selector"],
      ]),
    ).toBe(
      "0/13 nodes are available: 1 node(s) didn't match node selector, 10 node(s) were not ready, 2 Insufficient cpu.",
    );
  });
});
