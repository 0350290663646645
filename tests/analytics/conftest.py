"""Fixtures of the analytics tests: the demo warehouse with its layers computed, its
`Context`, and one DuckDB/Spark pair over it for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from siyu.analytics.scope import Context, context_from
from siyu.config import Settings
from siyu.demo.load import load_demo
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.runtime import Runtime
from siyu.segments.service import compute
from siyu.storage import Warehouse
from tests.conformance import BackendPair

#: The demo runs DEMO_DAYS local days from DEMO_START; analyses look back from DEMO_TODAY.
DEMO_START = date(2024, 5, 1)
DEMO_DAYS = 45
DEMO_TODAY = date(2024, 6, 14)
TZ = "Asia/Shanghai"


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """600 demo persons over 45 days, identities resolved, layers and sets computed.

    Shared by the session: tests must not write to it (build their own warehouse).
    """
    home = Path(tmp_path_factory.mktemp("analytics-demo"))
    wh = Warehouse.in_memory()
    load_demo(wh, 600, DEMO_DAYS, 7, start=DEMO_START)
    rebuild(wh, IdentityRules())
    runtime = Runtime.open(Settings(home=home, parse_workers=0), warehouse=wh)
    compute(runtime, today=DEMO_TODAY)
    yield wh
    wh.close()


@pytest.fixture(scope="session")
def demo_context(demo_warehouse: Warehouse) -> Context:
    return context_from(demo_warehouse.ibis(), today=DEMO_TODAY, tz=TZ)


@pytest.fixture(scope="session")
def demo_pair(
    demo_warehouse: Warehouse, spark: object, tmp_path_factory: pytest.TempPathFactory
) -> BackendPair:
    """The demo warehouse seen through DuckDB and through Spark (one export per session)."""
    return BackendPair(demo_warehouse, spark, Path(tmp_path_factory.mktemp("analytics-lake")))


def spark_context(pair: BackendPair, ctx: Context) -> Context:
    """``ctx`` over the Spark side of ``pair`` (same day, zone and known events)."""
    return context_from(pair.spark, today=ctx.today, tz=ctx.tz, known_events=ctx.known_events)
