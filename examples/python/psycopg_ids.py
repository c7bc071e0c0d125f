#!/usr/bin/env python3
"""snowflake IDs through psycopg 3: a key from DEFAULT snowflake_next_id() read
back with RETURNING (text and binary results), and snowflake_next_ids(n) as a
client-side pool of keys for a bulk loader that needs keys before it inserts
(parents and children in one COPY each).

Connects with the PG* environment variables (PGHOST, PGPORT, PGDATABASE,
PGUSER). Exits non-zero (AssertionError) if an ID changes on its way through
the client: every key is compared with the server's own text of it.
"""
import psycopg


class KeyPool:
    """Keys of this server, drawn n at a time with snowflake_next_ids(n)."""

    def __init__(self, conn, batch=1000):
        self.conn, self.batch, self.keys = conn, batch, []

    def next(self):
        if not self.keys:
            rows = self.conn.execute("SELECT id, id::text FROM snowflake_next_ids(%s) AS id", (self.batch,))
            self.keys = []
            for id, server_text in rows:
                assert str(id) == server_text, f"ID changed: the server sent {server_text}, the client has {id}"
                self.keys.append(id)
            self.keys.reverse()  # pop() from the end hands them out in order
        return self.keys.pop()


with psycopg.connect("", autocommit=True) as conn:
    conn.execute("DROP TABLE IF EXISTS order_lines, orders")
    conn.execute("""CREATE TABLE orders (
                      id   bigint PRIMARY KEY DEFAULT snowflake_next_id(),
                      item text NOT NULL)""")
    conn.execute("""CREATE TABLE order_lines (
                      id       bigint PRIMARY KEY DEFAULT snowflake_next_id(),
                      order_id bigint NOT NULL REFERENCES orders,
                      qty      integer NOT NULL)""")

    # Keys from the INSERT itself, in text results, then in binary ones.
    for binary in (False, True):
        with conn.cursor(binary=binary) as cur:
            cur.execute("INSERT INTO orders (item) VALUES ('tea'), ('cake'), ('scones') "
                        "RETURNING id, id::text")
            for id, server_text in cur.fetchall():
                assert isinstance(id, int) and str(id) == server_text, (id, server_text)
            print(f"inserted orders up to {id} ({'binary' if binary else 'text'} results)")

    # A bulk load with keys known before the insert: each order's lines
    # reference it in the same load, so the keys come from a pool.
    pool = KeyPool(conn, batch=500)
    orders, lines = [], []
    for n in range(1200):
        order_id = pool.next()
        orders.append((order_id, f"bulk {n}"))
        lines += [(pool.next(), order_id, qty) for qty in (1, 2)]
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy("COPY orders (id, item) FROM STDIN") as copy:
            for row in orders:
                copy.write_row(row)
        with cur.copy("COPY order_lines (id, order_id, qty) FROM STDIN") as copy:
            for row in lines:
                copy.write_row(row)

    keys = [id for id, _ in orders] + [id for id, _, _ in lines]
    assert len(set(keys)) == len(keys), "a key was handed out twice"
    (server,) = conn.execute("""SELECT array_agg(id::text) FROM (
                                  SELECT id FROM orders WHERE item LIKE 'bulk %'
                                  UNION ALL SELECT id FROM order_lines) AS k""").fetchone()
    assert sorted(server) == sorted(str(k) for k in keys), "the server holds other keys than the pool gave"
    (joined,) = conn.execute("SELECT count(*) FROM orders JOIN order_lines ON order_id = orders.id").fetchone()
    assert joined == len(lines), joined
    print(f"bulk load: {len(orders)} orders, {len(lines)} lines, keys from snowflake_next_ids(500), all exact")
