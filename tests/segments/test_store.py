"""segment_store and tag_store: definitions, membership diffs and history, manual tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from siyu.segments.exceptions import (
    InvalidDefinition,
    InvalidSetKey,
    InvalidTagName,
    SegmentNotFound,
)
from siyu.storage import Warehouse
from siyu.storage import segment_store as ss
from siyu.storage import tag_store as ts
from siyu.storage.schema import TABLES

T0 = datetime(2024, 3, 1)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def members(rows: dict[str, list[str]], weights: dict[tuple[str, str], float] | None = None):
    keys = [k for k, ids in rows.items() for _ in ids]
    ids = [p for ps in rows.values() for p in ps]
    w = [(weights or {}).get((k, p)) for k, p in zip(keys, ids, strict=True)]
    return pa.table(
        {
            "set_key": pa.array(keys, pa.string()),
            "person_id": pa.array(ids, pa.string()),
            "weight": pa.array(w, pa.float64()),
        }
    )


def apply(wh: Warehouse, rows: dict[str, list[str]], at: datetime, keys=None, weights=None):
    with wh.transaction() as cur:
        return ss.apply_memberships(cur, members(rows, weights), keys or list(rows), at)


def now_in(wh: Warehouse, key: str) -> list[str]:
    return ss.current_members(wh.cursor(), key)["person_id"].to_pylist()


def events(wh: Warehouse) -> list[tuple[object, ...]]:
    return (
        wh.cursor()
        .execute('SELECT seq, event, set_key, person_id, "at" FROM segment_events ORDER BY seq')
        .fetchall()
    )


# -- memberships ------------------------------------------------------------------------


def test_enter_stay_exit_and_reenter(warehouse: Warehouse) -> None:
    assert apply(warehouse, {"paying": ["a", "b"]}, day(0))["paying"] == ss.SetDiff(2, 2, 0)
    assert apply(warehouse, {"paying": ["b", "c"]}, day(1))["paying"] == ss.SetDiff(2, 1, 1)
    assert apply(warehouse, {"paying": ["a", "b", "c"]}, day(2))["paying"] == ss.SetDiff(3, 1, 0)
    assert now_in(warehouse, "paying") == ["a", "b", "c"]
    history = (
        warehouse.cursor()
        .execute(
            "SELECT person_id, entered_at, exited_at FROM memberships"
            " ORDER BY person_id, entered_at"
        )
        .fetchall()
    )
    assert history == [
        ("a", day(0), day(1)),
        ("a", day(2), None),  # re-entry is a new stay
        ("b", day(0), None),  # b stayed: one row
        ("c", day(1), None),
    ]
    current = ss.current_members(warehouse.cursor(), "paying").to_pylist()
    assert current[0] == {"person_id": "a", "entered_at": day(2), "weight": None}
    assert [(e[1], e[3], e[4]) for e in events(warehouse)] == [
        ("segment_entered", "a", day(0)),
        ("segment_entered", "b", day(0)),
        ("segment_exited", "a", day(1)),
        ("segment_entered", "c", day(1)),
        ("segment_entered", "a", day(2)),
    ]
    seqs = [e[0] for e in events(warehouse)]
    assert seqs == list(range(1, 6))


def test_same_members_again_change_nothing(warehouse: Warehouse) -> None:
    rows = {"rfm:champion": ["a", "b"], "lifecycle:active": ["a"]}
    apply(warehouse, rows, day(0))
    before = events(warehouse)
    again = apply(warehouse, rows, day(0))
    later = apply(warehouse, rows, day(1))
    assert (
        again
        == later
        == {"rfm:champion": ss.SetDiff(2, 0, 0), "lifecycle:active": ss.SetDiff(1, 0, 0)}
    )
    assert events(warehouse) == before
    assert warehouse.cursor().execute("SELECT count(*) FROM memberships").fetchone() == (3,)
    # The repeat at the same instant folds into that instant's size row.
    sizes = ss.size_history(warehouse.cursor(), "rfm:champion").to_pylist()
    assert sizes == [
        {"computed_at": day(0), "size": 2, "entered": 2, "exited": 0},
        {"computed_at": day(1), "size": 2, "entered": 0, "exited": 0},
    ]


def test_a_listed_key_without_members_empties_the_set(warehouse: Warehouse) -> None:
    apply(warehouse, {"value:high": ["a", "b"], "paying": ["a"]}, day(0))
    diff = apply(warehouse, {"paying": ["a"]}, day(1), keys=["paying", "value:high", "role:kol"])
    assert diff == {
        "paying": ss.SetDiff(1, 0, 0),
        "value:high": ss.SetDiff(0, 0, 2),
        "role:kol": ss.SetDiff(0, 0, 0),
    }
    assert now_in(warehouse, "value:high") == []
    overview = {r["set_key"]: r for r in ss.set_overview(warehouse.cursor()).to_pylist()}
    assert overview["role:kol"]["size"] == 0
    assert overview["value:high"] == {
        "set_key": "value:high", "size": 0, "computed_at": day(1), "entered": 0, "exited": 2,
    }  # fmt: skip


def test_sets_not_listed_are_untouched(warehouse: Warehouse) -> None:
    apply(warehouse, {"channel:qr_store": ["a"], "paying": ["a"]}, day(0))
    apply(warehouse, {"paying": []}, day(1))
    assert now_in(warehouse, "channel:qr_store") == ["a"]
    assert now_in(warehouse, "paying") == []


def test_weights_are_kept_updated_and_do_not_make_events(warehouse: Warehouse) -> None:
    rows = {"interest:tea": ["a", "b", "a"]}
    apply(warehouse, rows, day(0), weights={("interest:tea", "a"): 0.5})
    # A person listed twice keeps the larger weight; the last row wins only if larger.
    got = ss.current_members(warehouse.cursor(), "interest:tea").to_pylist()
    assert [(r["person_id"], r["weight"]) for r in got] == [("a", 0.5), ("b", None)]
    n_events = len(events(warehouse))
    diff = apply(
        warehouse, {"interest:tea": ["a", "b"]}, day(1),
        weights={("interest:tea", "a"): 0.9, ("interest:tea", "b"): 0.1},
    )  # fmt: skip
    assert diff["interest:tea"] == ss.SetDiff(2, 0, 0)
    got = ss.current_members(warehouse.cursor(), "interest:tea").to_pylist()
    assert [(r["person_id"], r["weight"]) for r in got] == [("a", 0.9), ("b", 0.1)]
    assert len(events(warehouse)) == n_events


def test_members_at_reads_history(warehouse: Warehouse) -> None:
    apply(warehouse, {"lifecycle:new": ["a", "b"]}, day(0))
    apply(warehouse, {"lifecycle:new": ["b", "c"]}, day(2))
    cur = warehouse.cursor()

    def at(t: datetime) -> list[str]:
        return ss.members_at(cur, "lifecycle:new", t)["person_id"].to_pylist()

    assert at(day(0) - timedelta(seconds=1)) == []
    assert at(day(0)) == ["a", "b"]
    assert at(day(1)) == ["a", "b"]
    assert at(day(2)) == ["b", "c"]  # exits take effect at the apply instant
    assert at(day(9)) == ["b", "c"]
    # Aware datetimes are converted to UTC like the stored naive ones.
    shanghai = timezone(timedelta(hours=8))
    assert at(day(1).replace(tzinfo=UTC).astimezone(shanghai)) == ["a", "b"]


def test_overlap_counts_pairs_of_current_members(warehouse: Warehouse) -> None:
    apply(
        warehouse,
        {"paying": ["a", "b", "c"], "lifecycle:active": ["b", "c", "d"], "role:kol": ["z"]},
        day(0),
    )
    matrix = ss.overlap(warehouse.cursor(), ["paying", "lifecycle:active", "role:kol", "rfm:x"])
    cells = {(r["set_a"], r["set_b"]): r["persons"] for r in matrix.to_pylist()}
    assert len(cells) == 16
    assert cells["paying", "paying"] == 3
    assert cells["paying", "lifecycle:active"] == cells["lifecycle:active", "paying"] == 2
    assert cells["paying", "role:kol"] == 0
    assert cells["rfm:x", "rfm:x"] == 0
    with pytest.raises(InvalidSetKey, match="at most 62"):
        ss.overlap(warehouse.cursor(), [f"segment:s{i}" for i in range(63)])


def test_apply_refuses_bad_keys_and_strays(warehouse: Warehouse) -> None:
    with pytest.raises(InvalidSetKey, match="not a set key"):
        apply(warehouse, {"vip": ["a"]}, day(0))
    with pytest.raises(InvalidSetKey, match="lifecycle stages are"):
        apply(warehouse, {"lifecycle:sleepy": ["a"]}, day(0))
    with pytest.raises(InvalidSetKey, match="not in set_keys"):
        apply(warehouse, {"paying": ["a"], "segment:x": ["a"]}, day(0), keys=["paying"])
    assert warehouse.cursor().execute("SELECT count(*) FROM memberships").fetchone() == (0,)


def test_an_earlier_instant_moves_up_to_the_last_apply(warehouse: Warehouse) -> None:
    """As when a manual tag changes while a computation that started earlier runs."""
    apply(warehouse, {"paying": ["a"]}, day(2))
    assert apply(warehouse, {"paying": ["b"]}, day(1))["paying"] == ss.SetDiff(1, 1, 1)
    assert [e[4] for e in events(warehouse)] == [day(2)] * 3
    history = ss.size_history(warehouse.cursor(), "paying").to_pylist()
    assert history == [{"computed_at": day(2), "size": 1, "entered": 2, "exited": 1}]
    assert ss.members_at(warehouse.cursor(), "paying", day(2))["person_id"].to_pylist() == ["b"]


def test_person_sets_follow_merges(warehouse: Warehouse) -> None:
    apply(warehouse, {"paying": ["p_old"], "lifecycle:active": ["p_new"]}, day(0))
    with warehouse.transaction() as cur:
        cur.execute("INSERT INTO person_overrides VALUES ('p_old', 'p_new')")
    for ref in ("p_new", "p_old"):
        sets = ss.person_sets(warehouse.cursor(), ref).to_pylist()
        assert [s["set_key"] for s in sets] == ["lifecycle:active", "paying"]
    assert now_in(warehouse, "paying") == ["p_new"]


# -- manual tags ------------------------------------------------------------------------


def test_manual_tags_add_remove_and_materialise(warehouse: Warehouse) -> None:
    with warehouse.transaction() as cur:
        assert ts.add_manual_tags(cur, "高潜客户", ["a", "b", "b"], "ops", at=day(0)) == 2
        assert ts.add_manual_tags(cur, "高潜客户", ["a", "c"], "ops", at=day(1)) == 1
        assert ts.remove_manual_tags(cur, "高潜客户", ["a", "x"], at=day(2)) == 1
        assert ts.remove_manual_tags(cur, "高潜客户", ["a"], at=day(2)) == 0
        assert ts.add_manual_tags(cur, "高潜客户", ["a"], "lead", "csv:leads.csv", at=day(3)) == 1
    cur = warehouse.cursor()
    held = ts.manual_tag_members(cur, "高潜客户").to_pylist()
    assert [(r["person_id"], r["added_at"], r["source"]) for r in held] == [
        ("a", day(3), "csv:leads.csv"),
        ("b", day(0), "manual"),
        ("c", day(1), "manual"),
    ]
    assert ts.list_manual_tags(cur).to_pylist() == [
        {"tag": "高潜客户", "persons": 3, "last_added_at": day(3)}
    ]
    assert now_in(warehouse, "tag:高潜客户") == ["a", "b", "c"]
    sets = ts.manual_tag_sets(cur)
    assert sets.column_names == ["set_key", "person_id", "weight"]
    assert sets["person_id"].to_pylist() == ["a", "b", "c"]
    sizes = ss.size_history(cur, "tag:高潜客户")["size"].to_pylist()
    assert sizes == [2, 3, 2, 3]
    assert cur.execute("SELECT count(*) FROM manual_tags").fetchone() == (4,)


def test_manual_tags_follow_merges(warehouse: Warehouse) -> None:
    with warehouse.transaction() as cur:
        ts.add_manual_tags(cur, "vip", ["p_old", "p_new"], "ops", at=day(0))
        cur.execute("INSERT INTO person_overrides VALUES ('p_old', 'p_new')")
        # Tagging the merged-away id again is a duplicate of the live tag.
        assert ts.add_manual_tags(cur, "vip", ["p_old"], "ops", at=day(1)) == 0
    cur = warehouse.cursor()
    assert ts.manual_tag_members(cur, "vip")["person_id"].to_pylist() == ["p_new"]
    assert ts.list_manual_tags(cur)["persons"].to_pylist() == [1]
    with warehouse.transaction() as cur:
        diff = ts.apply_manual_tags(cur, at=day(1))
    assert diff == {"tag:vip": ss.SetDiff(1, 0, 1)}  # p_old's stay closes, p_new stays
    assert now_in(warehouse, "tag:vip") == ["p_new"]
    with warehouse.transaction() as cur:
        # Removing through the old id takes the tag off both stored rows.
        assert ts.remove_manual_tags(cur, "vip", ["p_old"], at=day(2)) == 1
    assert ts.manual_tag_members(warehouse.cursor(), "vip").num_rows == 0
    assert now_in(warehouse, "tag:vip") == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "cannot be empty"),
        ("x" * 65, "at most 64"),
        ("a\tb", "control characters"),
        (" vip", "spaces"),
    ],
)
def test_bad_tag_names_are_refused(warehouse: Warehouse, name: str, message: str) -> None:
    with warehouse.transaction() as cur, pytest.raises(InvalidTagName, match=message):
        ts.add_manual_tags(cur, name, ["a"], "ops")
    assert ts.check_tag_name("x" * 64) == "x" * 64


# -- definitions, snapshots, runs -------------------------------------------------------


def test_definitions_round_trip(warehouse: Warehouse) -> None:
    with warehouse.transaction() as cur:
        first = ss.save_definition(
            cur, "big_spenders", kind="segment", name="高消费", definition={"rule": {"all": []}},
            actor="ana", at=day(0),
        )  # fmt: skip
        again = ss.save_definition(
            cur, "big_spenders", kind="segment", name="高消费客户", definition='{"rule": 1}',
            actor="bo", description="d", origin="file:segments/big.yaml", at=day(1),
        )  # fmt: skip
        ss.save_definition(cur, "tea", kind="tag", name="茶", definition="{}", actor="ana")
    assert first.created_at == again.created_at == day(0)
    assert again.updated_at == day(1)
    assert (again.created_by, again.name, again.origin) == (
        "ana",
        "高消费客户",
        "file:segments/big.yaml",
    )
    cur = warehouse.cursor()
    assert ss.get_definition(cur, "big_spenders").definition == '{"rule": 1}'
    assert [d.key for d in ss.list_definitions(cur)] == ["big_spenders", "tea"]
    assert [d.key for d in ss.list_definitions(cur, kind="tag")] == ["tea"]
    with warehouse.transaction() as cur:
        ss.archive_definition(cur, "tea")
    assert [d.key for d in ss.list_definitions(cur)] == ["big_spenders"]
    assert ss.get_definition(cur, "tea").archived
    assert len(ss.list_definitions(cur, include_archived=True)) == 2
    with pytest.raises(SegmentNotFound, match="did you mean big_spenders"):
        ss.get_definition(cur, "big_spender")
    with pytest.raises(SegmentNotFound):
        ss.archive_definition(cur, "nope")


def test_definitions_refuse_bad_input(warehouse: Warehouse) -> None:
    cur = warehouse.cursor()
    common = {"name": "n", "definition": "{}", "actor": "a"}
    with pytest.raises(InvalidDefinition, match="not JSON"):
        ss.save_definition(cur, "k", kind="segment", **{**common, "definition": "{oops"})
    with pytest.raises(InvalidDefinition, match="kind"):
        ss.save_definition(cur, "k", kind="layer", **common)
    with pytest.raises(InvalidDefinition, match="origin"):
        ss.save_definition(cur, "k", kind="tag", origin="s3", **common)
    with pytest.raises(InvalidSetKey, match="no spaces"):
        ss.save_definition(cur, "big spenders", kind="tag", **common)


def test_replace_snapshot_and_compute_runs(warehouse: Warehouse) -> None:
    with warehouse.transaction() as cur:
        name = ss.replace_snapshot(cur, "rfm", pa.table({"person_id": ["a"], "r": [3]}))
        ss.replace_snapshot(cur, "rfm", pa.table({"person_id": ["a", "b"], "r": [3, 1]}))
        run = ss.start_compute_run(cur, day(0).date(), at=day(0))
        ss.finish_compute_run(cur, run, "ok", {"sets": 12}, at=day(0) + timedelta(minutes=1))
    assert name == "layer_rfm"
    assert warehouse.cursor().execute("SELECT count(*) FROM layer_rfm").fetchone() == (2,)
    with pytest.raises(InvalidSetKey, match="snapshot name"):
        ss.replace_snapshot(warehouse.cursor(), "rfm; DROP TABLE events", pa.table({"a": [1]}))
    runs = ss.recent_compute_runs(warehouse.cursor()).to_pylist()
    assert [(r["run_id"], r["status"], r["detail"]) for r in runs] == [(run, "ok", '{"sets":12}')]


def test_schema_exposes_the_tables_to_spark(warehouse: Warehouse) -> None:
    names = set(warehouse.table_names())
    for table in ("segment_definitions", "memberships", "set_sizes", "manual_tags"):
        assert table in TABLES and table in names
    assert {"segment_events", "compute_runs"} <= names


def test_a_failed_statement_surfaces_its_own_error(warehouse: Warehouse) -> None:
    bad = pa.table({"set_key": ["paying"], "person_id": ["a"], "weight": ["heavy"]})
    with pytest.raises(duckdb.ConversionException), warehouse.transaction() as cur:
        ss.apply_memberships(cur, bad, ["paying"], day(0))
    assert now_in(warehouse, "paying") == []


def test_many_persons_diff_set_wise(warehouse: Warehouse) -> None:
    """Sanity at scale (not timed): 100k persons x 5 sets, then 1% of them move."""
    rng = np.random.default_rng(7)
    n, per = 100_000, 5
    keys = np.array([f"segment:s{i}" for i in range(20)])
    persons = np.array([f"p{i:020x}" for i in range(n)])
    who = np.repeat(np.arange(n), per)
    sets = (np.tile(np.arange(per), n) * 4 + rng.integers(0, 4, n * per)) % 20

    def table(sets: np.ndarray) -> pa.Table:
        return pa.table({"set_key": keys[sets], "person_id": persons[who]})

    with warehouse.transaction() as cur:
        first = ss.apply_memberships(cur, table(sets), list(keys), day(0))
    assert sum(d.size for d in first.values()) == n * per
    moved = sets.copy()
    step = rng.random(n * per) < 0.01
    moved[step] = (moved[step] + 1) % 20
    before = {(int(s), int(w)) for s, w in zip(sets, who, strict=True)}
    after = {(int(s), int(w)) for s, w in zip(moved, who, strict=True)}
    with warehouse.transaction() as cur:
        second = ss.apply_memberships(cur, table(moved), list(keys), day(1))
    assert sum(d.entered for d in second.values()) == len(after - before)
    assert sum(d.exited for d in second.values()) == len(before - after)
    assert sum(d.size for d in second.values()) == len(after)
    for key, diff in second.items():
        assert diff.size == ss.current_members(warehouse.cursor(), key).num_rows
