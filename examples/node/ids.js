// snowflake IDs through node-postgres (the `pg` package): a key from
// DEFAULT snowflake_next_id() read back with RETURNING, then the defect this
// extension guards against and the guard, side by side:
//   - a bigint key (above 2^53) read through JSON.parse of row_to_json
//     becomes a JavaScript Number: another value;
//   - the same keys as the `snowflake` type are strings in JSON: exact;
//   - node-pg's default for int8 (a string) is exact too.
// Connects with the PG* environment variables (PGHOST, PGPORT, PGDATABASE,
// PGUSER). Exits non-zero if an ID changed on its way to JavaScript where it
// should not have, or did not change where it must.
'use strict';

const assert = require('node:assert/strict');
const { Client } = require('pg');

async function main() {
  const client = new Client();
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS orders, customers');
    await client.query(`CREATE TABLE orders (
      id   bigint PRIMARY KEY DEFAULT snowflake_next_id(),
      item text NOT NULL)`);
    await client.query(`CREATE TABLE customers (
      id   snowflake PRIMARY KEY DEFAULT snowflake_next_id(),
      name text NOT NULL)`);

    // The key, from the INSERT itself. node-pg reads int8 as a string.
    const { rows: [order] } = await client.query(
      'INSERT INTO orders (item) VALUES ($1) RETURNING id, id::text AS server_text', ['tea']);
    assert.equal(typeof order.id, 'string');
    assert.equal(order.id, order.server_text, 'RETURNING id through node-pg');
    console.log(`inserted order ${order.id}`);

    // A batch of keys, as bigint and as snowflake (the same IDs).
    await client.query(`INSERT INTO orders (item) SELECT 'bulk ' || i FROM generate_series(1, 99) AS i`);
    await client.query('INSERT INTO customers (id, name) SELECT id, item FROM orders');

    // The defect: node-pg parses json with JSON.parse, so a bigint in
    // row_to_json arrives as a Number, which holds 53 bits.
    const bigints = await client.query(
      'SELECT row_to_json(o) AS doc, o.id::text AS server_text FROM orders o ORDER BY o.id');
    let changed = 0;
    for (const { doc, server_text } of bigints.rows) {
      assert.equal(typeof doc.id, 'number');
      if (BigInt(doc.id) !== BigInt(server_text)) changed++;
    }
    assert.ok(changed > 0, 'a bigint key above 2^53 must lose digits in a JavaScript Number');
    const lost = bigints.rows.find(({ doc, server_text }) => BigInt(doc.id) !== BigInt(server_text));
    console.log(`bigint key via JSON.parse(row_to_json): ${lost.server_text} -> ${lost.doc.id}; ` +
      `${changed} of ${bigints.rows.length} keys changed value`);
    // ... and sent back, the changed key names another order, or none.
    const found = await client.query('SELECT id FROM orders WHERE id = $1', [String(lost.doc.id)]);
    assert.ok(found.rows.every(({ id }) => id !== lost.server_text));
    console.log(`  sent back, ${lost.doc.id} finds ${found.rows.length ? 'another order' : 'no order'}`);

    // The guard: the snowflake type's JSON form is a string, kept exact.
    const snowflakes = await client.query(
      'SELECT row_to_json(c) AS doc, c.id, c.id::text AS server_text FROM customers c ORDER BY c.id');
    assert.equal(snowflakes.rows.length, bigints.rows.length);
    for (const { doc, id, server_text } of snowflakes.rows) {
      assert.equal(typeof doc.id, 'string');
      assert.equal(doc.id, server_text, 'snowflake key via JSON.parse(row_to_json)');
      assert.equal(id, server_text, 'snowflake column through node-pg');
    }
    console.log(`snowflake key via JSON.parse(row_to_json): ${snowflakes.rows[0].doc.id}, ` +
      `all ${snowflakes.rows.length} exact`);

    // node-pg's own text form of int8 (its default) is exact as well;
    // BigInt() where arithmetic is wanted.
    const texts = await client.query('SELECT id, id::text AS server_text FROM orders');
    for (const { id, server_text } of texts.rows) {
      assert.equal(id, server_text, 'bigint column through node-pg');
      assert.equal(BigInt(id).toString(), server_text);
    }
    console.log(`bigint column as node-pg's string: all ${texts.rows.length} exact`);
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
