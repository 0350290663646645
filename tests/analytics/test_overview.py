"""The overview's daily figures against a brute-force count in pandas, and on Spark."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from siyu.analytics import overview
from siyu.analytics.scope import Context
from siyu.analytics.service import analyse_with
from siyu.segments.models.activity import is_acting
from siyu.segments.models.config import DEFAULT_CONFIG
from siyu.segments.models.days import day_number, day_of
from tests.analytics.conftest import spark_context
from tests.conformance import BackendPair

FIRST, LAST = date(2024, 6, 1), date(2024, 6, 14)


def person_days(ctx: Context) -> pd.DataFrame:
    ev = ctx.facts.events
    ev = ev.filter(is_acting(ev, DEFAULT_CONFIG.activity))
    return ev.select("person_id", day=day_of(ev.event_time, ctx.tz)).distinct().execute()


def test_daily_figures_match_a_brute_force_count(demo_context: Context) -> None:
    result = analyse_with(demo_context, "overview", {"from": FIRST, "to": LAST})
    daily = result["daily"]
    seen = person_days(demo_context)
    firsts = seen.groupby("person_id").day.min()
    for i, day in enumerate(daily["days"]):
        n = day_number(date.fromisoformat(day))
        assert daily["dau"][i] == seen[seen.day == n].person_id.nunique()
        assert daily["wau"][i] == seen[seen.day.between(n - 6, n)].person_id.nunique()
        assert daily["mau"][i] == seen[seen.day.between(n - 29, n)].person_id.nunique()
        cohort = set(firsts[firsts == n].index)
        assert daily["new_users"][i] == len(cohort)
        back = set(seen[seen.day == n + 1].person_id) & cohort
        expected = len(back) / len(cohort) if cohort and n + 1 <= day_number(LAST) else None
        assert daily["next_day_retention"][i] == pytest.approx(expected)
    kpis = {k["key"]: k for k in result["kpis"]}
    assert kpis["new_users"]["value"] == sum(daily["new_users"])
    assert kpis["mau"]["value"] == daily["mau"][-1]
    assert kpis["gmv_fen"]["value"] == pytest.approx(sum(daily["gmv_fen"]))
    previous = kpis["new_users"]["previous"]
    assert kpis["new_users"]["change"] == pytest.approx(kpis["new_users"]["value"] / previous - 1)
    assert {r["carrier"] for r in result["by_carrier"]} <= {"mp", "oa", "app", "wecom", "web"}
    assert sum(r["new_users"] for r in result["by_channel"]) == kpis["new_users"]["value"]
    assert result["range"]["previous_from"] == (FIRST - timedelta(days=14)).isoformat()


def test_a_segment_narrows_every_figure(demo_context: Context) -> None:
    everyone = analyse_with(demo_context, "overview", {"from": FIRST, "to": LAST})
    paying = analyse_with(
        demo_context, "overview", {"from": FIRST, "to": LAST, "segment": "paying"}
    )
    assert max(paying["daily"]["mau"]) < max(everyone["daily"]["mau"])
    assert paying["kpis"][-1]["value"] <= everyone["kpis"][-1]["value"]


@pytest.mark.spark
@pytest.mark.slow
def test_same_on_spark(demo_context: Context, demo_pair: BackendPair) -> None:
    body = {"from": FIRST, "to": LAST}
    duck = analyse_with(demo_context, "overview", body)
    spark = analyse_with(spark_context(demo_pair, demo_context), "overview", body)
    assert duck == spark
    assert overview.DEFAULT_DAYS == 30
