"""Segment export (导出人群): chosen columns, masked PII by default, audited reveal.

Also holds the demo data directory the CLI and API tests of segments start from: the
book-shop demo (400 persons, 40 days) with identities resolved, built once per run and
copied into each test's SIYU_HOME.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from siyu.config import Settings
from siyu.demo.load import load_demo
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.runtime import Runtime
from siyu.segments import actions, service
from siyu.segments.exceptions import InvalidSetKey, SegmentError, SegmentNotFound
from siyu.segments.export import DEFAULT_COLUMNS, export_segment
from siyu.storage import Warehouse

START = date(2024, 5, 1)
TODAY = date(2024, 6, 9)
#: The demo's official account and mini program (identity types carry their appid).
OA_APPID = "wx5e1d2c3b4a596870"
MP_APPID = "wx1f2e3d4c5b6a7988"

BUYERS: dict[str, Any] = {
    "key": "buyers",
    "name": "买过的人",
    "rule": {"event": {"name": "order_paid", "at_least": 1}},
}
FOLLOWERS: dict[str, Any] = {
    "key": "followers",
    "name": "公众号粉丝",
    "description": "follows the official account now",
    "rule": {"follows": True},
}

#: The demo data directory once built in this test run.
_template: dict[str, Path] = {}


def demo_home(tmp_path_factory: pytest.TempPathFactory, target: Path) -> Path:
    """A copy at ``target`` of the demo data directory (built on first use)."""
    if "home" not in _template:
        home = tmp_path_factory.mktemp("segments-demo") / "home"
        warehouse = Warehouse.open(Settings(home=home, parse_workers=0))
        try:
            load_demo(warehouse, 400, 40, 11, start=START)
            rebuild(warehouse, IdentityRules())
        finally:
            warehouse.close()
        _template["home"] = home
    shutil.copytree(_template["home"], target)
    return target


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The demo with two segments and a manual tag, computed (layers too) as of TODAY."""
    home = demo_home(tmp_path_factory, tmp_path_factory.mktemp("export") / "home")
    rt = Runtime.open(Settings(home=home, parse_workers=0))
    service.save(rt, BUYERS, "test")
    service.save(rt, FOLLOWERS, "test")
    members = [
        r[0]
        for r in rt.warehouse.cursor()
        .execute("SELECT DISTINCT person_id FROM identities ORDER BY 1 LIMIT 5")
        .fetchall()
    ]
    actions.tag_persons(rt, "vip", members, "test")
    service.compute(rt, today=TODAY)
    yield rt
    rt.warehouse.close()


def export_text(rt: Runtime, key: str, **kwargs: Any) -> str:
    return "".join(export_segment(rt, key, **kwargs))


def size_of(rt: Runtime, set_key: str) -> int:
    return next(int(s["size"]) for s in service.sets(rt) if s["set_key"] == set_key)


def test_default_columns_and_masked_phones(runtime: Runtime) -> None:
    text = export_text(runtime, "buyers")
    assert text.splitlines()[0] == ",".join(DEFAULT_COLUMNS)
    rows = rows_of(text)
    assert 0 < len(rows) == size_of(runtime, "segment:buyers")
    assert [r["person_id"] for r in rows] == sorted(r["person_id"] for r in rows)
    phones = [r["phone"] for r in rows if r["phone"]]
    assert phones and all(p.startswith("+86 1") and "****" in p for p in phones)
    assert all(r["member_id"].startswith("M") for r in rows if r["member_id"])
    assert all(r["entered_at"].endswith("+08:00") for r in rows)  # project time zone
    audit = runtime.warehouse.cursor().execute("SELECT count(*) FROM privacy_audit").fetchall()
    assert audit == [(0,)]  # masked exports are not audited


def test_reveal_opens_phones_and_is_audited(runtime: Runtime) -> None:
    masked = rows_of(export_text(runtime, "buyers", columns=["person_id", "phone"]))
    revealed = rows_of(
        export_text(runtime, "buyers", columns=["person_id", "phone"], reveal=True, actor="ann")
    )
    assert [r["person_id"] for r in masked] == [r["person_id"] for r in revealed]
    pairs = [(m["phone"], r["phone"]) for m, r in zip(masked, revealed, strict=True) if r["phone"]]
    assert pairs
    for shown, plain in pairs:
        assert plain.startswith("+861") and len(plain) == 14 and "*" not in plain
        assert shown == f"+86 {plain[3:6]}****{plain[-4:]}"
    audit = runtime.warehouse.cursor().execute(
        "SELECT action, actor, persons, identities, detail FROM privacy_audit WHERE actor = 'ann'"
    )
    [(action, actor, persons, identities, detail)] = audit.fetchall()
    assert (action, actor, persons, identities) == (
        "segment_export",
        "ann",
        len(revealed),
        len(pairs),
    )
    assert "segment:buyers" in detail and "phone" in detail


def test_identity_and_model_columns(runtime: Runtime) -> None:
    columns = [
        "person_id",
        "weight",
        "unionid",
        "mp_openid",
        f"oa_openid:{OA_APPID}",
        "stage",
        "paying",
        "rfm_class",
        "r_score",
        "monetary_fen",
        "value_tier",
        "first_channel",
    ]
    rows = rows_of(export_text(runtime, "buyers", columns=columns))
    assert list(rows[0]) == columns
    assert all(r["mp_openid"].startswith(f"{MP_APPID}:o") for r in rows if r["mp_openid"])
    assert any(r[f"oa_openid:{OA_APPID}"].startswith("o") for r in rows)
    # Every buyer has paid, so the models of the same compute know them all.
    assert all(r["paying"] == "true" for r in rows)
    assert all(r["rfm_class"] and r["r_score"] for r in rows)
    assert all(int(r["monetary_fen"]) > 0 for r in rows)
    assert {r["stage"] for r in rows} <= {"new", "active", "silent", "churned", "returning"}
    assert all(r["value_tier"] for r in rows)
    assert all(r["weight"] == "" for r in rows)  # segments carry no weight


def test_any_set_key_exports(runtime: Runtime) -> None:
    tagged = rows_of(export_text(runtime, "tag:vip", columns=["person_id", "stage"]))
    assert len(tagged) == 5
    paying = rows_of(export_text(runtime, "paying", columns=["person_id"]))
    assert len(paying) == size_of(runtime, "paying") > 0
    sets = [s["set_key"] for s in service.sets(runtime) if s["size"]]
    rfm = next(k for k in sets if k.startswith("rfm:"))
    exported = rows_of(export_text(runtime, rfm, columns=["person_id", "rfm_class"]))
    assert {r["rfm_class"] for r in exported} == {rfm.removeprefix("rfm:")}
    interest = next((k for k in sets if k.startswith("interest:")), None)
    if interest is not None:  # interest weights are exported
        weights = rows_of(export_text(runtime, interest, columns=["person_id", "weight"]))
        assert all(float(r["weight"]) > 0 for r in weights)


def test_bad_requests_say_what_to_do(runtime: Runtime) -> None:
    with pytest.raises(SegmentError, match=r"unknown column 'nope'.*member_id.*rfm_class"):
        export_segment(runtime, "buyers", columns=["person_id", "nope"])
    with pytest.raises(SegmentNotFound, match="did you mean buyers"):
        export_segment(runtime, "buyer")
    with pytest.raises(SegmentNotFound, match="no set 'tag:nobody'"):
        export_segment(runtime, "tag:nobody")
    with pytest.raises(InvalidSetKey):
        export_segment(runtime, "planet:mars")


def test_a_saved_segment_not_computed_yet(runtime: Runtime) -> None:
    service.save(runtime, {**BUYERS, "key": "later", "name": "later"}, "test")
    try:
        with pytest.raises(SegmentError, match="not been computed yet"):
            export_segment(runtime, "later")
    finally:
        service.archive(runtime, "later")


def test_cells_cannot_become_formulas() -> None:
    from siyu.segments.export import _inert

    assert _inert("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _inert("@SUM(A1)") == "'@SUM(A1)"
    assert _inert("-cmd") == "'-cmd"
    assert _inert("+86 138****8000") == "+86 138****8000"
    assert _inert("-12.5") == "-12.5"
    assert _inert("普通文本") == "普通文本"
