import { describe, expect, it } from 'vitest';
import { editBuffer, editorCommand, EDIT_HEADER, parseEdited } from './edit.js';

describe('edit', () => {
  it('takes the editor from SLIPWAY_EDITOR, KUBE_EDITOR, EDITOR, else vi', () => {
    expect(editorCommand({ SLIPWAY_EDITOR: 'nano', KUBE_EDITOR: 'emacs', EDITOR: 'ed' })).toBe(
      'nano',
    );
    expect(editorCommand({ KUBE_EDITOR: 'emacs', EDITOR: 'ed' })).toBe('emacs');
    expect(editorCommand({ EDITOR: 'code --wait' })).toBe('code --wait');
    expect(editorCommand({})).toBe('vi');
  });

  it('puts errors under the header as comments', () => {
    expect(editBuffer('kind: X\n', ['first\nsecond'])).toBe(
      [...EDIT_HEADER, '# first', '# second', '#', 'kind: X\n'].join('\n'),
    );
  });

  it('reads one object or a List; nothing left means cancelled', () => {
    expect(parseEdited(`${EDIT_HEADER.join('\n')}\nkind: A\n`, 'yaml')).toEqual([{ kind: 'A' }]);
    expect(
      parseEdited('kind: List\nitems:\n- kind: A\n- kind: B\n', 'yaml')?.map((o) => o.kind),
    ).toEqual(['A', 'B']);
    expect(parseEdited(`${EDIT_HEADER.join('\n')}\n`, 'yaml')).toBeUndefined();
    expect(parseEdited('# only\n{"kind": "A"}\n', 'json')).toEqual([{ kind: 'A' }]);
    expect(parseEdited('# only\n\n', 'json')).toBeUndefined();
  });

  it('says what is wrong with what was saved', () => {
    expect(() => parseEdited('kind: [\n', 'yaml')).toThrow('the edited file is not valid YAML');
    expect(() => parseEdited('{"kind": ', 'json')).toThrow('the edited file is not valid JSON');
    expect(() => parseEdited('- a\n- b\n', 'yaml')).toThrow('the edited file must hold an object');
    expect(() => parseEdited('kind: List\nitems: [1]\n', 'yaml')).toThrow(
      'every item of the List must be an object',
    );
  });
});
