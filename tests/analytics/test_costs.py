"""Marketing-cost operations (``costs.add``, ``costs.list``, ``costs.remove``) through the
service: amounts in fen or yuan, validation with clear errors, durable writes,
proration over the days an analysis covers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from siyu.analytics.costs import _prorate
from siyu.analytics.exceptions import InvalidRequest, NotFound
from siyu.analytics.service import run
from siyu.config import Settings
from siyu.runtime import Runtime

MAY = {"from": "2024-05-01", "to": "2024-05-31"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime.open(Settings(home=tmp_path / "home", parse_workers=0))
    yield rt
    rt.warehouse.close()


def add(runtime: Runtime, actor: str = "api", **body: Any) -> dict[str, Any]:
    # Who entered a cost is the caller the service is told about, never the body.
    entry: dict[str, Any] = run(
        runtime, "costs.add", {"dimension": "channel", "key": "qr_bookfair", **body}, actor=actor
    )
    return entry


def test_add_list_remove_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", parse_workers=0)
    rt = Runtime.open(settings)
    fen = add(rt, cost_fen=800_000, note="书展展位", actor="ops", **MAY)
    yuan = run(rt, "costs.add", {"dimension": "campaign", "key": "共读计划",
                                 "cost_yuan": "15000.50", "from": "2024-06-01",
                                 "to": "2024-06-30"})  # fmt: skip
    assert (fen["cost_fen"], fen["cost_yuan"], fen["entered_by"]) == (800_000, 8000.0, "ops")
    assert yuan["cost_fen"] == 1_500_050 and yuan["entered_by"] == "api"
    assert fen["from"] == "2024-05-01" and fen["to"] == "2024-05-31"
    assert not fen["known"] and "channels table" in fen["warning"]
    rt.warehouse.close()

    rt = Runtime.open(settings)
    try:
        listed = run(rt, "costs.list", {})
        assert [c["cost_id"] for c in listed["costs"]] == [yuan["cost_id"], fen["cost_id"]]
        assert listed["total_fen"] == 2_300_050
        assert run(rt, "costs.list", {"dimension": "campaign"})["total_fen"] == 1_500_050
        assert run(rt, "costs.list", {"key": "qr_bookfair"})["costs"][0]["note"] == "书展展位"
        # Entries overlapping 05-20..06-02: both; ending before 06-01: May's only.
        assert len(run(rt, "costs.list", {"from": "2024-05-20", "to": "2024-06-02"})["costs"]) == 2
        assert len(run(rt, "costs.list", {"to": "2024-05-31"})["costs"]) == 1
        removed = run(rt, "costs.remove", {"cost_id": fen["cost_id"]})["removed"]
        assert removed["key"] == "qr_bookfair"
        assert [c["key"] for c in run(rt, "costs.list", {})["costs"]] == ["共读计划"]
        with pytest.raises(NotFound, match="costs list"):
            run(rt, "costs.remove", {"cost_id": fen["cost_id"]})
    finally:
        rt.warehouse.close()


def test_known_channel_codes(runtime: Runtime) -> None:
    with runtime.warehouse.transaction() as cur:
        cur.execute(
            "INSERT INTO channels VALUES ('qr_bookfair', '书展', 'qr', '书展季', 'oa', 0, "
            "TIMESTAMP '2024-01-01')"
        )
    assert add(runtime, cost_fen=1, **MAY)["known"]
    campaign = run(runtime, "costs.add", {"dimension": "campaign", "key": "书展季",
                                          "cost_fen": 1, **MAY})  # fmt: skip
    assert campaign["known"] and "warning" not in campaign


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"cost_fen": -1, **MAY}, "cost_fen", "cannot be negative"),
        ({"cost_yuan": "-0.01", **MAY}, "cost_yuan", "cannot be negative"),
        ({"cost_yuan": "1.005", **MAY}, "cost_yuan", "more than 2 decimals"),
        ({"cost_fen": 1, "cost_yuan": "1", **MAY}, "", "give the amount once"),
        ({**MAY}, "", "give the amount once"),
        ({"cost_fen": 1, "from": "2024-05-31", "to": "2024-05-01"}, "", "before from"),
        ({"cost_fen": 1, "from": "2000-01-01", "to": "2024-05-01"}, "", "split the cost"),
        ({"cost_fen": 1, "dimension": "ad", **MAY}, "dimension", "'channel' or 'campaign'"),
        ({"cost_fen": 1, "key": " qr ", **MAY}, "key", "spaces"),
        ({"cost_fen": 1, "key": "", **MAY}, "key", "at least 1 character"),
        ({"cost_fen": 1, "from": "May 1", "to": "2024-05-31"}, "from", "date"),
        ({"cost_fen": 1, "amount": 3, **MAY}, "amount", "unknown field"),
    ],
)
def test_invalid_entries_say_why(
    runtime: Runtime, body: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequest, match=words) as caught:
        add(runtime, **body)
    assert caught.value.field == field
    assert run(runtime, "costs.list", {})["costs"] == []


def test_bad_removals_and_listings(runtime: Runtime) -> None:
    with pytest.raises(InvalidRequest, match="cost_id"):
        run(runtime, "costs.remove", {})
    with pytest.raises(InvalidRequest, match="give the id"):
        run(runtime, "costs.remove", {"cost_id": " "})
    with pytest.raises(InvalidRequest, match="'channel' or 'campaign'") as caught:
        run(runtime, "costs.list", {"dimension": "ads"})
    assert caught.value.field == "dimension"


def test_proration_counts_the_days_inside_the_range() -> None:
    may_1, may_31 = date(2024, 5, 1), date(2024, 5, 31)
    assert _prorate(31_000, may_1, may_31, may_1, may_31) == 31_000
    assert _prorate(31_000, may_1, may_31, date(2024, 5, 31), date(2024, 6, 9)) == 1000
    assert _prorate(31_000, may_1, may_31, date(2024, 6, 1), date(2024, 6, 9)) == 0
    assert _prorate(500, may_1, may_1, date(2024, 4, 1), date(2024, 6, 1)) == 500
