"""Fixtures of the pipeline tests: a hand-made warehouse with known answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.storage import Warehouse

SHANGHAI = timezone(timedelta(hours=8))


def _us(local: str) -> int:
    """Microseconds of a Shanghai local time like '2024-03-01 23:59:30'."""
    moment = datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
    return round(moment.timestamp() * 1_000_000)


def _event(
    n: int, when: str, carrier: str, event: str, user: str | None, anon: str | None = None
) -> EventRecord:
    t = _us(when)
    return EventRecord(
        event_id=f"t{n}", type="track", event=event, event_time=t, received_at=t,
        source_id="test", protocol="demo", carrier=carrier, user_id=user, anonymous_id=anon,
    )  # fmt: skip


EVENTS = [
    ("2024-02-28 20:00:00", "mp", "$MPLaunch", "u5", None),  # before the period: u5 not new
    ("2024-03-01 20:00:00", "mp", "$MPLaunch", "u5", None),
    ("2024-03-01 10:00:00", "mp", "view_item", "u1", None),
    ("2024-03-01 10:05:00", "mp", "add_to_cart", "u1", None),
    ("2024-03-01 10:06:00", "mp", "checkout", "u1", None),
    ("2024-03-01 10:07:00", "mp", "order_paid", "u1", None),
    ("2024-03-01 23:59:30", "mp", "$MPShow", "u1", None),
    ("2024-03-02 00:00:30", "mp", "$MPShow", "u1", None),  # next local day: u1 retained
    ("2024-03-01 23:59:59.700", "mp", "$MPHide", "u2", None),  # still 03-01
    ("2024-03-01 11:00:00", "mp", "add_to_cart", "u2", None),  # before its view: not counted
    ("2024-03-01 12:00:00", "mp", "view_item", "u2", None),
    ("2024-03-01 10:00:00", "app", "view_item", None, "a3"),
    ("2024-03-01 10:01:00", "app", "add_to_cart", None, "a3"),
    ("2024-03-01 10:02:00", "app", "checkout", None, "a3"),
    ("2024-03-02 23:59:59", "app", "$AppStart", None, "a3"),
    ("2024-03-02 08:00:00", "app", "$AppStart", "u4", "d4"),
    ("2024-03-03 00:00:00", "app", "$AppStart", "u4", "d4"),  # after the period
]

ORDERS = [
    ("o1", "2024-03-01 23:59:59", 1000, 0),
    ("o2", "2024-03-02 00:00:00", 2500, 2500),
    ("o3", "2024-03-02 12:00:00", 500, 0),
]


@pytest.fixture
def fixture_warehouse() -> Iterator[Warehouse]:
    warehouse = Warehouse.in_memory()
    warehouse.append_events(records_to_arrow([_event(n, *e) for n, e in enumerate(EVENTS)]))
    orders = pa.table(
        {
            "order_id": [o[0] for o in ORDERS],
            "member_id": ["u1", "u1", "u4"],
            "paid_at": pa.array([_us(o[1]) for o in ORDERS], pa.timestamp("us")),
            "amount_fen": [o[2] for o in ORDERS],
            "refund_fen": [o[3] for o in ORDERS],
            "status": ["paid", "refunded", "paid"],
            "items": ["[]"] * 3,
            "properties": ["{}"] * 3,
            "source_id": ["test"] * 3,
            "loaded_at": pa.array([_us(o[1]) for o in ORDERS], pa.timestamp("us")),
        }
    )
    with warehouse.transaction() as cur:
        cur.register("o", orders)
        cur.execute("INSERT INTO orders BY NAME SELECT * FROM o")
    yield warehouse
    warehouse.close()
