#!/usr/bin/env python3
"""snowflake IDs through SQLAlchemy's ORM: a primary key with
server_default=text("snowflake_next_id()"), which SQLAlchemy reads back from
the INSERT (RETURNING) when the session flushes.

Connects with the PG* environment variables (PGHOST, PGPORT, PGDATABASE,
PGUSER): the URL names only the driver. Exits non-zero (AssertionError) if an
ID changes on its way through the client: every key is compared with the
server's own text of it.
"""
from sqlalchemy import BigInteger, Column, ForeignKey, Text, create_engine, text
from sqlalchemy.orm import Session, declarative_base, relationship

Base = declarative_base()


class Order(Base):
    __tablename__ = "orders"
    id = Column(BigInteger, primary_key=True, server_default=text("snowflake_next_id()"))
    item = Column(Text, nullable=False)
    lines = relationship("OrderLine", back_populates="order")


class OrderLine(Base):
    __tablename__ = "order_lines"
    id = Column(BigInteger, primary_key=True, server_default=text("snowflake_next_id()"))
    order_id = Column(BigInteger, ForeignKey("orders.id"), nullable=False)
    order = relationship(Order, back_populates="lines")


# psycopg2: SQLAlchemy 1.4 (Debian 12) has no dialect for psycopg 3; 2.0 has
# both ("postgresql+psycopg://").
engine = create_engine("postgresql+psycopg2://", future=True)
Base.metadata.drop_all(engine)
Base.metadata.create_all(engine)

with Session(engine) as session:
    orders = [Order(item=item, lines=[OrderLine(), OrderLine()]) for item in ("tea", "cake", "scones")]
    session.add_all(orders)
    session.flush()  # INSERT ... RETURNING orders.id, then the lines with their order's id
    order_texts = session.execute(text("SELECT id::text FROM orders ORDER BY id")).scalars().all()
    assert [str(order.id) for order in orders] == order_texts, order_texts
    line_texts = session.execute(
        text("SELECT id::text, order_id::text FROM order_lines ORDER BY id")).all()
    lines = sorted((line for order in orders for line in order.lines), key=lambda line: line.id)
    assert [(str(line.id), str(line.order_id)) for line in lines] == [tuple(r) for r in line_texts], line_texts
    assert all(isinstance(o.id, int) for o in orders + lines)
    session.commit()
    order = orders[0]
    print(f"inserted orders {[o.id for o in orders]}, each with two lines")

with Session(engine) as session:
    again = session.get(Order, order.id)
    assert again is not None and again.item == "tea", "the key read back does not find its row"
    print(f"read back order {again.id} by its key")
