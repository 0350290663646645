"""Interest tags: weights, half-life decay, purchases from order lines, min weight, top N."""

from __future__ import annotations

from collections import defaultdict

import pytest

from siyu.segments.dialect import DUCKDB
from siyu.segments.models import interests, load_models_config
from siyu.segments.models.config import ModelsConfig
from siyu.segments.models.interests import tags_in
from tests.segments.models.warehouse import TODAY, Ev, Order, build, rows, tables

ITEMS = [
    ("book", "B1", {"title": "小王子", "category": "童书"}, False),
    ("article", "A1", {"tags": ["亲子", "书单"]}, False),
    ("article", "D1", {"tags": ["书单", "", " 书单 "]}, False),
    ("book", "C1", {"tags": ["gone"]}, True),
]
EVENTS = [
    Ev("p1", "2024-03-31 10:00", "view_item", {"item_id": "B1"}),
    Ev("p1", "2024-03-01 10:00", "favorite", {"item_id": "B1"}),  # 30 days: half
    Ev("p1", "2024-01-31 10:00", "view_item", {"item_id": "A1"}),  # 60 days: a quarter
    Ev("p1", "2024-03-31 10:00", "share", {"item_id": "D1", "share_type": "item"}),
    Ev("p1", "2024-03-31 10:00", "view_item", {"item_id": "C1"}),  # deleted item
    Ev("p1", "2024-03-31 10:00", "view_item", {"title": "no id"}),
    Ev("p1", "2023-03-01 10:00", "view_item", {"item_id": "A1"}),  # outside the window
    Ev("p1", "2024-03-31 10:00", "$MPClick", {"item_id": "B1"}),  # not weighted
    Ev("p1", "2024-04-01 00:00", "view_item", {"item_id": "B1"}),  # tomorrow
    Ev("p2", "2024-03-16 10:00", "view_item", {"item_id": "A1"}),  # 15 days: 2 ** -0.5
]
ORDERS = [
    Order("p1", "2024-03-31 23:59", 5_000, items=("A1", "B1")),
    Order("p1", "2024-03-30 10:00", 5_000, refund=5_000, items=("D1",)),
    Order("p3", "2024-03-31 10:00", 5_000, items=({"item_id": "B1", "qty": 2}, {"title": "x"})),
]


def weights(config: ModelsConfig | None = None) -> dict[str, dict[str, float]]:
    wh = build(EVENTS, ORDERS, ITEMS)
    try:
        t = tables(wh.ibis())
        expr = interests(
            t["events"], t["orders"], t["items"], today=TODAY,
            config=config or ModelsConfig(), dialect=DUCKDB,
        )  # fmt: skip
        found: dict[str, dict[str, float]] = defaultdict(dict)
        for r in rows(expr):
            found[r["person_id"]][r["tag"]] = r["weight"]
        return dict(found)
    finally:
        wh.close()


def test_weights_decay_and_purchases() -> None:
    # 童书: view 1 today + favourite 3 x 0.5 + purchase 5; 书单: view 1 x 0.25 + share 4 +
    # purchase 5; 亲子: view 0.25 + purchase 5. p2's 0.707 per tag is under the minimum 1.
    assert weights() == {
        "p1": {"童书": 7.5, "书单": 9.25, "亲子": 5.25},
        "p3": {"童书": 5.0},
    }


def test_min_weight_and_top_n_with_ties_to_the_smaller_tag() -> None:
    found = weights(load_models_config({"interests": {"min_weight": 0.5, "top_n": 1}}))
    assert found == {"p1": {"书单": 9.25}, "p2": {"书单": 0.707107}, "p3": {"童书": 5.0}}


def test_weights_and_half_life_are_configurable() -> None:
    config = load_models_config(
        {"interests": {"event_weights": {"view_item": 2}, "purchase_weight": 0,
                       "half_life_days": 15, "min_weight": 0}}
    )  # fmt: skip
    found = weights(config)
    assert found["p1"] == {"童书": 2.0, "书单": 0.125, "亲子": 0.125}
    assert found["p2"] == {"书单": 1.0, "亲子": 1.0}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            '{"tags": ["a", " b ", "a", 3, true, null, {"x": 1}], "category": "c"}',
            ["a", "b", "3", "c"],
        ),
        ('{"tags": "solo"}', ["solo"]),
        ("[1, 2]", []),
        ("not json", []),
        (None, []),
    ],
)
def test_tags_in(doc: str | None, expected: list[str]) -> None:
    assert tags_in(doc, ["tags", "category"]) == expected
