"""Interest tags: weights, half-life decay, purchases from order lines, min weight, top N."""

from __future__ import annotations

from collections import defaultdict

import pytest

from siyu.segments.dialect import DUCKDB
from siyu.segments.models import interests, load_models_config
from siyu.segments.models.config import ModelsConfig
from siyu.segments.models.interests import tags_in
from tests.segments.models.cases import INTEREST_EVENTS, INTEREST_ITEMS, INTEREST_ORDERS
from tests.segments.models.warehouse import TODAY, build, rows, tables


def weights(config: ModelsConfig | None = None) -> dict[str, dict[str, float]]:
    wh = build(INTEREST_EVENTS, INTEREST_ORDERS, INTEREST_ITEMS)
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
