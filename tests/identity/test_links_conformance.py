"""`event_links` and `order_links` give the same rows on DuckDB and on Spark."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pytest

from siyu.identity.links import LINK_COLUMNS, event_links, order_links
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.conformance import BackendPair
from tests.identity.population import Order, append, event, generate, write_orders

pytestmark = [pytest.mark.spark, pytest.mark.slow]

RULES = IdentityRules()
KEYS = ["seq", "sub"]


@pytest.fixture(scope="module")
def warehouse() -> Warehouse:
    w = Warehouse.in_memory()
    pop = generate(n_persons=80, seed=7)
    append(w, pop.events)
    append(
        w,
        [
            # Ties in priority break on type then value; the map and columns overlap.
            event("t1", {"custom_b": "x", "custom_a": "y", "login_id": "u1"}, user_id="u1"),
            event("t2", {"mp_openid": "o1", "oa_openid": "o2"}, app_id="wx1", previous_id="p1"),
            event("t3", {"mp_openid": "o3"}),  # no app id: the plain type
            event("t4", {"unionid": "n1", "phone": "13800138000"}, type="unbind", user_id="u9"),
            event("t5", type="unbind", user_id="u9", anonymous_id="a9"),
            event("t6", {}, type="track"),  # no ids: no rows
        ],
    )
    write_orders(
        w,
        [
            *pop.orders,
            Order("x1", member_id="m1", user_id="u1", identities={"unionid": "n1"}),
            Order("x2", identities={"phone": "13800138000"}),
        ],
    )
    return w


def test_event_links_are_the_same_on_spark(
    backend_pair: Callable[[Warehouse], BackendPair], warehouse: Warehouse
) -> None:
    pair = backend_pair(warehouse)

    def build(con: ibis.BaseBackend) -> ibis.Table:
        return event_links(con.table("events"), RULES)

    rows = pair.assert_same(build, order_by=KEYS)
    assert list(rows.columns) == list(LINK_COLUMNS)
    assert set(rows["kind"]) == {"node", "link", "unbind"}
    assert not rows.duplicated(KEYS).any()


def test_order_links_are_the_same_on_spark(
    backend_pair: Callable[[Warehouse], BackendPair], warehouse: Warehouse
) -> None:
    pair = backend_pair(warehouse)

    def build(con: ibis.BaseBackend) -> ibis.Table:
        return order_links(con.table("orders"), RULES)

    rows = pair.assert_same(build, order_by=KEYS)
    assert set(rows["origin"]) == {"order"}
    assert set(rows["kind"]) == {"node", "link"}
    assert rows.loc[rows["ref"] == "x1", "a_type"].unique().tolist() == ["member_id"]


def test_events_resolve_to_the_same_persons_on_spark(
    backend_pair: Callable[[Warehouse], BackendPair], warehouse: Warehouse
) -> None:
    """The event -> person attribution analytics use reads the same on both engines."""
    from siyu.identity.graph import rebuild
    from siyu.identity.resolution import events_with_person, orders_with_person

    rebuild(warehouse, RULES)
    pair = backend_pair(warehouse)

    def events(con: ibis.BaseBackend) -> ibis.Table:
        joined = events_with_person(con.table("events"), con.table("identities"))
        return joined.select("seq", "event_id", "person_id")

    rows = pair.assert_same(events, order_by=["seq"])
    attributed = rows.dropna(subset=["person_id"])
    assert len(attributed) >= len(rows) - 1  # t6 carries no id
    assert attributed["person_id"].str.match(r"^p[0-9a-f]{20}$").all()

    def orders(con: ibis.BaseBackend) -> ibis.Table:
        joined = orders_with_person(con.table("orders"), con.table("identities"))
        return joined.select("order_id", "person_id")

    bought = pair.assert_same(orders, order_by=["order_id"])
    assert bought["person_id"].notna().all()
