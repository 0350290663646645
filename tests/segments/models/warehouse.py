"""Small warehouses for the model tests: events, orders, items and channels by hand.

Times are local Asia/Shanghai wall-clock strings ("2024-03-31 23:59"); a person is
``coalesce(user_id, anonymous_id)`` for events and ``user_id`` for orders, so tests
need no identity graph.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.storage import Warehouse

SHANGHAI = timezone(timedelta(hours=8))
TODAY = date(2024, 3, 31)


def utc(local: str) -> datetime:
    """A Shanghai wall-clock time as the naive UTC datetime the warehouse stores."""
    moment = datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC).replace(tzinfo=None)


def _us(local: str) -> int:
    return round(datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).timestamp() * 1e6)


@dataclass(frozen=True)
class Ev:
    """One event; its ``seq`` follows the list order."""

    user: str | None
    when: str
    event: str = "view"
    props: dict[str, Any] = field(default_factory=dict)
    type: str = "track"
    anon: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    carrier: str = "mp"
    protocol: str = "sensors"


@dataclass(frozen=True)
class Order:
    """One order of ``user``; ``items`` are item ids (or whole line objects)."""

    user: str
    when: str
    amount: int
    refund: int = 0
    status: str | None = None
    items: tuple[Any, ...] = ()


def build(
    events: list[Ev],
    orders: Sequence[Order] = (),
    items: Sequence[tuple[str, str, dict[str, Any], bool]] = (),
    channels: Sequence[tuple[str, str | None]] = (),
) -> Warehouse:
    """An in-memory warehouse holding the given rows.

    ``items`` are (item_type, item_id, properties, deleted); ``channels`` (code, campaign).
    """
    wh = Warehouse.in_memory()
    append(wh, events, orders, items, channels, prefix="t")
    return wh


def append(
    wh: Warehouse,
    events: list[Ev],
    orders: Sequence[Order] = (),
    items: Sequence[tuple[str, str, dict[str, Any], bool]] = (),
    channels: Sequence[tuple[str, str | None]] = (),
    *,
    prefix: str,
) -> None:
    """Add rows to an existing warehouse (ids start with ``prefix``)."""
    if events:
        records = [
            EventRecord(
                event_id=f"{prefix}e{n}",
                type=e.type,
                event=e.event,
                event_time=_us(e.when),
                received_at=_us(e.when),
                source_id="src",
                protocol=e.protocol,
                carrier=e.carrier,
                user_id=e.user,
                anonymous_id=e.anon,
                properties=json.dumps(e.props, ensure_ascii=False),
                context=json.dumps(e.context, ensure_ascii=False),
            )
            for n, e in enumerate(events)
        ]
        wh.append_events(records_to_arrow(records))
    with wh.transaction() as cur:
        if orders:
            cur.register("_orders", _orders_table(orders, prefix))
            cur.execute("INSERT INTO orders BY NAME SELECT * FROM _orders")
            cur.unregister("_orders")
            wh.number_new_orders(cur)
        for item_type, item_id, props, deleted in items:
            cur.execute(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, TIMESTAMP '2024-01-01')",
                [item_type, item_id, json.dumps(props, ensure_ascii=False), deleted],
            )
        for code, campaign in channels:
            cur.execute(
                "INSERT OR REPLACE INTO channels"
                " VALUES (?, ?, 'qr', ?, 'oa', 0, TIMESTAMP '2024-01-01')",
                [code, code, campaign],
            )


def _orders_table(orders: Sequence[Order], prefix: str) -> pa.Table:
    def line(item: Any) -> Any:
        return {"item_id": item, "qty": 1} if isinstance(item, str) else item

    return pa.table(
        {
            "order_id": [f"{prefix}o{n}" for n in range(len(orders))],
            "user_id": [o.user for o in orders],
            "paid_at": pa.array([utc(o.when) for o in orders], pa.timestamp("us")),
            "amount_fen": pa.array([o.amount for o in orders], pa.int64()),
            "refund_fen": pa.array([o.refund for o in orders], pa.int64()),
            "status": [o.status or _status(o) for o in orders],
            "items": [json.dumps([line(i) for i in o.items], ensure_ascii=False) for o in orders],
            "properties": ["{}"] * len(orders),
            "source_id": ["test-orders"] * len(orders),
            "loaded_at": pa.array([datetime(2024, 4, 1)] * len(orders), pa.timestamp("us")),
        }
    )


def _status(order: Order) -> str:
    return "refunded" if 0 < order.amount <= order.refund else "paid"


def tables(con: Any) -> dict[str, ir.Table]:
    """events and orders with a ``person_id``, items and channels, from a backend."""
    events = con.table("events")
    events = events.mutate(person_id=ibis.coalesce(events.user_id, events.anonymous_id))
    orders = con.table("orders")
    orders = orders.mutate(person_id=orders.user_id)
    return {
        "events": events.filter(events.person_id.notnull()),
        "orders": orders,
        "items": con.table("items"),
        "channels": con.table("channels"),
    }


def rows(expr: ir.Table) -> list[dict[str, Any]]:
    """The rows of an expression as dicts."""
    found: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return found
