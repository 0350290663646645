"""RFM (最近一次消费 Recency, 消费频率 Frequency, 消费金额 Monetary) scores and classes.

Net orders of the window give each buyer recency, frequency and monetary; each becomes
a score 1-5, by rank (default) or by fixed cut points, and high/low per dimension picks
one of the eight classic classes. Every step is integer arithmetic, so DuckDB and Spark
agree exactly, ties included (docs/models.md, "RFM").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import ibis
import ibis.expr.types as ir

from siyu.segments.models.activity import net_orders
from siyu.segments.models.config import DEFAULT_CONFIG, ModelsConfig, RfmConfig
from siyu.segments.models.days import day_number, day_of, end_of, last_days_start


@dataclass(frozen=True)
class RfmClass:
    """One of the eight RFM classes: which dimensions are high, and its names."""

    code: str
    name_zh: str
    name_en: str
    r_high: bool
    f_high: bool
    m_high: bool


RFM_CLASSES: Final = (
    RfmClass("important_value", "重要价值客户", "important value", True, True, True),
    RfmClass("important_develop", "重要发展客户", "important develop", True, False, True),
    RfmClass("important_retain", "重要保持客户", "important retain", False, True, True),
    RfmClass("important_recall", "重要挽留客户", "important recall", False, False, True),
    RfmClass("general_value", "一般价值客户", "general value", True, True, False),
    RfmClass("general_develop", "一般发展客户", "general develop", True, False, False),
    RfmClass("general_retain", "一般保持客户", "general retain", False, True, False),
    RfmClass("general_recall", "一般挽留客户", "general recall", False, False, False),
)
_SCORES: Final = 5


def rfm(
    orders: ir.Table,
    *,
    today: date,
    tz: str = "Asia/Shanghai",
    config: ModelsConfig = DEFAULT_CONFIG,
) -> ir.Table:
    """One row per person with a net order in the window:
    person_id, recency_days, frequency, monetary_fen, r_score, f_score, m_score, rfm_class.

    ``recency_days`` is today's local day number minus that of the last net order (0:
    bought today); ``monetary_fen`` sums ``amount_fen - refund_fen``.
    """
    rules = config.rfm
    since = last_days_start(today, rules.window_days, tz)
    paid = net_orders(orders, config.orders, end_of(today, tz), since)
    buyers = paid.group_by("person_id").aggregate(
        last_paid=paid.paid_at.max(), frequency=paid.count(), monetary_fen=paid.net_fen.sum()
    )
    buyers = buyers.select(
        "person_id",
        "frequency",
        "monetary_fen",
        recency_days=day_number(today) - day_of(buyers.last_paid, tz),
    )
    scored = buyers.mutate(**_scores(buyers, rules))
    high = _high(scored, rules)
    rfm_class = ibis.cases(
        *[
            ((high["r"] == c.r_high) & (high["f"] == c.f_high) & (high["m"] == c.m_high), c.code)
            for c in RFM_CLASSES
        ]
    )
    return scored.select(
        "person_id",
        "recency_days",
        "frequency",
        "monetary_fen",
        "r_score",
        "f_score",
        "m_score",
        rfm_class=rfm_class,
    )


def _scores(buyers: ir.Table, rules: RfmConfig) -> dict[str, ir.IntegerValue]:
    """r_score, f_score, m_score: 5 is best (recent, frequent, spending)."""
    recency, frequency, monetary = buyers.recency_days, buyers.frequency, buyers.monetary_fen
    if rules.scoring == "cuts":
        assert rules.recency_cuts and rules.frequency_cuts and rules.monetary_cuts
        return {
            "r_score": _SCORES - _count_true([recency > c for c in rules.recency_cuts]),
            "f_score": 1 + _count_true([frequency >= c for c in rules.frequency_cuts]),
            "m_score": 1 + _count_true([monetary >= c for c in rules.monetary_cuts]),
        }
    return {
        "r_score": _rank_score(buyers, ibis.desc(recency)),
        "f_score": _rank_score(buyers, frequency),
        "m_score": _rank_score(buyers, monetary),
    }


def _rank_score(buyers: ir.Table, order: ir.Value) -> ir.IntegerValue:
    """1 + floor(5 x buyers with a strictly worse value / buyers): equal values always
    get the same score; integer division, so every engine agrees."""
    worse = ibis.rank().over(order_by=order)
    score: ir.IntegerValue = 1 + (_SCORES * worse) // buyers.person_id.count().over()
    return score


def _count_true(tests: list[ir.BooleanValue]) -> ir.IntegerValue:
    total: ir.IntegerValue = ibis.literal(0)
    for test in tests:
        total += test.cast("int64")
    return total


def _high(scored: ir.Table, rules: RfmConfig) -> dict[str, ir.BooleanValue]:
    """Whether each score is high: above the mean score of all buyers (compared as
    ``score x buyers > sum of scores``, exact) or at least ``high_score``."""
    out = {}
    for key in ("r", "f", "m"):
        score = scored[f"{key}_score"]
        if rules.split == "threshold":
            out[key] = score >= rules.high_score
        else:
            buyers = scored.person_id.count().over()
            out[key] = score * buyers > score.sum().over()
    return out
