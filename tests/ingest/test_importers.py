"""`siyu import`: each kind from each format, mapping, re-import, rejections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from siyu.config import Settings
from siyu.ingest.importers import run_import
from siyu.storage import Warehouse

EVENTS: list[dict[str, Any]] = [
    {
        "event_id": "e1",
        "event": "view",
        "event_time": "2026-01-01 08:00:00",
        "user_id": "u1",
        "id_phone": "13800000001",
        "properties": '{"page": "/home"}',
    },
    {
        "event_id": "e2",
        "event": "order",
        "event_time": "2026-01-01T00:00:00Z",
        "user_id": "u2",
        "id_phone": None,
        "properties": None,
    },
    {
        "event_id": "e3",
        "event": "view",
        "event_time": "abc",
        "user_id": "u3",
        "id_phone": None,
        "properties": None,
    },
]
USERS: list[dict[str, Any]] = [
    {"member_id": "M1", "phone": "13800000001", "name": "张三", "city": "上海"},
    {"member_id": "M2", "phone": None, "name": "李四", "city": None},
    {"member_id": None, "phone": "null", "name": "nobody", "city": None},
]
ORDERS: list[dict[str, Any]] = [
    {"order_id": "o1", "member_id": "M1", "paid_at": "2026-01-02 10:00:00", "amount_yuan": "12.30"},
    {"order_id": "o2", "member_id": "M2", "paid_at": "1767225600", "amount_yuan": "0.07"},
    {"order_id": "o3", "member_id": "M2", "paid_at": "2026-01-02", "amount_yuan": "-5"},
]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    if path.suffix == ".csv":
        columns = list(rows[0])
        lines = [",".join(columns)]
        for row in rows:
            cells = ["" if row[c] is None else str(row[c]) for c in columns]
            lines.append(",".join('"' + c.replace('"', '""') + '"' if c else "" for c in cells))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif path.suffix == ".jsonl":
        path.write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
        )
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.fixture(params=["batches", "in_place"])
def warehouse(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """Each test runs both ways of loading: Arrow batches, and (for a load that takes
    the bulk path) one INSERT ... SELECT on the loading transaction's cursor."""
    if request.param == "in_place":
        monkeypatch.setattr("siyu.storage.warehouse.BULK_MIN_ROWS", 1)
    return Warehouse.in_memory()


def query(wh: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    return wh.cursor().execute(sql).fetchall()


def unsealed(wh: Warehouse, ids: dict[str, str]) -> dict[str, str]:
    """An identities map with its sealed phone/email values opened."""
    return {k: wh.sealer.unseal(v) if wh.sealer.is_sealed(v) else v for k, v in ids.items()}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_events_each_format(warehouse: Warehouse, tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"events{suffix}", EVENTS)
    summary = run_import(warehouse, "events", path)
    assert (summary.rows_total, summary.rows_accepted, summary.rows_rejected) == (3, 2, 1)
    assert summary.rejections_by_reason == {"event_time is not a time": 1}
    rows = query(
        warehouse,
        "SELECT event_id, type, event, strftime(event_time, '%Y-%m-%d %H:%M'), identities, "
        "properties, protocol, carrier FROM events ORDER BY event_id",
    )
    # Naive times are in the project time zone (Asia/Shanghai): 08:00 there is 00:00 UTC.
    assert rows[0][:4] + rows[0][5:] == (
        "e1", "track", "view", "2026-01-01 00:00", '{"page": "/home"}', "import", "import",
    )  # fmt: skip
    assert unsealed(warehouse, rows[0][4]) == {"phone": "+8613800000001"}
    assert rows[1][3] == "2026-01-01 00:00"
    (reason,) = query(warehouse, "SELECT reason FROM quarantine")[0]
    assert reason.startswith("event_time 'abc' is not a time")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_users_each_format(warehouse: Warehouse, tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"users{suffix}", USERS)
    summary = run_import(warehouse, "users", path)
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 1)
    assert summary.extra_columns == ("name", "city")
    rows = query(
        warehouse,
        "SELECT type, event, identities, properties, event_id FROM events ORDER BY properties",
    )
    assert rows[0][:2] + rows[0][3:4] == (
        "profile_set", "$profile_set", '{"name":"张三","city":"上海"}',
    )  # fmt: skip
    assert unsealed(warehouse, rows[0][2]) == {"member_id": "M1", "phone": "+8613800000001"}
    assert rows[1][2] == {"member_id": "M2"}
    assert all(r[4].startswith("u:") for r in rows)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_orders_each_format(warehouse: Warehouse, tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"orders{suffix}", ORDERS)
    summary = run_import(warehouse, "orders", path)
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 1)
    rows = query(
        warehouse,
        "SELECT order_id, amount_fen, refund_fen, status, items, "
        "strftime(paid_at, '%Y-%m-%d %H:%M') FROM orders ORDER BY order_id",
    )
    assert rows == [
        ("o1", 1230, 0, "paid", "[]", "2026-01-02 02:00"),
        ("o2", 7, 0, "paid", "[]", "2026-01-01 00:00"),
    ]
    (reason,) = query(warehouse, "SELECT reason FROM quarantine")[0]
    assert reason == "amount_yuan '-5' is negative"


def test_reimport_is_idempotent(warehouse: Warehouse, tmp_path: Path) -> None:
    for kind, rows in (("events", EVENTS), ("users", USERS), ("orders", ORDERS)):
        path = write(tmp_path / f"{kind}.csv", rows)
        first = run_import(warehouse, kind, path)  # type: ignore[arg-type]
        second = run_import(warehouse, kind, path)  # type: ignore[arg-type]
        assert not first.already_imported and second.already_imported
        assert second.rows_accepted == 0
        assert second.rows_duplicate == first.rows_accepted
        assert second.rows_rejected == first.rows_rejected
    assert query(warehouse, "SELECT count(*) FROM events") == [(4,)]
    assert query(warehouse, "SELECT count(*) FROM orders") == [(2,)]
    assert query(warehouse, "SELECT count(*) FROM quarantine") == [(3,)]
    assert query(warehouse, "SELECT count(*), count(finished_at) FROM imports") == [(6, 6)]


def test_changed_order_is_updated(warehouse: Warehouse, tmp_path: Path) -> None:
    run_import(warehouse, "orders", write(tmp_path / "a.csv", ORDERS[:1]))
    refunded = [{**ORDERS[0], "refund_fen": "1230"}]
    summary = run_import(warehouse, "orders", write(tmp_path / "b.csv", refunded))
    assert (summary.rows_accepted, summary.rows_updated, summary.rows_duplicate) == (0, 1, 0)
    assert query(warehouse, "SELECT refund_fen, status FROM orders") == [(1230, "refunded")]


def test_mapping_renames_columns(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("单号,会员,支付时间,金额\nA1,M9,2026-03-01 12:00:00,99.90\n", encoding="utf-8")
    summary = run_import(
        warehouse,
        "orders",
        path,
        mapping=["单号=order_id", "会员=member_id", "支付时间=paid_at", "金额=amount_yuan"],
    )
    assert summary.rows_accepted == 1
    assert query(warehouse, "SELECT order_id, member_id, amount_fen FROM orders") == [
        ("A1", "M9", 9990)
    ]


def test_identity_columns_and_aliases(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "event,event_time,id_mobile,id_unionid,id_mp_openid\n"
        "open,1767225600000,138 0013 8000,UN1,undefined\n",
        encoding="utf-8",
    )
    assert run_import(warehouse, "events", path).rows_accepted == 1
    ids = query(warehouse, "SELECT identities, event_time FROM events")[0][0]
    assert unsealed(warehouse, ids) == {"phone": "+8613800138000", "unionid": "UN1"}


def test_settings_backed_warehouse(tmp_path: Path) -> None:
    warehouse = Warehouse.open(Settings(home=tmp_path / "home"))
    try:
        summary = run_import(warehouse, "events", write(tmp_path / "e.parquet", EVENTS))
        assert summary.rows_accepted == 2
        assert query(warehouse, "SELECT min(seq), max(seq) FROM events") == [(1, 2)]
    finally:
        warehouse.close()


def test_run_import_job(settings: Settings, tmp_path: Path) -> None:
    from siyu.ingest.importers import run_import_job
    from siyu.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        seen: list[str] = []
        result = run_import_job(
            runtime,
            {"kind": "events", "path": str(write(tmp_path / "e.csv", EVENTS)), "mapping": None},
            lambda label, done, total=None: seen.append(label),
        )
        assert json.loads(json.dumps(result))["rows_accepted"] == 2
        assert "importing" in seen
    finally:
        runtime.warehouse.close()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_personal_ids_sealed_once_per_value(
    warehouse: Warehouse, tmp_path: Path, suffix: str
) -> None:
    """Each spelling of a number seals to the stored form; a bad one only costs the row
    when it was the row's only id, with a reason that says which value."""
    rows = [
        {"event_id": "a", "event": "v", "event_time": "2026-01-01", "user_id": "u1",
         "id_phone": "13800138000", "id_email": " Li.Si@Example.COM "},
        {"event_id": "b", "event": "v", "event_time": "2026-01-01", "user_id": None,
         "id_phone": "+86 138 0013 8000", "id_email": None},
        {"event_id": "c", "event": "v", "event_time": "2026-01-01", "user_id": "u3",
         "id_phone": "12345", "id_email": "not-an-email"},
        {"event_id": "d", "event": "v", "event_time": "2026-01-01", "user_id": None,
         "id_phone": "12345", "id_email": None},
        {"event_id": "e", "event": "v", "event_time": "2026-01-01", "user_id": None,
         "id_phone": None, "id_email": "nobody"},
    ]  # fmt: skip
    summary = run_import(warehouse, "events", write(tmp_path / f"e{suffix}", rows))
    assert (summary.rows_accepted, summary.rows_rejected) == (3, 2)
    assert summary.rejections_by_reason == {
        "id_phone is not valid": 1,
        "id_email is not valid": 1,
    }
    stored = dict(query(warehouse, "SELECT event_id, identities FROM events"))
    seal = warehouse.sealer.seal_identity
    assert stored["a"] == {
        "phone": seal("phone", "13800138000"),
        "email": seal("email", "li.si@example.com"),
    }
    assert stored["b"] == {"phone": stored["a"]["phone"]}  # one number, two spellings
    assert stored["c"] == {}  # user_id kept the row; the two bad values were left out
    assert unsealed(warehouse, stored["a"]) == {
        "phone": "+8613800138000",
        "email": "li.si@example.com",
    }
    reasons = sorted(r[0] for r in query(warehouse, "SELECT reason FROM quarantine"))
    assert reasons[0].startswith("id_email does not look like name@example.com")
    assert reasons[1].startswith("id_phone is not a phone number")
    plain = query(
        warehouse,
        "SELECT count(*) FROM events WHERE CAST(identities AS VARCHAR) LIKE '%13800138000%'"
        " OR CAST(identities AS VARCHAR) ILIKE '%example.com%'",
    )
    assert plain == [(0,)]
    assert not [t for t in warehouse.table_names() if t.startswith("_siyu")]


def test_junk_ids_as_the_collector_reads_them(warehouse: Warehouse, tmp_path: Path) -> None:
    """Every spelling of a junk placeholder is dropped, as `normalize.clean_id` drops it;
    look-alikes are kept. A row left without an id is rejected, the rest keep theirs."""
    from siyu.ingest.normalize import clean_id

    values = [
        "null", " NULL ", "Undefined", "[object Object]", "0", "-1", "NaN", "nil", "None",
        "00", "-10", "x-1", "nullx", "undefined!", "[object object]x", "0.0", "u7",
    ]  # fmt: skip
    path = tmp_path / "e.parquet"
    rows = [
        {"event_id": f"e{n}", "event": "view", "event_time": "2026-01-01 08:00:00", "user_id": v}
        for n, v in enumerate(values)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    summary = run_import(warehouse, "events", path)
    kept = {v.strip() for v in values if clean_id(v, "user_id") is not None}
    assert kept == {"00", "-10", "x-1", "nullx", "undefined!", "[object object]x", "0.0", "u7"}
    assert summary.rows_accepted == len(kept)
    assert summary.rejections_by_reason == {"no user id": len(values) - len(kept)}
    assert {r[0] for r in query(warehouse, "SELECT user_id FROM events")} == kept
