"""The same Ibis expressions give the same answers on DuckDB and on Spark."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pytest

from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.storage import Warehouse
from tests.conformance import BackendPair

pytestmark = pytest.mark.spark

DAY = 86_400_000_000
T0 = 1_763_740_800_000_000  # 2025-11-21T16:00:00Z = 2025-11-22 00:00 Asia/Shanghai


@pytest.fixture
def warehouse() -> Warehouse:
    wh = Warehouse.in_memory()
    records = []
    for i in range(60):
        carrier = ("mp", "app", "oa")[i % 3]
        ids = {"phone": f"+86138000{i % 7:05d}"} if i % 2 else {}
        records.append(
            EventRecord(
                event_id=f"e{i}",
                type="track",
                event=("view_item", "add_to_cart", "order_paid")[i % 3],
                event_time=T0 + (i % 5) * DAY + i * 1_000_000,
                received_at=T0 + (i % 5) * DAY + i * 1_000_000,
                source_id="demo",
                protocol="demo",
                carrier=carrier,
                user_id=f"u{i % 11}",
                identities=ids,
            )
        )
    wh.append_events(records_to_arrow(records))
    return wh


def test_counts_by_carrier_and_day(
    backend_pair: Callable[[Warehouse], BackendPair], warehouse: Warehouse
) -> None:
    pair = backend_pair(warehouse)

    def build(con: ibis.BaseBackend) -> ibis.Expr:
        t = con.table("events")
        t = t.mutate(day=t.event_time.truncate("D"))
        return t.group_by(["carrier", "day"]).aggregate(
            events=t.count(), actors=t.user_id.nunique()
        )

    result = pair.assert_same(build, order_by=["carrier", "day"])
    assert int(result["events"].sum()) == 60


def test_typed_identities_read_the_same(
    backend_pair: Callable[[Warehouse], BackendPair], warehouse: Warehouse
) -> None:
    pair = backend_pair(warehouse)

    def build(con: ibis.BaseBackend) -> ibis.Expr:
        t = con.table("events")
        phone = t.identities["phone"]
        return (
            t.filter(phone.notnull())
            .group_by(phone.name("phone"))
            .aggregate(users=t.user_id.nunique(), first=t.event_time.min())
        )

    result = pair.assert_same(build, order_by=["phone"])
    assert len(result) == 7
