"""Kept analysis answers: served again while the data is unchanged, recomputed when it
changes, cleared by operations that write."""

from __future__ import annotations

from siyu.analytics.answer_cache import AnswerCache, data_version
from siyu.storage import Warehouse


def test_an_answer_is_kept_until_the_data_version_changes() -> None:
    cache = AnswerCache(fresh_seconds=0)
    computed: list[int] = []
    version = [1]

    def compute() -> dict[str, object]:
        computed.append(1)
        return {"n": len(computed), "rows": [1, 2]}

    first = cache.answer("k", lambda: tuple(version), compute)
    first["rows"].append(3)  # a caller changing its answer changes no kept answer
    assert cache.answer("k", lambda: tuple(version), compute) == {"n": 1, "rows": [1, 2]}
    version[0] = 2
    assert cache.answer("k", lambda: tuple(version), compute)["n"] == 2
    cache.clear()
    assert cache.answer("k", lambda: tuple(version), compute)["n"] == 3
    assert AnswerCache(max_seconds=0).answer("k", lambda: (), compute)["n"] == 4


def test_the_data_version_changes_with_what_analyses_read() -> None:
    wh = Warehouse.in_memory()
    before = data_version(wh)
    assert data_version(wh) == before
    wh.cursor().execute(
        "INSERT INTO marketing_costs VALUES ('c1', 'channel', 'poster', DATE '2024-05-01', "
        "DATE '2024-05-02', 100, '', TIMESTAMP '2024-05-03 00:00:00', 'test')"
    )
    assert data_version(wh) != before
    wh.close()
