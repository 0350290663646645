"""The CLV model inputs are the same on DuckDB and on Spark (demo data)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from siyu.analytics.clv import UNITS, model_inputs
from siyu.segments.facts import facts_from
from tests.analytics.conftest import TZ
from tests.conformance import BackendPair

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_model_inputs_are_the_same_on_both_engines(demo_pair: BackendPair, unit: str) -> None:
    until = date(2024, 6, 10)

    def build(con: Any) -> Any:
        orders = facts_from(con, today=until, tz=TZ).orders
        return model_inputs(orders, until=until, tz=TZ, unit=unit)

    frame = demo_pair.assert_same(build, order_by=["person_id"])
    assert len(frame) > 20
    assert (frame["frequency"] > 0).sum() > 5
    assert frame["monetary_fen"].isna().sum() == (frame["frequency"] == 0).sum()
    assert (frame["recency"] <= frame["age"]).all()
