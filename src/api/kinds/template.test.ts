import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import {
  templateDescriptionColumn,
  templateKind,
  templateParametersColumn,
  type Template,
} from './template.js';

function causes(input: unknown): { field?: string; message: string }[] {
  try {
    validateObject(templateKind, input);
  } catch (err) {
    if (err instanceof ApiError)
      return (err.details?.causes ?? []).map(({ field, message }) => ({ field, message }));
    throw err;
  }
  return [];
}

const base = { apiVersion: 'template.openshift.io/v1', kind: 'Template', metadata: { name: 't' } };

describe('Template kind', () => {
  it('accepts OpenShift templates, with the bare v1 apiVersion too', () => {
    const t = validateObject(templateKind, {
      ...base,
      apiVersion: 'v1',
      labels: { template: 't', app: '${NAME}' },
      parameters: [
        { name: 'NAME', value: 'web', displayName: 'Name', description: 'the name' },
        { name: 'PASSWORD', generate: 'expression', from: '[\\w]{8}', required: true },
      ],
      objects: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: '${NAME}' },
          spec: { ports: '${{PORTS}}' },
        },
      ],
      message: 'done',
    });
    expect(t.apiVersion).toBe('template.openshift.io/v1');
    expect((t as Template).objects).toHaveLength(1);
  });

  it('names bad, duplicate and unsupported parameters', () => {
    expect(
      causes({
        ...base,
        parameters: [
          { name: 'BAD-NAME' },
          { name: 'A' },
          { name: 'A' },
          { name: 'G', generate: 'template' },
          { name: 'H', generate: 'expression' },
          { name: 'I', generate: 'expression', from: '[a-z]+' },
          { name: '' },
        ],
      }),
    ).toEqual([
      {
        field: 'parameters[0].name',
        message: 'Invalid value: "BAD-NAME": does not match ^[a-zA-Z0-9_]+$',
      },
      { field: 'parameters[2].name', message: 'Duplicate value: "A"' },
      {
        field: 'parameters[3].generate',
        message: 'Unsupported value: "template": supported values: "expression"',
      },
      {
        field: 'parameters[4].from',
        message: 'Required value: generate: expression needs an expression in from',
      },
      {
        field: 'parameters[5].from',
        message:
          'Invalid value: malformed expression "[a-z]+": [a-z] must be followed by a count in braces, e.g. [a-z]{8}',
      },
      { field: 'parameters[6].name', message: 'Required value' },
    ]);
  });

  it('checks literal labels and objects that are not mappings', () => {
    expect(causes({ ...base, labels: { 'bad key!': 'x' } })[0]?.field).toBe('labels');
    expect(causes({ ...base, objects: ['text'] })[0]?.field).toBe('objects[0]');
  });

  it('prints the columns oc prints', () => {
    const t = validateObject(templateKind, {
      ...base,
      metadata: { name: 't', annotations: { description: `${'x'.repeat(90)}\nmore` } },
      parameters: [
        { name: 'A', value: '1' },
        { name: 'B', generate: 'expression', from: '[a-z]{2}' },
      ],
    }) as Template;
    expect(templateParametersColumn(t)).toBe('2 (1 generated)');
    expect(templateParametersColumn({ ...t, parameters: [{ name: 'A' }] })).toBe('1 (1 blank)');
    expect(templateParametersColumn({ ...t, parameters: [] })).toBe('0 (all set)');
    expect(templateDescriptionColumn(t)).toBe(`${'x'.repeat(80)}...`);
    expect(
      templateDescriptionColumn({
        ...t,
        metadata: { name: 't', annotations: { description: 'short' } },
      }),
    ).toBe('short');
    expect(templateKind.columns.map((c) => c.header)).toEqual([
      'DESCRIPTION',
      'PARAMETERS',
      'OBJECTS',
      'AGE',
    ]);
  });
});
