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
    assert t.identities["phone"].execute().tolist() == ["+8613800138000"]


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
