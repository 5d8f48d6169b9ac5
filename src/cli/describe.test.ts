import { describe, expect, it } from 'vitest';
import { configMapKind, nodeKind, secretKind, type ApiObject, type Event } from '../api/index.js';
import { DescribeWriter, describeObject, formatEvents, titleCase } from './describe.js';

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
