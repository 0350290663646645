"""RFM: net orders, rank scores with ties, cut points and the eight classes."""

from __future__ import annotations

from typing import Any

from siyu.segments.models import RFM_CLASSES, load_models_config, rfm
from siyu.segments.models.config import ModelsConfig
from tests.segments.models.cases import RFM_ORDERS
from tests.segments.models.warehouse import TODAY, Ev, build, rows, tables


def scored(config: ModelsConfig | None = None) -> dict[str, dict[str, Any]]:
    wh = build([Ev("a", "2024-03-30 10:00")], RFM_ORDERS)
    try:
        expr = rfm(tables(wh.ibis())["orders"], today=TODAY, config=config or ModelsConfig())
        return {r.pop("person_id"): r for r in rows(expr)}
    finally:
        wh.close()


def test_recency_frequency_monetary_from_net_orders() -> None:
    found = scored()
    got = {p: (r["recency_days"], r["frequency"], r["monetary_fen"]) for p, r in found.items()}
    assert got == {
        "a": (1, 3, 20_000),
        "b": (0, 1, 30_000),
        "c": (30, 1, 5_000),
        "d": (11, 2, 10_000),
        "e": (364, 1, 7_000),
    }


def test_rank_scores_give_ties_the_same_score_and_mean_split_classes() -> None:
    found = scored()
    got = {p: (r["r_score"], r["f_score"], r["m_score"], r["rfm_class"]) for p, r in found.items()}
    # score = 1 + floor(5 * buyers with a strictly worse value / 5 buyers); b, c and e
    # tie on one order. Means: R 3, F 2.4, M 3; high is strictly above the mean.
    assert got == {
        "a": (4, 5, 4, "important_value"),
        "b": (5, 1, 5, "important_develop"),
        "c": (2, 1, 1, "general_recall"),
        "d": (3, 4, 3, "general_retain"),
        "e": (1, 1, 2, "general_recall"),
    }


def test_cut_points_and_threshold_split() -> None:
    config = load_models_config(
        {"rfm": {"scoring": "cuts", "recency_cuts": [7, 30, 90, 180],
                 "frequency_cuts": [2, 3, 5, 8], "monetary_cuts": [5000, 10000, 20000, 50000],
                 "split": "threshold", "high_score": 3}}
    )  # fmt: skip
    got = {p: (r["r_score"], r["f_score"], r["m_score"], r["rfm_class"])
           for p, r in scored(config).items()}  # fmt: skip
    assert got == {
        "a": (5, 3, 4, "important_value"),
        "b": (5, 1, 4, "important_develop"),
        "c": (4, 1, 2, "general_develop"),
        "d": (4, 2, 3, "important_develop"),
        "e": (1, 1, 2, "general_recall"),
    }


def test_window_is_configurable() -> None:
    found = scored(load_models_config({"rfm": {"window_days": 31}}))
    assert {p: r["frequency"] for p, r in found.items()} == {"a": 2, "b": 1, "c": 1, "d": 1}


def test_the_eight_classes() -> None:
    assert len({(c.r_high, c.f_high, c.m_high) for c in RFM_CLASSES}) == 8
    names = {c.code: c.name_zh for c in RFM_CLASSES}
    assert names["important_value"] == "重要价值客户"
    assert names["general_recall"] == "一般挽留客户"
