import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseManifests, readManifests } from './manifests.js';

const two = `apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---
# a comment-only document is skipped
---
apiVersion: v1
kind: Secret
metadata:
  name: b
`;

describe('parseManifests', () => {
  it('reads every document with its number and starting line', () => {
    const out = parseManifests(two, 'app.yaml');
    expect(out.map((m) => [m.object.kind, m.document, m.line])).toEqual([
      ['ConfigMap', 1, 1],
      ['Secret', 3, 8],
    ]);
  });

  it('expands kind: List (and *List) documents', () => {
    const list = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } },
      ],
    });
    expect(parseManifests(list, 'list.json').map((m) => m.object.metadata.name)).toEqual([
      'a',
      'b',
    ]);
  });

  it('names the source, document and line of syntax errors', () => {
    const bad = `${two}---\nkind: ConfigMap\nmetadata:\n  name: x\n bad: [\n`;
    expect(() => parseManifests(bad, 'app.yaml')).toThrow(
      /^error parsing app\.yaml: document 4: line 1[3-6]: /,
    );
  });

  it('refuses documents without apiVersion or kind, or that are not mappings', () => {
    expect(() => parseManifests('metadata:\n  name: x\n', 'STDIN')).toThrow(
      'error validating STDIN: document 1 (line 1): apiVersion not set, kind not set',
    );
    expect(() => parseManifests('- a\n- b\n', 'STDIN')).toThrow(/expected a mapping/);
    expect(() =>
      parseManifests('{"apiVersion":"v1","kind":"List","items":[{"kind":"X"}]}', 'l.json'),
    ).toThrow(/items\[0\]: apiVersion not set/);
  });
});

describe('readManifests', () => {
  it('reads files, directories (only manifest files, in name order) and stdin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-manifests-'));
    await writeFile(
      join(dir, 'b.yml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-b\n',
    );
    await writeFile(
      join(dir, 'a.json'),
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"from-a"}}',
    );
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    const stdin = Readable.from(['apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-stdin\n']);
    const out = await readManifests([dir, '-'], stdin);
    expect(out.map((m) => [m.source.replace(dir, 'DIR'), m.object.metadata.name])).toEqual([
      ['DIR/a.json', 'from-a'],
      ['DIR/b.yml', 'from-b'],
      ['STDIN', 'from-stdin'],
    ]);
  });

  it('says which path does not exist, and refuses empty input', async () => {
    await expect(readManifests(['/nonexistent/x.yaml'], Readable.from([]))).rejects.toThrow(
      'the path "/nonexistent/x.yaml" does not exist',
    );
    await expect(readManifests(['-'], Readable.from(['\n']))).rejects.toThrow(
      'no objects passed to the command',
    );
  });
});
