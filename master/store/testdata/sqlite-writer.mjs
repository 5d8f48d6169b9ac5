// Writes to a sqlite store as fast as it can until killed, printing one line per acknowledged
// write. Run by sqlite-durability.test.ts as a separate process, which kill -9s it.
//
//   node sqlite-writer.mjs <db path> <round>
//
// Lines: `create <key> <revision>` for a single create; `txn <round>/<n> <revision>` for a txn
// that creates t/<round>/<n>/0..2 and moves the key `counter` to `<round>/<n>`.
//
// The store's TypeScript sources run directly (Node strips the types); their `.js` import
// specifiers are mapped to the `.ts` files next to them.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      specifier.startsWith('.') &&
      specifier.endsWith('.js') &&
      context.parentURL?.endsWith('.ts')
    ) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
    return nextResolve(specifier, context);
  },
});

const { SqliteStore } = await import('../sqlite.ts');

const [path, round] = process.argv.slice(2);
if (!path || !round) throw new Error('usage: sqlite-writer.mjs <db path> <round>');

const store = new SqliteStore(path);
const ack = (line) => process.stdout.write(`${line}\n`);

let counter = await store.get('counter');
if (!counter) counter = await store.create('counter', '');
ack(`ready ${await store.currentRevision()}`);

for (let n = 0; ; n++) {
  if (n % 2 === 0) {
    const key = `k/${round}/${n}`;
    const kv = await store.create(key, `value ${key}`);
    ack(`create ${key} ${kv.modRevision}`);
  } else {
    const id = `${round}/${n}`;
    const revision = await store.txn([
      { op: 'create', key: `t/${id}/0`, value: id },
      { op: 'create', key: `t/${id}/1`, value: id },
      { op: 'create', key: `t/${id}/2`, value: id },
      { op: 'update', key: 'counter', value: id, expectedModRevision: counter.modRevision },
    ]);
    counter = { ...counter, value: id, modRevision: revision };
    ack(`txn ${id} ${revision}`);
  }
}
