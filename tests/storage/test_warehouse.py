"""The warehouse: migrations, durable appends with dedup, and clear lock errors."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from siyu.config import Settings
from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.storage import Warehouse
from siyu.storage.exceptions import SchemaTooNew, StorageLocked
from siyu.storage.schema import MIGRATIONS, TABLES


def _event(event_id: str, **fields: object) -> EventRecord:
    base: dict[str, object] = {
        "event_id": event_id,
        "type": "track",
        "event": "view_item",
        "event_time": 1_763_800_000_000_000,
        "received_at": 1_763_800_001_000_000,
        "source_id": "web",
        "protocol": "segment",
        "carrier": "web",
        "user_id": "u1",
    }
    base.update(fields)
    return EventRecord(**base)  # type: ignore[arg-type]


def test_migrations_create_every_table_once(settings: Settings) -> None:
    first = Warehouse.open(settings)
    assert set(TABLES) <= set(first.table_names())
    assert first.schema_version() == MIGRATIONS[-1].version
    first.close()
    again = Warehouse.open(settings)
    rows = again.cursor().execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert rows == (len(MIGRATIONS),)
    again.close()


def test_a_newer_schema_is_refused(settings: Settings) -> None:
    wh = Warehouse.open(settings)
    wh.cursor().execute("INSERT INTO schema_migrations VALUES (999, 'future', now())")
    wh.close()
    with pytest.raises(SchemaTooNew, match="upgrade siyu"):
        Warehouse.open(settings)


def test_append_dedups_by_event_id_and_numbers_in_order() -> None:
    wh = Warehouse.in_memory()
    first = wh.append_events(records_to_arrow([_event("a"), _event("b"), _event("a")]))
    assert (first.inserted, first.duplicates) == (2, 1)
    second = wh.append_events(records_to_arrow([_event("b"), _event("c")]))
    assert (second.inserted, second.duplicates) == (1, 1)
    rows = wh.cursor().execute("SELECT event_id, seq FROM events ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == ["a", "b", "c"]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)


def test_identities_are_a_typed_map() -> None:
    wh = Warehouse.in_memory()
    wh.append_events(records_to_arrow([_event("a", identities={"phone": "+8613800138000"})]))
    t = wh.ibis().table("events")
    (stored,) = t.identities["phone"].execute().tolist()
    assert wh.sealer.unseal(stored) == "+8613800138000"


def test_item_records_upsert_the_items_table() -> None:
    wh = Warehouse.in_memory()
    props = '{"item_type":"article","item_id":"A1","item_properties":{"tags":["历史"]}}'
    wh.append_events(
        records_to_arrow(
            [
                _event("i1", type="item_set", event="$ItemSet", properties=props),
                _event(
                    "i2",
                    type="item_delete",
                    event="$ItemDelete",
                    event_time=1_763_800_009_000_000,
                    properties=props,
                ),
            ]
        )
    )
    row = wh.cursor().execute("SELECT item_id, deleted FROM items").fetchall()
    assert row == [("A1", True)]


def test_a_second_writer_process_gets_a_clear_error(settings: Settings) -> None:
    wh = Warehouse.open(settings)
    code = (
        "import sys; from siyu.config import Settings; from siyu.storage import Warehouse\n"
        "from siyu.storage.exceptions import StorageLocked\n"
        f"try:\n    Warehouse.open(Settings(home={str(settings.home)!r}))\n"
        "except StorageLocked as e:\n    print(e); sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    wh.close()
    assert done.returncode == 3, done.stderr
    assert "in use by another siyu process" in done.stdout
    assert "siyu serve" in done.stdout


def test_reading_missing_data_explains_what_to_do(settings: Settings) -> None:
    with pytest.raises(StorageLocked, match="siyu init"):
        Warehouse.open(settings, read_only=True)


def test_duckdb_file_survives_reopen(settings: Settings) -> None:
    wh = Warehouse.open(settings)
    wh.append_events(records_to_arrow([_event("x")]))
    wh.close()
    con = duckdb.connect(str(settings.database_path), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)
    con.close()


def test_bulk_loader_dedups_and_rebuilds_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("siyu.storage.warehouse.BULK_MIN_ROWS", 2)
    wh = Warehouse.in_memory()
    wh.append_events(records_to_arrow([_event("old")]))
    with wh.event_loader(expected_rows=6) as load:
        load.append(records_to_arrow([_event("a"), _event("b"), _event("a")]))
        load.append(records_to_arrow([_event("b"), _event("old"), _event("c")]))
    assert (load.appended, load.inserted) == (6, 3)
    # the unique index is back: a later append of a stored id is still a duplicate
    again = wh.append_events(records_to_arrow([_event("c"), _event("d")]))
    assert (again.inserted, again.duplicates) == (1, 1)
    ids = wh.cursor().execute("SELECT event_id FROM events ORDER BY seq").fetchall()
    assert [r[0] for r in ids] == ["old", "a", "b", "c", "d"]
    indexes = wh.cursor().execute("SELECT index_name FROM duckdb_indexes()").fetchall()
    assert ("events_event_key",) in indexes


def test_a_bulk_load_without_repeats_keeps_every_row_and_the_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("siyu.storage.warehouse.BULK_MIN_ROWS", 2)
    wh = Warehouse.in_memory()
    with wh.event_loader(expected_rows=4) as load:
        load.append(records_to_arrow([_event("a"), _event("b")]))
        load.append(records_to_arrow([_event("c"), _event("d")]))
    assert (load.appended, load.inserted) == (4, 4)
    assert wh.append_events(records_to_arrow([_event("d"), _event("e")])).duplicates == 1
    ids = wh.cursor().execute("SELECT event_id FROM events ORDER BY seq").fetchall()
    assert [r[0] for r in ids] == ["a", "b", "c", "d", "e"]


def test_a_failed_bulk_load_rolls_back_and_keeps_the_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("siyu.storage.warehouse.BULK_MIN_ROWS", 2)
    wh = Warehouse.in_memory()
    with pytest.raises(RuntimeError), wh.event_loader(expected_rows=4) as load:
        load.append(records_to_arrow([_event("x"), _event("y")]))
        raise RuntimeError("the file went away")
    assert wh.cursor().execute("SELECT count(*) FROM events").fetchone() == (0,)
    wh.append_events(records_to_arrow([_event("x")]))
    assert wh.append_events(records_to_arrow([_event("x")])).duplicates == 1


def test_nested_transactions_join_the_open_one() -> None:
    wh = Warehouse.in_memory()
    with wh.transaction() as outer, wh.transaction() as inner:
        assert inner is outer
        inner.execute("INSERT INTO channels VALUES ('c1', 'n', 'qr', NULL, 'oa', 0, now())")
    assert wh.cursor().execute("SELECT count(*) FROM channels").fetchone() == (1,)


def _directory_at(settings: Settings, version: int) -> duckdb.DuckDBPyConnection:
    """A data directory as a release at schema ``version`` left it, open for more rows."""
    settings.home.mkdir(parents=True)
    con = duckdb.connect(str(settings.database_path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL)"
    )
    for migration in MIGRATIONS:
        if migration.version > version:
            break
        for statement in migration.statements:
            con.execute(statement)
        con.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, now())",
            [migration.version, migration.name],
        )
    return con


def test_upgrading_a_version_2_directory_keeps_its_events(settings: Settings) -> None:
    con = _directory_at(settings, 2)
    con.execute(
        "INSERT INTO events (seq, event_id, type, event, event_time, received_at, source_id,"
        " protocol, carrier, method, properties, context) VALUES (7, 'kept', 'track', 'x',"
        " now(), now(), 's', 'segment', 'web', 'code', '{}', '{}')"
    )
    con.close()
    wh = Warehouse.open(settings)
    assert wh.schema_version() == MIGRATIONS[-1].version
    assert wh.append_events(records_to_arrow([_event("kept"), _event("new")])).inserted == 1
    rows = wh.cursor().execute("SELECT event_id, seq FROM events ORDER BY seq").fetchall()
    assert rows[0] == ("kept", 7) and rows[1][0] == "new" and rows[1][1] > 7
    wh.close()


def test_upgrading_per_apply_packs_keeps_every_packed_row(settings: Settings) -> None:
    """Migration 12 turns migration 10's one pack per apply into one row per record."""
    con = _directory_at(settings, 11)
    for order, (t, v) in enumerate([("member_id", "m1"), ("anonymous_id", "d1")]):
        con.execute(
            "INSERT INTO identities VALUES (?, ?, 'p1', 'r1', ?, TIMESTAMP '2026-11-01', false)",
            [t, v, (order + 1) << 12],
        )
    # One apply's pack: event 5 (a node row and a link), order 9 (a node row).
    con.execute(
        "INSERT INTO identity_link_packs VALUES (5, 9, [5, 9, 5], [0, 0, 1], [4096, 4096, 4096],"
        " [NULL, NULL, 8192], ['event', 'order', 'event'], ['e5', 'o9', 'e5'],"
        " [TIMESTAMP '2026-11-02', TIMESTAMP '2026-11-03', TIMESTAMP '2026-11-02'])"
    )
    before = con.execute("SELECT * FROM identity_links ORDER BY seq, sub").fetchall()
    con.close()
    wh = Warehouse.open(settings)
    cur = wh.cursor()
    assert wh.schema_version() == MIGRATIONS[-1].version
    assert cur.execute("SELECT * FROM identity_links ORDER BY seq, sub").fetchall() == before
    assert len(before) == 3
    packs = cur.execute("SELECT seq, origin, ref, len(sub) FROM identity_link_packs ORDER BY seq")
    assert packs.fetchall() == [(5, "event", "e5", 2), (9, "order", "o9", 1)]
    assert wh.reserve_seq(1) == 10  # numbering continues past the packed log
    wh.close()


def test_event_columns_match_the_event_record() -> None:
    from siyu.ingest.model import EVENT_SCHEMA
    from siyu.storage.warehouse import EVENT_COLUMNS

    assert EVENT_SCHEMA.names == EVENT_COLUMNS


def test_opening_restores_an_index_a_crashed_bulk_load_left_dropped(settings: Settings) -> None:
    wh = Warehouse.open(settings)
    wh.append_events(records_to_arrow([_event("a")]))
    wh.close()
    con = duckdb.connect(str(settings.database_path))
    con.execute("DROP INDEX events_event_key")  # as if killed between drop and rebuild
    con.execute(
        "INSERT INTO events SELECT * REPLACE (seq + 10 AS seq) FROM events"
    )  # a half-written load that repeated a key
    con.close()
    wh = Warehouse.open(settings)
    assert wh.cursor().execute("SELECT count(*) FROM events").fetchone() == (1,)
    assert wh.append_events(records_to_arrow([_event("a")])).duplicates == 1
    wh.close()
