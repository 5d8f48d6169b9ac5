import { describe, expect, it } from 'vitest';
import {
  configMapKind,
  nodeKind,
  secretKind,
  serviceKind,
  type ApiObject,
  type Event,
  type Node,
  type Pod,
} from '../api/index.js';
import {
  DescribeWriter,
  describeObject,
  formatAmount,
  formatEvents,
  podRequestsAndLimits,
  titleCase,
} from './describe.js';

const now = new Date('2026-03-01T12:00:00Z');

describe('DescribeWriter', () => {
  it('lines up values within runs and continues multi-line values in the value column', () => {
    const w = new DescribeWriter();
    w.kv(0, 'Name', 'x');
    w.kv(0, 'Labels', 'a=1\nb=2');
    w.heading(0, 'Containers');
    w.kv(1, 'Image', 'nginx');
    expect(w.render()).toBe(
      'Name:    x\nLabels:  a=1\n         b=2\nContainers:\n  Image:  nginx\n',
    );
  });
});

describe('describeObject', () => {
  it('shows Secret values only as sizes, and hides the last-applied annotation', () => {
    const secret: ApiObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 's',
        namespace: 'demo',
        creationTimestamp: '2026-03-01T11:00:00Z',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"stringData":{"p":"hunter2"}}',
          team: 'a',
        },
      },
      type: 'Opaque',
      data: { password: Buffer.from('hunter2!').toString('base64') },
    };
    const text = describeObject(secretKind, secret, now);
    expect(text).toBe(
      'Name:         s\nNamespace:    demo\nLabels:       <none>\nAnnotations:  team=a\n' +
        'Created:      Sun, 01 Mar 2026 11:00:00 GMT (60m ago)\n\nType:  Opaque\n\nData\n====\npassword:  8 bytes\n',
    );
    expect(text).not.toContain('hunter2');
  });

  it('prints ConfigMap data as kubectl does, and no Namespace for cluster-scoped kinds', () => {
    const cm: ApiObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'd' },
      data: { k: 'v\n' },
    };
    expect(describeObject(configMapKind, cm, now)).toContain(
      '\nData\n====\nk:\n----\nv\n\nBinaryData\n====\n\n',
    );
    const node: ApiObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'ok' }],
      },
    };
    const text = describeObject(nodeKind, node, now);
    expect(text).not.toContain('Namespace:');
    expect(text).toMatch(
      /Conditions:\n {2}Type +Status +LastHeartbeat +Reason +Message\n {2}Ready +True +AgentReady +ok\n/,
    );
  });

  it('renders other kinds generically', () => {
    expect(titleCase('involvedObject')).toBe('Involved Object');
    const def = { ...configMapKind, kind: 'Thing' };
    const text = describeObject(
      def,
      {
        apiVersion: 'v1',
        kind: 'Thing',
        metadata: { name: 't' },
        spec: { replicas: 2 },
        phase: 'Up',
      },
      now,
    );
    expect(text).toContain('Spec:\n  replicas: 2\nPhase:  Up\n');
  });
});

describe('describe svc', () => {
  it('prints type, IP, each port with its node port and endpoints, as kubectl does', () => {
    const text = describeObject(
      serviceKind,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'p' },
        spec: {
          type: 'NodePort',
          selector: { app: 'web', tier: 'fe' },
          clusterIP: '172.30.0.5',
          ports: [
            { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 },
            { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP', nodePort: 30053 },
          ],
          sessionAffinity: 'None',
          externalTrafficPolicy: 'Cluster',
        },
      },
      now,
      {
        endpoints: {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'web', namespace: 'p' },
          subsets: [
            {
              addresses: [{ ip: '172.17.0.3' }, { ip: '172.17.0.4' }],
              notReadyAddresses: [{ ip: '172.17.0.9' }],
              ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
            },
          ],
        },
      },
    );
    expect(text).toContain(
      [
        'Selector:                 app=web,tier=fe',
        'Type:                     NodePort',
        'IP:                       172.30.0.5',
        'Port:                     http  80/TCP',
        'TargetPort:               8080/TCP',
        'NodePort:                 http  30080/TCP',
        'Endpoints:                172.17.0.3:8080,172.17.0.4:8080',
        'Port:                     dns  53/UDP',
        'TargetPort:               53/UDP',
        'NodePort:                 dns  30053/UDP',
        'Endpoints:                <none>',
        'Session Affinity:         None',
        'External Traffic Policy:  Cluster',
      ].join('\n'),
    );
  });
});

describe('formatEvents', () => {
  const event = (reason: string, last: string, count = 1): Event => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: reason },
    involvedObject: { kind: 'Pod', name: 'p' },
    reason,
    message: `${reason} happened`,
    type: 'Normal',
    count,
    firstTimestamp: '2026-03-01T11:50:00Z',
    lastTimestamp: last,
    source: { component: 'agent' },
  });

  it('prints <none> or a table, oldest first, with repeat counts', () => {
    expect(formatEvents([], now)).toBe('Events:  <none>\n');
    expect(
      formatEvents(
        [event('Started', '2026-03-01T11:59:30Z'), event('Pulled', '2026-03-01T11:55:00Z', 3)],
        now,
      ),
    ).toBe(
      'Events:\n' +
        '  Type    Reason   Age               From   Message\n' +
        '  ----    ------   ----              ----   -------\n' +
        '  Normal  Pulled   5m (x3 over 10m)  agent  Pulled happened\n' +
        '  Normal  Started  30s               agent  Started happened\n',
    );
  });
});

describe('describe node', () => {
  it("lists the node's non-terminated pods with requests, limits and the totals", () => {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: { allocatable: { cpu: '2', memory: '4Gi', pods: '110' } },
    };
    const pod = (
      name: string,
      resources: Record<string, Record<string, string>>,
      phase?: string,
    ): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'demo', creationTimestamp: '2026-03-01T11:55:00Z' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'i', resources }],
      },
      ...(phase ? { status: { phase: phase as 'Succeeded' } } : {}),
    });
    const pods = [
      pod('web', {
        requests: { cpu: '500m', memory: '512Mi' },
        limits: { cpu: '1', memory: '1Gi' },
      }),
      pod('worker', { limits: { cpu: '250m', memory: '256Mi' } }),
      pod('done', { requests: { cpu: '2' } }, 'Succeeded'),
    ];
    const text = describeObject(nodeKind, node, now, { pods });
    expect(text).toContain('Non-terminated Pods:  (2 in total)\n');
    expect(text).toMatch(
      /\n {2}Namespace +Name +CPU Requests +CPU Limits +Memory Requests +Memory Limits +Age\n {2}-{9} +-{4} +/,
    );
    expect(text).toMatch(
      /\n {2}demo +web +500m \(25%\) +1 \(50%\) +512Mi \(12%\) +1Gi \(25%\) +5m\n/,
    );
    // A request defaults to the limit.
    expect(text).toMatch(
      /\n {2}demo +worker +250m \(12%\) +250m \(12%\) +256Mi \(6%\) +256Mi \(6%\) +5m\n/,
    );
    expect(text).not.toContain('done');
    expect(text).toContain(
      'Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n',
    );
    expect(text).toMatch(
      /\n {2}cpu +750m \(37%\) +1250m \(62%\)\n {2}memory +768Mi \(18%\) +1280Mi \(31%\)\n/,
    );
    expect(podRequestsAndLimits(pods[0]!).requests).toEqual({ cpu: 500, memory: 512 * 2 ** 20 });
    expect(formatAmount('memory', 2 ** 30)).toBe('1Gi');
    expect(formatAmount('memory', 1_500_000)).toBe('1500k');
    expect(formatAmount('cpu', 2000)).toBe('2');
  });
});
