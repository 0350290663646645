"""Experiments on DuckDB and on Spark: the same bucket for every id (and the same as
Python's), and the same results for a simulated experiment."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from siyu.analytics.experiments import Variant, bucket_number, variant_of, with_variant
from siyu.analytics.scope import context_from
from siyu.analytics.service import analyse_with
from siyu.config import Settings
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from tests.analytics.test_experiments import KEY, TODAY, run_experiment
from tests.conformance import BackendPair

pytestmark = [pytest.mark.spark, pytest.mark.slow]

IDS = 20_000
SPLITS = {
    "first_coupon": [Variant(key="control"), Variant(key="b")],
    "price-test.v2": [
        Variant(key="a", weight=1),
        Variant(key="b", weight=2),
        Variant(key="c", weight=7),
    ],
}


@pytest.fixture(scope="module")
def pair(spark: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendPair]:
    """The simulated experiment, plus many odd person ids in ``identities`` (junk rows
    of a type no event carries, so they change no person)."""
    wh = Warehouse.in_memory()
    rt = Runtime.open(Settings(home=tmp_path_factory.mktemp("exp"), parse_workers=0), warehouse=wh)
    run_experiment(rt, persons=600)
    rng = np.random.default_rng(41)
    ids = [f"p{rng.integers(0, 2**63):020x}"[:21] for _ in range(IDS)]
    ids += ["", "人", "é:ü", "a" * 300, "p0123456789abcdef0123", " spaced "]
    extra = pa.table(
        {
            "identity_type": ["hash_test"] * len(ids),
            "identity_value": [str(i) for i in range(len(ids))],
            "person_id": ids,
            "region_id": ["r"] * len(ids),
            # Negative: no record names them as its actor (real ones are log positions).
            "node_order": pa.array(range(-1, -1 - len(ids), -1), pa.int64()),
            "first_seen": pa.array([datetime(2024, 1, 1)] * len(ids), pa.timestamp("us")),
            "junk": [True] * len(ids),
        }
    )
    with wh.transaction() as cur:
        cur.register("_extra", extra)
        cur.execute("INSERT INTO identities BY NAME SELECT * FROM _extra")
        cur.unregister("_extra")
    yield BackendPair(wh, spark, tmp_path_factory.mktemp("exp-lake"))
    wh.close()


@pytest.mark.parametrize("key", sorted(SPLITS))
def test_buckets_are_the_same_in_python_duckdb_and_spark(pair: BackendPair, key: str) -> None:
    variants = SPLITS[key]

    def buckets(con: Any) -> Any:
        ids = con.table("identities").select("person_id").distinct()
        return with_variant(ids, key, variants).select("person_id", "bucket", "assigned")

    frame = pair.assert_same(buckets, order_by=["person_id"], rtol=0)
    assert len(frame) > IDS
    expected_buckets = [bucket_number(key, p) for p in frame.person_id]
    expected_variants = [variant_of(key, p, variants) for p in frame.person_id]
    assert frame.bucket.tolist() == expected_buckets
    assert frame.assigned.tolist() == expected_variants


def test_results_are_the_same_on_duckdb_and_spark(pair: BackendPair) -> None:
    today = date.fromisoformat(TODAY)
    duck = context_from(pair.duckdb, today=today, tz="Asia/Shanghai")
    spark = context_from(
        pair.spark, today=today, tz="Asia/Shanghai", known_events=duck.known_events
    )
    on_duckdb = analyse_with(duck, "experiment", {"key": KEY})
    on_spark = analyse_with(spark, "experiment", {"key": KEY})
    assert on_duckdb["exposures"]["persons"] == 600
    assert_close(on_duckdb, on_spark)


def assert_close(a: Any, b: Any, path: str = "") -> None:
    """Equal JSON, floats to 1e-9 relative (sums may add up in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)
