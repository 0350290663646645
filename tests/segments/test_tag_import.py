"""Bulk manual tags from CSV: good and bad rows mixed, BOM, headers siyu cannot use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from siyu.identity import pii
from siyu.segments.exceptions import TagImportError
from siyu.segments.tag_import import RowProblem, import_tag_csv
from siyu.storage import Warehouse
from siyu.storage import segment_store as ss
from siyu.storage import tag_store as ts

P_PHONE = "p" + "1" * 20
P_MEMBER = "p" + "2" * 20
P_OPENID = "p" + "3" * 20
P_LOGIN = "p" + "4" * 20
P_MERGED = "p" + "5" * 20  # merged into P_LOGIN


@pytest.fixture
def people(warehouse: Warehouse) -> Warehouse:
    """Four persons and a merge, stored the way the identity graph stores them."""
    phone = warehouse.sealer.seal(pii.normalise_phone("13800138000"))
    rows = [
        ("phone", phone, P_PHONE),
        ("member_id", "M1", P_MEMBER),
        ("mp_openid:wx0000000000000001", "oAbC", P_OPENID),
        ("login_id", "u4", P_LOGIN),
        ("login_id", "u5", P_LOGIN),
    ]
    with warehouse.transaction() as cur:
        for n, (t, v, p) in enumerate(rows):
            cur.execute(
                "INSERT INTO identities VALUES (?, ?, ?, ?, ?, ?, false)",
                [t, v, p, p, n, datetime(2024, 1, 1)],
            )
        cur.execute("INSERT INTO person_overrides VALUES (?, ?)", [P_MERGED, P_LOGIN])
    return warehouse


def write(tmp_path: Path, text: str, name: str = "tags.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_good_rows_are_tagged_and_bad_rows_reported(people: Warehouse, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "identity,tag\n"
        "phone:+86 138 0013 8000,vip\n"  # 2: another spelling of the stored phone
        "member_id:M1,vip\n"  # 3
        "phone:13900000000,vip\n"  # 4: nobody
        "nonsense,vip\n"  # 5: not a reference
        f"member_id:M1,{'x' * 65}\n"  # 6: tag too long
        "member_id:M1,vip\n"  # 7: repeated
        "\n"  # blank lines are skipped
        f"{P_MERGED},高潜\n"  # 9: a merged-away person id
        "mp_openid:wx0000000000000001:oAbC,\n"  # 10: no tag
        "phone:12,vip\n"  # 11: not a phone number
        "member_id:M1,vip,extra\n",  # 12: too many values
    )
    report = import_tag_csv(people, path, actor="ops", at=datetime(2024, 5, 1))
    assert (report.rows, report.tagged, report.already_tagged, report.rejected) == (10, 3, 1, 6)
    assert report.tags == ("vip", "高潜")
    lines = {p.line: p.reason for p in report.problems}
    assert sorted(lines) == [4, 5, 6, 10, 11, 12]
    assert lines[4] == "no person holds phone:+86 139****0000; check the type and value"
    assert lines[5].startswith("bad identity: 'nonsense' is not an identity")
    assert "at most 64" in lines[6]
    assert lines[10].startswith("no tag")
    assert lines[11].startswith("bad identity: phone is not a valid number")
    assert lines[12] == "3 values but the header names 2"
    cur = people.cursor()
    held = ts.manual_tag_members(cur, "vip").to_pylist()
    assert [(r["person_id"], r["source"], r["added_by"]) for r in held] == [
        (P_PHONE, "csv:tags.csv", "ops"),
        (P_MEMBER, "csv:tags.csv", "ops"),
    ]
    assert ts.manual_tag_members(cur, "高潜")["person_id"].to_pylist() == [P_LOGIN]
    assert ss.current_members(cur, "tag:vip").num_rows == 2


def test_bom_person_ids_crlf_and_one_tag_for_the_file(people: Warehouse, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"\ufeffPerson_ID,Tag\r\n{P_OPENID},\r\n{P_LOGIN},own\r\np{'9' * 20},\r\n",
        name="名单.csv",
    )
    report = import_tag_csv(people, path, tag="618活动", actor="ops")
    assert (report.rows, report.tagged, report.rejected) == (3, 2, 1)
    assert report.problems == (
        RowProblem(4, f"no person holds person p{'9' * 20}; check the type and value"),
    )
    cur = people.cursor()
    assert ts.manual_tag_members(cur, "618活动")["person_id"].to_pylist() == [P_OPENID]
    assert ts.manual_tag_members(cur, "own")["source"].to_pylist() == ["csv:名单.csv"]
    again = import_tag_csv(people, path, tag="618活动", actor="ops")
    assert (again.tagged, again.already_tagged, again.rejected) == (0, 2, 1)


@pytest.mark.parametrize(
    ("text", "tag", "message"),
    [
        ("phone,label\n13800138000,vip\n", None, "unknown columns 'phone', 'label'; expected"),
        ("identity\nmember_id:M1\n", None, "no tag column"),
        ("tag\nvip\n", None, "no identity or person_id column"),
        ("identity,identity,tag\n", None, "named twice"),
        ("", None, "no header row"),
        ("identity,tag\nmember_id:M1,vip\n", "a\nb", "the tag given"),
    ],
)
def test_headers_siyu_cannot_use(
    people: Warehouse, tmp_path: Path, text: str, tag: str | None, message: str
) -> None:
    with pytest.raises(TagImportError, match=message):
        import_tag_csv(people, write(tmp_path, text), tag=tag, actor="ops")
    assert ts.list_manual_tags(people.cursor()).num_rows == 0


def test_files_that_cannot_be_read(people: Warehouse, tmp_path: Path) -> None:
    gbk = write(tmp_path, "identity,tag\nmember_id:M1,高价值\n", encoding="gbk")
    with pytest.raises(TagImportError, match="not UTF-8"):
        import_tag_csv(people, gbk, actor="ops")
    with pytest.raises(TagImportError, match="cannot read"):
        import_tag_csv(people, tmp_path / "missing.csv", actor="ops")
