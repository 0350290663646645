"""Bad import files: each gives a clear result and loses nothing good."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.ingest.exceptions import ImportFailed
from siyu.ingest.importers import parse_mapping, run_import
from siyu.storage import Warehouse


@pytest.fixture(params=["batches", "in_place"])
def warehouse(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """Both ways of loading: Arrow batches, and the bulk path's INSERT ... SELECT."""
    if request.param == "in_place":
        monkeypatch.setattr("siyu.storage.warehouse.BULK_MIN_ROWS", 1)
    return Warehouse.in_memory()


def rows(wh: Warehouse, sql: str) -> list[tuple[object, ...]]:
    return wh.cursor().execute(sql).fetchall()


def test_malformed_json_line_is_quarantined(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"event":"a","event_time":"2026-01-01T00:00:00Z","user_id":"u1"}\n'
        '{"event":"b", broken\n'
        "\n"
        '{"event":"c","event_time":"2026-01-01T00:00:00Z","user_id":"u2"}\n',
        encoding="utf-8",
    )
    summary = run_import(warehouse, "events", path)
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 1)
    reason, payload = rows(warehouse, "SELECT reason, payload FROM quarantine")[0]
    assert "is not a JSON object" in str(reason)
    assert payload == '{"event":"b", broken'


def test_ten_megabyte_cell(warehouse: Warehouse, tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    path = tmp_path / "e.csv"
    path.write_text(
        "event,event_time,user_id,properties\n"
        f'a,2026-01-01,u1,"{{""k"": ""{big}""}}"\n'
        "b,2026-01-01,u2,\n",
        encoding="utf-8",
    )
    summary = run_import(warehouse, "events", path)
    assert (summary.rows_accepted, summary.rows_rejected) == (1, 1)
    assert summary.rejections_by_reason == {"properties is too large": 1}
    assert rows(warehouse, "SELECT payload_bytes > 10000000, truncated FROM quarantine") == [
        (True, True)
    ]


def test_bad_date_and_negative_fen(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        "order_id,member_id,paid_at,amount_fen\n"
        "o1,M1,2026-13-45,100\n"
        "o2,M1,2026-01-01,-5\n"
        "o3,M1,2026-01-01,1.5\n"
        "o4,M1,2026-01-01,100\n",
        encoding="utf-8",
    )
    summary = run_import(warehouse, "orders", path)
    assert (summary.rows_accepted, summary.rows_rejected) == (1, 3)
    reasons = sorted(str(r[0]) for r in rows(warehouse, "SELECT reason FROM quarantine"))
    assert reasons[0] == "amount_fen '-5' is negative"
    assert reasons[1].startswith("amount_fen '1.5' is not a whole number of fen")
    assert reasons[2].startswith("paid_at '2026-13-45' is not a time")


def test_missing_required_columns(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("name,when\na,2026-01-01\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"lacks required events column\(s\): event, "):
        run_import(warehouse, "events", path)
    with pytest.raises(ImportFailed, match="Its columns are: 'name', 'when'"):
        run_import(warehouse, "events", path)
    assert rows(warehouse, "SELECT status FROM imports") == []


def test_empty_file(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    with pytest.raises(ImportFailed, match="is empty"):
        run_import(warehouse, "events", path)


def test_header_only_file(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("event,event_time,user_id\n", encoding="utf-8")
    summary = run_import(warehouse, "events", path)
    assert summary.rows_total == 0


def test_utf8_bom(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("\ufeffevent,event_time,user_id\n浏览,2026-01-01,u1\n".encode())
    assert run_import(warehouse, "events", path).rows_accepted == 1
    assert rows(warehouse, "SELECT event FROM events") == [("浏览",)]


def test_gbk_is_refused_with_the_fix(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("event,event_time,user_id\n浏览商品,2026-01-01,用户一\n".encode("gbk"))
    with pytest.raises(ImportFailed, match=r"GBK.*iconv -f GB18030 -t UTF-8"):
        run_import(warehouse, "events", path)


def test_unreadable_and_unknown(warehouse: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="does not exist"):
        run_import(warehouse, "events", tmp_path / "nope.csv")
    other = tmp_path / "e.xlsx"
    other.write_bytes(b"PK")
    with pytest.raises(ImportFailed, match=r"--format"):
        run_import(warehouse, "events", other)
    path = tmp_path / "e.csv"
    path.write_text("event,event_time,user_id\na,2026-01-01,u1\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="which the file does not have"):
        run_import(warehouse, "events", path, mapping={"evt": "event"})
    with pytest.raises(ImportFailed, match="is not one of the events columns"):
        run_import(warehouse, "events", path, mapping={"user_id": "uid"})


def test_mapping_syntax() -> None:
    assert parse_mapping(["a=b", " c = d "]) == {"a": "b", "c": "d"}
    with pytest.raises(ImportFailed, match="src=dst"):
        parse_mapping(["ab"])
    with pytest.raises(ImportFailed, match="empty side"):
        parse_mapping(["=b"])
