"""The demo data set: deterministic, realistic numbers, linked identities, loadable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from siyu.config import Settings
from siyu.demo import scenario as sc
from siyu.demo.generate import DemoData, generate
from siyu.demo.load import load_demo, run_demo_job
from siyu.ingest.model import EVENT_SCHEMA
from siyu.pipeline.daily import daily_summary
from siyu.runtime import Runtime
from siyu.storage import Warehouse

START = date(2024, 5, 1)


@pytest.fixture(scope="module")
def loaded() -> Iterator[Warehouse]:
    warehouse = Warehouse.in_memory()
    load_demo(warehouse, 3000, 30, 7, start=START)
    yield warehouse
    warehouse.close()


def _ids_checksum(data: DemoData) -> str:
    digest = hashlib.sha256()
    for value in data.events["event_id"].to_pylist():
        digest.update(value.encode())
    return digest.hexdigest()


def test_same_parameters_give_identical_data() -> None:
    first = generate(800, 14, 11, START)
    second = generate(800, 14, 11, START)
    assert first.events.num_rows == second.events.num_rows > 0
    assert _ids_checksum(first) == _ids_checksum(second)
    assert first.events.equals(second.events)
    assert first.orders.equals(second.orders)
    other = generate(800, 14, 12, START)
    assert _ids_checksum(other) != _ids_checksum(first)


def test_events_match_the_schema() -> None:
    data = generate(300, 7, 1, START)
    assert data.events.schema.equals(EVENT_SCHEMA)
    times = data.events["event_time"].cast(pa.int64()).to_numpy()
    assert (times[1:] >= times[:-1]).all()
    assert len(set(data.events["event_id"].to_pylist())) == data.events.num_rows


def test_next_day_retention_falls_in_the_seed_ranges(loaded: Warehouse) -> None:
    summary = daily_summary(loaded.ibis(), "Asia/Shanghai")
    mp = summary["retention"]["mp"]["rate"]
    app = summary["retention"]["app"]["rate"]
    assert 0.10 <= mp <= 0.25, mp
    assert 0.22 <= app <= 0.38, app


def test_funnel_loses_about_a_third_per_step(loaded: Warehouse) -> None:
    funnel = daily_summary(loaded.ibis(), "Asia/Shanghai")["funnel"]
    assert [f["step"] for f in funnel] == ["view_item", "add_to_cart", "checkout", "order_paid"]
    for step in funnel[1:]:
        assert 0.2 <= step["from_previous"] <= 0.72, funnel


def test_persons_appear_under_several_linked_ids(loaded: Warehouse) -> None:
    cur = loaded.cursor()
    (several,) = cur.execute(
        "SELECT count(*) FROM events WHERE cardinality(identities) >= 3"
    ).fetchone() or (0,)
    assert several > 0
    # The same unionid links a mini-program openid and an official-account openid ...
    (linked,) = cur.execute(
        """
        SELECT count(DISTINCT m.u) FROM
          (SELECT identities['unionid'] AS u FROM events WHERE carrier = 'mp') m
          JOIN (SELECT identities['oa_openid'] AS o, identities['unionid'] AS u
                FROM events WHERE carrier = 'oa') a ON m.u = a.u
        """
    ).fetchone() or (0,)
    assert linked > 50
    # ... but not every openid has a unionid, and not every member a phone.
    (no_union,) = cur.execute(
        "SELECT count(DISTINCT anonymous_id) FROM events "
        "WHERE carrier = 'mp' AND identities['unionid'] IS NULL"
    ).fetchone() or (0,)
    assert no_union > 0
    (members, phones) = cur.execute(
        "SELECT count(DISTINCT member_id), count(DISTINCT identities['phone']) FROM orders"
    ).fetchone() or (0, 0)
    assert 0 < phones < members


def test_referral_chains_reach_depth_three(loaded: Warehouse) -> None:
    cur = loaded.cursor()
    rows = cur.execute("SELECT properties FROM events WHERE event = 'invite_accepted'").fetchall()
    depths = [orjson.loads(r[0])["$share_depth"] for r in rows]
    assert max(depths) >= 3
    (poster_follows,) = cur.execute(
        "SELECT count(*) FROM events WHERE event = 'subscribe' "
        "AND json_extract_string(properties, '$.scene') LIKE 'poster:M%'"
    ).fetchone() or (0,)
    assert poster_follows > 0
    (rewards,) = cur.execute(
        "SELECT count(*) FROM events WHERE event = 'invite_reward'"
    ).fetchone() or (0,)
    assert rewards > 0


def test_orders_are_whole_fen_and_match_their_events(loaded: Warehouse) -> None:
    cur = loaded.cursor()
    orders = cur.execute("SELECT order_id, amount_fen, refund_fen, status, items FROM orders")
    rows = orders.fetchall()
    assert len(rows) > 100
    for order_id, amount, refund, status, items in rows:
        assert isinstance(amount, int) and amount > 0
        assert refund in (0, amount)
        assert status == ("refunded" if refund else "paid")
        assert json.loads(items)
        assert order_id.startswith("DD")
    (matched,) = cur.execute(
        "SELECT count(*) FROM orders o JOIN events e ON e.event = 'order_paid' "
        "AND json_extract_string(e.properties, '$.order_id') = o.order_id"
    ).fetchone() or (0,)
    assert matched == len(rows)


def test_reference_tables_are_filled(loaded: Warehouse) -> None:
    cur = loaded.cursor()
    kinds = {r[0] for r in cur.execute("SELECT kind FROM channels").fetchall()}
    assert {"qr", "poster", "wecom_way", "ad"} <= kinds
    (articles,) = cur.execute(
        "SELECT count(*) FROM items WHERE item_type = 'article'"
    ).fetchone() or (0,)
    assert articles == len(sc.ARTICLES)
    sources = {r[0] for r in cur.execute("SELECT source_id FROM sources").fetchall()}
    assert {s.source_id for s in sc.SOURCES} <= sources


def test_loading_twice_adds_nothing() -> None:
    warehouse = Warehouse.in_memory()
    first = load_demo(warehouse, 200, 5, 3, start=START)
    again = load_demo(warehouse, 200, 5, 3, start=START)
    assert first.events_inserted == first.events > 0
    assert again.events_inserted == 0 and again.orders_inserted == 0
    warehouse.close()


def test_demo_job_returns_a_json_ready_summary(tmp_path: Path) -> None:
    runtime = Runtime.open(Settings(home=tmp_path / "home"))
    seen: list[str] = []
    try:
        result = run_demo_job(
            runtime,
            {"users": 300, "days": 7, "seed": 5, "start": "2024-05-01"},
            lambda label, done, total=None: seen.append(label),
        )
    finally:
        runtime.warehouse.close()
    json.dumps(result)
    assert result["persons"] == 300
    assert result["orders"] >= 0 and result["gmv_yuan"] >= 0
    assert set(result["events_by_carrier"]) >= {"mp", "oa", "app", "wecom"}
    assert "loading events" in seen
