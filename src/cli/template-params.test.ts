import { describe, expect, it } from 'vitest';
import { combineParams, parseParamArgs, parseParamFile } from './template-params.js';

describe('template parameters from the command line and files', () => {
  it('parses KEY=VALUE, keeping = in values', () => {
    expect(parseParamArgs(['A=1', 'B=x=y', 'C='])).toEqual(
      new Map([
        ['A', '1'],
        ['B', 'x=y'],
        ['C', ''],
      ]),
    );
  });

  it('refuses bad names, missing = and repeats', () => {
    expect(() => parseParamArgs(['BAD-NAME=1'])).toThrow(
      'invalid parameter assignment in "BAD-NAME=1": "BAD-NAME" is not a parameter name (letters, digits and _ only)',
    );
    expect(() => parseParamArgs(['NOVALUE'])).toThrow(
      'invalid parameter assignment in "NOVALUE": expected KEY=VALUE',
    );
    expect(() => parseParamArgs(['B=1', 'A=1', 'B=2', 'A=3'])).toThrow(
      'The following parameters were provided more than once: A, B',
    );
  });

  it('reads env files: comments, export, quotes', () => {
    const text = [
      '# settings',
      '',
      'NAME=web',
      'export REPLICAS = 3',
      'SINGLE=\'a "b" $c\'',
      'DOUBLE="line1\\nline2 \\"q\\""',
      'NAME=api',
    ].join('\n');
    expect(parseParamFile({ name: 'p.env', text })).toEqual(
      new Map([
        ['NAME', 'api'],
        ['REPLICAS', '3'],
        ['SINGLE', 'a "b" $c'],
        ['DOUBLE', 'line1\nline2 "q"'],
      ]),
    );
    expect(() => parseParamFile({ name: 'p.env', text: 'ok=1\nnot a line' })).toThrow(
      'invalid parameter assignment in p.env, line 2: expected KEY=VALUE',
    );
    expect(() => parseParamFile({ name: '-', text: 'a-b=1' })).toThrow(
      'invalid parameter assignment in standard input, line 1',
    );
  });

  it('lets the command line win over files, and earlier files over later ones, with a warning', () => {
    const warnings: string[] = [];
    const out = combineParams(
      new Map([['A', 'cli']]),
      [
        { name: 'one.env', text: 'A=file\nB=one' },
        { name: 'two.env', text: 'B=two\nC=two' },
      ],
      (line) => warnings.push(line),
    );
    expect(out).toEqual(
      new Map([
        ['A', 'cli'],
        ['B', 'one'],
        ['C', 'two'],
      ]),
    );
    expect(warnings).toEqual([
      'warning: Template parameter "A" already defined, ignoring value from file "one.env"',
      'warning: Template parameter "B" already defined, ignoring value from file "two.env"',
    ]);
  });
});
