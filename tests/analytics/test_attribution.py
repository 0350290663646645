"""Attribution on hand-made touch paths: every model, the lookback window, direct
conversions, refunds, first conversions, costs -> CAC and ROI, campaign / scene /
content touches, event conversions; conservation on the demo; requests that fail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from siyu.analytics import costs
from siyu.analytics.attribution import DIRECT, MODELS
from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.scope import Context, context_from
from siyu.analytics.service import analyse_with
from siyu.config import Settings
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from tests.segments.models.warehouse import Ev, Order, build

TODAY = date(2024, 3, 31)
TZ = "Asia/Shanghai"
MARCH = {"from": "2024-03-01", "to": "2024-03-31"}

EVENTS = [
    # a: three touches, then an order that is not a's first (a paid in February).
    Ev("a", "2024-02-01 10:00", "view"),
    Ev("a", "2024-03-01 10:00", "SCAN", {"scene": "qr_a"}),
    Ev("a", "2024-03-05 10:00", "$MPLaunch",
       {"$utm_source": "ad_b", "$utm_campaign": "launch", "$scene": 1045}),
    Ev("a", "2024-03-09 10:00", "join_group", {"channel": "c_c"}),
    # b: a touch 65 days before the order (outside a 30-day lookback) and one 8 days
    # before it (outside a 7-day one); signs up after the second.
    Ev("b", "2024-01-15 10:00", "join_group", {"channel": "old"}),
    Ev("b", "2024-03-12 10:00", "join_group", {"channel": "c_c"}),
    Ev("b", "2024-03-12 11:00", "$SignUp"),
    # d: a touch only after the order: direct.
    Ev("d", "2024-03-16 10:00", "join_group", {"channel": "c_c"}),
    # e: two touches (position: 50/50), an article, and an order_paid event.
    Ev("e", "2024-03-20 10:00", "SCAN", {"scene": "qr_a"}),
    Ev("e", "2024-03-21 10:00", "$MPLaunch", {"$utm_source": "ad_b"}),
    Ev("e", "2024-03-21 11:00", "read_article", {"item_id": "A001", "item_type": "article"}),
    Ev("e", "2024-03-22 10:00", "order_paid", {"amount_fen": 2000}),
    # f: a touch, then an order refunded in full: no conversion.
    Ev("f", "2024-03-24 10:00", "join_group", {"channel": "c_c"}),
]  # fmt: skip
ORDERS = [
    Order("a", "2024-02-01 12:00", 1000),
    Order("a", "2024-03-10 10:00", 10_000),
    Order("b", "2024-03-20 10:00", 5000, refund=1000),
    Order("d", "2024-03-15 10:00", 3000),
    Order("e", "2024-03-22 10:00", 2000),
    Order("f", "2024-03-25 10:00", 1000, refund=1000),
]


@pytest.fixture(scope="module")
def paths() -> Iterator[Warehouse]:
    wh = build(
        EVENTS,
        ORDERS,
        items=[("article", "A001", {"title": "共读书单"}, False)],
        channels=[("qr_a", "spring"), ("c_c", "spring")],
    )
    rebuild(wh, IdentityRules())
    yield wh
    wh.close()


def attribution(wh: Warehouse, **body: Any) -> dict[str, Any]:
    ctx = context_from(wh.ibis(), today=TODAY, tz=TZ)
    answer: dict[str, Any] = analyse_with(ctx, "attribution", {**MARCH, **body})
    return answer


def shares(answer: dict[str, Any], model: str, what: str = "conversions") -> dict[str, float]:
    """value -> attributed conversions (or revenue) under ``model``, zeros left out."""
    out = {r["value"]: r["models"][model][what] for r in answer["rows"]}
    return {k: round(v, 4) for k, v in out.items() if v}


def decay(*ages_days: float) -> list[float]:
    weights = [2 ** (-age / 7) for age in ages_days]
    return [w / sum(weights) for w in weights]


def test_every_model_by_hand(paths: Warehouse) -> None:
    answer = attribution(paths, models=list(MODELS))
    totals = answer["totals"]
    assert (totals["conversions"], totals["revenue_fen"], totals["first_conversions"]) == (
        4,
        19_000.0,
        3,
    )
    assert totals["direct"] == 1
    third, half = 1 / 3, 1 / 2
    a, e = decay(9, 5, 1), decay(2, 1)
    expected: dict[str, dict[str, float]] = {
        "first": {"qr_a": 2, "c_c": 1, DIRECT: 1},
        "last": {"c_c": 2, "ad_b": 1, DIRECT: 1},
        "linear": {"qr_a": third + half, "ad_b": third + half, "c_c": third + 1, DIRECT: 1},
        "position": {"qr_a": 0.4 + half, "ad_b": 0.2 + half, "c_c": 0.4 + 1, DIRECT: 1},
        "time_decay": {"qr_a": a[0] + e[0], "ad_b": a[1] + e[1], "c_c": a[2] + 1, DIRECT: 1},
    }
    for model, want in expected.items():
        assert shares(answer, model) == {k: round(v, 4) for k, v in want.items()}, model
    # Revenue follows the same shares: a 10,000, b 4,000 net, e 2,000, d 3,000.
    assert shares(answer, "linear", "revenue_fen") == {
        "qr_a": round(10_000 / 3 + 1000, 2),
        "ad_b": round(10_000 / 3 + 1000, 2),
        "c_c": round(10_000 / 3 + 4000, 2),
        DIRECT: 3000.0,
    }
    # First conversions: b, d and e paid for the first time; a had paid in February.
    assert shares(answer, "first", "first_conversions") == {"qr_a": 1, "c_c": 1, DIRECT: 1}


def test_conversions_are_conserved_in_every_model(paths: Warehouse) -> None:
    answer = attribution(paths, models=list(MODELS), top=1)
    assert [r["value"] for r in answer["rows"]][-2:] == ["(other)", DIRECT]
    for model in MODELS:
        total = sum(r["models"][model]["conversions"] for r in answer["rows"])
        revenue = sum(r["models"][model]["revenue_fen"] for r in answer["rows"])
        assert total == pytest.approx(4) and revenue == pytest.approx(19_000), model
        assert answer["totals"]["by_model"][model]["conversions"] == pytest.approx(4)


def test_lookback_window_excludes_old_touches(paths: Warehouse) -> None:
    week = attribution(paths, models=["first", "last"], lookback="7d")
    # a's 03-01 touch and b's 03-12 touch are more than 7 days before their orders.
    assert shares(week, "first") == {"ad_b": 1, "qr_a": 1, DIRECT: 2}
    assert shares(week, "last") == {"c_c": 1, "ad_b": 1, DIRECT: 2}
    assert week["totals"]["direct"] == 2
    month = attribution(paths, model="first", lookback="30d")
    assert "old" not in shares(month, "first")  # b's January touch: 65 days before


def test_costs_give_cac_and_roi(paths: Warehouse, tmp_path: Path) -> None:
    runtime = Runtime.open(Settings(home=tmp_path, parse_workers=0), warehouse=paths)
    entries = [
        costs.add(runtime, dimension="channel", key="c_c", cost_fen=31_000,
                  **{"from": "2024-03-01", "to": "2024-03-31"}),
        # 31 days (Feb 15-29 and Mar 1-16), 16 of them in March: 1,600 fen counted.
        costs.add(runtime, dimension="channel", key="qr_a", cost_yuan="31",
                  **{"from": "2024-02-15", "to": "2024-03-16"}),
    ]  # fmt: skip
    try:
        answer = attribution(paths, models=["last", "first"])
        rows = {r["value"]: r for r in answer["rows"]}
        assert rows["c_c"]["cost_fen"] == 31_000 and rows["qr_a"]["cost_fen"] == 1600
        last = rows["c_c"]["models"]["last"]  # a (10,000, not first) and b (4,000, first)
        assert last["cost_per_conversion_fen"] == 15_500 and last["cac_fen"] == 31_000
        assert last["roi"] == round((14_000 - 31_000) / 31_000, 4)
        first = rows["qr_a"]["models"]["first"]  # a (10,000) and e (2,000, first)
        assert first["cac_fen"] == 1600 and first["roi"] == 6.5
        assert rows["ad_b"]["cost_fen"] is None and rows["ad_b"]["models"]["last"]["roi"] is None
        assert answer["totals"]["cost_fen"] == 32_600
        assert answer["totals"]["roi"] == round((19_000 - 32_600) / 32_600, 4)
        # Channel costs count for their code's campaign in the campaign view.
        campaign = attribution(paths, touch="campaign", model="last")
        spring = next(r for r in campaign["rows"] if r["value"] == "spring")
        assert spring["cost_fen"] == 32_600
        assert shares(campaign, "last") == {"spring": 3, DIRECT: 1}
    finally:
        for entry in entries:
            costs.remove(runtime, entry["cost_id"])


def test_campaign_scene_and_content_touches(paths: Warehouse) -> None:
    campaign = attribution(paths, touch="campaign", model="linear")
    # a: spring (qr_a's campaign), launch (utm), spring (c_c's); b: spring; e: spring.
    assert shares(campaign, "linear") == {
        "spring": round(2 / 3 + 1 + 1, 4),
        "launch": round(1 / 3, 4),
        DIRECT: 1,
    }
    scene = attribution(paths, touch="scene", model="last")
    assert shares(scene, "last") == {"1045": 1, DIRECT: 3}
    assert next(r for r in scene["rows"] if r["value"] == "1045")["label"] == "1045 朋友圈广告"
    content = attribution(paths, touch="content", model="last")
    assert shares(content, "last") == {"article:A001": 1, DIRECT: 3}
    assert content["rows"][0]["label"] == "共读书单"


def test_event_conversions(paths: Warehouse) -> None:
    signup = attribution(paths, conversion="$SignUp", model="last")
    assert shares(signup, "last") == {"c_c": 1}
    assert signup["totals"]["revenue_fen"] is None
    assert signup["rows"][0]["models"]["last"]["revenue_fen"] is None
    paid = attribution(paths, conversion="order_paid", model="last", value_property="amount_fen")
    assert shares(paid, "last", "revenue_fen") == {"ad_b": 2000.0}


def test_requests_that_fail(paths: Warehouse) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"conversion": "singup"}, "conversion", "no event 'singup'"),
        ({"lookback": "0d"}, "lookback", "longer than 0"),
        ({"half_life": "soon"}, "half_life", "not a duration"),
        ({"model": "lastt"}, "model", "'first', 'last'"),
        ({"model": "last", "models": ["first"]}, "", "not both"),
        ({"models": ["first", "first"]}, "", "twice"),
        ({"models": []}, "models", "at least 1"),
        ({"touch": "city"}, "touch", "'channel', 'campaign'"),
        ({"top": 0}, "top", "greater than or equal to 1"),
        ({"value_property": "amount"}, "", "event conversions"),
        ({"content_events": ["read_article"]}, "", "touch 'content' only"),
        ({"touch": "content", "content_events": ["read_articel"]}, "content_events.0", "did you"),
        ({"segment": "no_such_set"}, "segment", "segments compute"),
        ({"from": "2024-03-05", "to": "2024-03-01"}, "from", "swap them"),
        ({"window": "7d"}, "window", "unknown field"),
    ]
    for body, where, words in cases:
        with pytest.raises(InvalidRequest, match=words) as caught:
            attribution(paths, **body)
        assert caught.value.field == where, body


def test_demo_conserves_conversions_for_every_touch(demo_context: Context) -> None:
    for touch in ("channel", "campaign", "scene", "content"):
        answer = analyse_with(
            demo_context, "attribution", {"touch": touch, "models": list(MODELS), "top": 5}
        )
        total = answer["totals"]["conversions"]
        assert total > 50, touch
        for model in MODELS:
            attributed = sum(r["models"][model]["conversions"] for r in answer["rows"])
            assert attributed == pytest.approx(total), (touch, model)
            revenue = sum(r["models"][model]["revenue_fen"] for r in answer["rows"])
            assert revenue == pytest.approx(answer["totals"]["revenue_fen"]), (touch, model)
    active = analyse_with(demo_context, "attribution", {"segment": "lifecycle:active"})
    assert 0 < active["totals"]["conversions"] < total
