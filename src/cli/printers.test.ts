import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configMapKind, nodeKind, podKind, type ApiObject } from '../api/index.js';
import {
  formatStructured,
  formatTables,
  parseOutputFormat,
  readableOrder,
  tableLayout,
} from './printers.js';
import { formatTable } from './table.js';

const now = new Date('2026-03-01T12:00:00Z');
const cm = (name: string, namespace = 'demo'): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, creationTimestamp: '2026-03-01T11:55:00Z', labels: { app: 'web' } },
  data: { a: '1', b: '2' },
});
const opts = { wide: false, showLabels: false, allNamespaces: false, withKind: false, now };

describe('formatTable', () => {
  it('separates columns by three spaces and pads all but the last', () => {
    const t = formatTable(
      ['NAME', 'STATUS', 'AGE'],
      [
        ['web-1', 'Running', '5m'],
        ['db', 'CrashLoopBackOff', ''],
      ],
    );
    expect(t.lines).toEqual([
      'NAME    STATUS             AGE',
      'web-1   Running            5m',
      'db      CrashLoopBackOff',
    ]);
    expect(t.widths).toEqual([5, 16, 3]);
  });

  it('keeps at least given widths (for rows printed later)', () => {
    expect(formatTable(undefined, [['a', 'b']], [5, 1]).lines).toEqual(['a       b']);
  });
});

describe('tableLayout', () => {
  it('prints NAME then the kind columns, wide ones only with -o wide', () => {
    const pod: ApiObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'demo', creationTimestamp: '2026-03-01T11:00:00Z' },
      spec: { containers: [{ name: 'c', image: 'i' }], nodeName: 'node-1' },
      status: { phase: 'Running', podIP: '10.0.0.5' },
    };
    expect(tableLayout(podKind, opts).headers).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
    ]);
    const wide = tableLayout(podKind, { ...opts, wide: true });
    expect(wide.headers).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
    expect(wide.row(pod)).toEqual(['p', '0/1', 'Running', '0', '60m', '10.0.0.5', 'node-1']);
  });

  it('adds NAMESPACE for -A (namespaced kinds only), LABELS and kind prefixes', () => {
    const layout = tableLayout(configMapKind, {
      ...opts,
      allNamespaces: true,
      showLabels: true,
      withKind: true,
    });
    expect(layout.headers).toEqual(['NAMESPACE', 'NAME', 'DATA', 'AGE', 'LABELS']);
    expect(layout.row(cm('x'))).toEqual(['demo', 'configmap/x', '2', '5m', 'app=web']);
    expect(tableLayout(nodeKind, { ...opts, allNamespaces: true }).headers[0]).toBe('NAME');
  });

  it('prints one table per kind, separated by a blank line', () => {
    const text = formatTables(
      [
        { def: configMapKind, items: [cm('x')] },
        { def: podKind, items: [] },
      ],
      opts,
    );
    expect(text).toBe('NAME   DATA   AGE\nx      2      5m\n');
  });

  it('prints the rows only with --no-headers', () => {
    const text = formatTables([{ def: configMapKind, items: [cm('x'), cm('longer')] }], {
      ...opts,
      noHeaders: true,
    });
    expect(text).toBe('x        2   5m\nlonger   2   5m\n');
  });
});

describe('structured output', () => {
  it('prints one object as itself and several as a List', () => {
    const one = JSON.parse(
      formatStructured('json', [{ def: configMapKind, obj: cm('x') }], true),
    ) as ApiObject;
    expect(one.kind).toBe('ConfigMap');
    const many = parse(formatStructured('yaml', [{ def: configMapKind, obj: cm('x') }], false)) as {
      kind: string;
      items: unknown[];
    };
    expect(many).toMatchObject({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'ConfigMap' }] });
    expect(
      formatStructured(
        'name',
        [
          { def: configMapKind, obj: cm('x') },
          { def: podKind, obj: cm('y') },
        ],
        false,
      ),
    ).toBe('configmap/x\npod/y\n');
  });

  it('puts apiVersion, kind and metadata first', () => {
    expect(
      Object.keys(readableOrder({ data: {}, metadata: {}, kind: 'K', apiVersion: 'v1' })),
    ).toEqual(['apiVersion', 'kind', 'metadata', 'data']);
  });

  it('accepts the formats kubectl users type', () => {
    expect(parseOutputFormat(undefined)).toBe('table');
    expect(parseOutputFormat('=yaml')).toBe('yaml');
    expect(parseOutputFormat('wide')).toBe('wide');
    expect(() => parseOutputFormat('xml')).toThrow(/allowed formats are: json,name,wide,yaml/);
  });
});
