#!/usr/bin/env python3
"""snowflake IDs through Django's ORM: a model whose primary key defaults in
the database (DEFAULT snowflake_next_id()), read back after save().

The field is a BigAutoField whose column is a plain bigint: Django leaves an
auto field out of the INSERT and reads it back with RETURNING, as it does for
a serial; the column's default, not a sequence, fills it. (Django 5.0 and
later can say the same with db_default; this works from Django 3.2, Debian
12's, on.) In an application the table comes from a migration: CreateModel,
then RunSQL with the ALTER below.

A single file for the example: settings.configure() stands for settings.py.
Connects with the PG* environment variables (PGHOST, PGPORT, PGDATABASE,
PGUSER). Exits non-zero (AssertionError) if an ID changes on its way through
the client: every key is compared with the server's own text of it.
"""
import os

import django
from django.conf import settings

settings.configure(
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            # Empty values are left to libpq, which reads PGHOST etc.
            "NAME": os.environ.get("PGDATABASE", "postgres"),
        }
    },
    USE_TZ=True,
)
django.setup()

from django.db import connection, models  # noqa: E402 (after setup)


class SnowflakeAutoField(models.BigAutoField):
    """A bigint key that the database fills: DEFAULT snowflake_next_id()."""

    def db_type(self, connection):
        return "bigint"  # not bigserial: no sequence


class Order(models.Model):
    id = SnowflakeAutoField(primary_key=True)
    item = models.TextField()

    class Meta:
        app_label = "shop"
        db_table = "orders"


with connection.cursor() as cursor:
    cursor.execute("DROP TABLE IF EXISTS orders")
with connection.schema_editor() as editor:
    editor.create_model(Order)
    editor.execute("ALTER TABLE orders ALTER COLUMN id SET DEFAULT snowflake_next_id()")

for item in ("tea", "cake"):
    order = Order(item=item)
    order.save()  # INSERT ... RETURNING "orders"."id"
    assert isinstance(order.pk, int), order.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT id::text FROM orders WHERE item = %s", [item])
        (server_text,) = cursor.fetchone()
    assert str(order.pk) == server_text, (order.pk, server_text)
    assert Order.objects.get(pk=order.pk).item == item, "the key read back does not find its row"
    print(f"saved order {order.pk} ({item}), read back by its key")

# Many rows in one INSERT: bulk_create() reads their keys back too.
orders = Order.objects.bulk_create([Order(item=f"bulk {n}") for n in range(100)])
with connection.cursor() as cursor:
    cursor.execute("SELECT id::text FROM orders WHERE item LIKE 'bulk %' ORDER BY id")
    server_texts = [text for (text,) in cursor.fetchall()]
assert [str(order.pk) for order in orders] == server_texts, "bulk_create() keys differ from the server's"
print(f"bulk_create(): {len(orders)} orders, keys read back, all exact")
