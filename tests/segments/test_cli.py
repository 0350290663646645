"""`siyu segments …` and `siyu tags …` as an operator runs them, on the demo data.

In process (the CLI opens the warehouse itself) and through a running server (the CLI
finds ``server.json`` and goes through the admin API), with the same commands.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from siyu.api.discovery import ServerInfo, write_server_info
from siyu.cli.main import app
from siyu.config import Settings
from tests.conftest import LiveServer
from tests.segments.test_export import BUYERS, FOLLOWERS, TODAY, demo_home

ADMIN_TOKEN = "segments-test-admin-token"


class Siyu:
    """Runs `siyu` commands in this process with SIYU_HOME set; output as text or JSON."""

    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        self.env = {"SIYU_HOME": str(home), "COLUMNS": "160", **env}
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> Any:
        result = self.runner.invoke(app, list(args), env=self.env, input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"siyu {' '.join(args)} exited {result.exit_code}:\n{result.output}\n"
                f"{result.stderr}\n{result.exception!r}"
            )
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self(*args, "--json", input=input).stdout)


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def audit_actions(home: Path) -> list[str]:
    con = duckdb.connect(str(home / "siyu.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT action FROM privacy_audit").fetchall()]
    finally:
        con.close()


def test_segments_and_tags_in_process(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    buyers = write_yaml(tmp_path / "buyers.yaml", BUYERS)

    draft = siyu.json("segments", "estimate", str(buyers), "--today", TODAY.isoformat())
    assert 0 < draft["size"] < draft["persons"] and draft["share"] > 0
    assert "persons" in siyu("segments", "estimate", str(buyers)).stdout

    saved = siyu.json("segments", "save", str(buyers))
    assert (saved["key"], saved["name"], saved["size"]) == ("buyers", "买过的人", None)
    # A list of definitions from standard input (JSON is YAML too).
    piped = siyu.json("segments", "save", "-", input=json.dumps([FOLLOWERS]))
    assert [d["key"] for d in piped] == ["followers"]
    listed = siyu.json("segments", "list")
    assert [d["key"] for d in listed] == ["buyers", "followers"]

    computed = siyu.json("segments", "compute", "--today", TODAY.isoformat())
    assert computed["segments"]["buyers"]["size"] == draft["size"]
    assert computed["segments"]["buyers"]["entered"] == draft["size"]
    assert computed["sets"]["paying"]["size"] > 0
    table = siyu("segments", "compute", "--today", TODAY.isoformat()).stdout
    assert "buyers" in table and "followers" in table and "lifecycle:" in table

    shown = siyu.json("segments", "show", "buyers")
    assert shown["size"] == draft["size"] and len(shown["history"]) == 2
    assert shown["definition"]["rule"]["event"]["name"] == "order_paid"
    assert "order_paid" in siyu("segments", "show", "buyers").stdout

    rows = csv_rows(siyu("segments", "export", "buyers").stdout)
    assert len(rows) == draft["size"]
    assert list(rows[0]) == ["person_id", "entered_at", "member_id", "phone"]
    assert any("****" in r["phone"] for r in rows)
    out = tmp_path / "buyers.csv"
    done = siyu(
        "segments",
        "export",
        "buyers",
        "--columns",
        "person_id,phone,stage",
        "--reveal",
        "--output",
        str(out),
    )
    assert f"wrote {draft['size']:,} members" in done.stderr
    revealed = csv_rows(out.read_text(encoding="utf-8"))
    assert any(r["phone"].startswith("+861") for r in revealed)
    assert all(r["stage"] for r in revealed)
    assert audit_actions(siyu.home) == ["segment_export"]

    sets = {s["set_key"]: s for s in siyu.json("segments", "sets")}
    assert sets["segment:buyers"]["size"] == draft["size"]
    overlap = siyu.json("segments", "overlap", "buyers", "paying")
    pairs = {(p["set_a"], p["set_b"]): p["persons"] for p in overlap["pairs"]}
    assert pairs[("segment:buyers", "paying")] == draft["size"]  # every buyer is paying
    assert "overlap" in siyu("segments", "overlap", "buyers", "followers").stdout

    person = revealed[0]["person_id"]
    phone = next(r["phone"] for r in revealed if r["phone"])
    added = siyu.json("tags", "add", "vip", person, f"phone:{phone}", "member_id:NOBODY")
    assert added["not_found"] == ["member_id:NOBODY"] and added["persons"] == added["tagged"]
    tags_csv = tmp_path / "tags.csv"
    tags_csv.write_text(f"identity,tag\nphone:{phone},vip\nmember_id:NOBODY,vip\n", "utf-8")
    imported = siyu.json("tags", "import", str(tags_csv))
    assert (imported["rows"], imported["already_tagged"], imported["rejected"]) == (2, 1, 1)
    tags = siyu.json("tags", "list")
    assert {t["tag"]: t["persons"] for t in tags["manual"]} == {"vip": added["persons"]}
    assert all(s["set_key"].startswith("interest:") for s in tags["interest"])
    removed = siyu.json("tags", "remove", "vip", person)
    assert removed["untagged"] == 1 and removed["persons"] == added["persons"] - 1
    assert "vip" in siyu("tags", "list").stdout
    exported_tag = csv_rows(siyu("segments", "export", "tag:vip", "--columns", "person_id").stdout)
    assert len(exported_tag) == removed["persons"]

    archived = siyu.json("segments", "archive", "followers")
    assert archived == {"key": "followers", "archived": True}
    assert [d["key"] for d in siyu.json("segments", "list")] == ["buyers"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("segments", "show", "nope"), "no segment or tag has the key 'nope'"),
        (("segments", "export", "nope"), "no segment or tag has the key 'nope'"),
        (("segments", "overlap", "buyers"), "at least two"),
        (("segments", "save", "missing.yaml"), "is not a file"),
        (("segments", "sync", "buyers", "--to", "fax"), "--to must be wecom or oa"),
        (("tags", "add", "vip", "13800138000"), "type:value"),
        (("tags", "import", "missing.csv"), "is not a file"),
    ],
)
def test_bad_commands_say_what_to_do(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = Siyu(tmp_path / "home")(*args, ok=False)
    assert done.exit_code != 0
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_definitions_name_the_node(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    bad_count = {
        "key": "bad",
        "name": "bad",
        "rule": {"all": [{"follows": True}, {"event": {"name": "order_paid", "at_least": -1}}]},
    }
    done = siyu("segments", "save", str(write_yaml(tmp_path / "bad.yaml", bad_count)), ok=False)
    assert done.exit_code != 0 and "rule.all[1]" in done.stderr, done.stderr
    unknown = {**BUYERS, "rule": {"event": {"name": "order_payed"}}}
    done = siyu("segments", "estimate", "-", input=json.dumps(unknown), ok=False)
    assert done.exit_code != 0
    assert "order_payed" in done.stderr and "did you mean order_paid" in done.stderr
    (tmp_path / "broken.yaml").write_text("key: [unclosed\n", encoding="utf-8")
    done = siyu("segments", "save", str(tmp_path / "broken.yaml"), ok=False)
    assert done.exit_code != 0 and "cannot be parsed" in done.stderr
    assert siyu.json("segments", "list") == []


def test_sync_without_settings_names_them(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    siyu = Siyu(demo_home(tmp_path_factory, tmp_path / "home"))
    siyu("segments", "save", str(write_yaml(tmp_path / "b.yaml", BUYERS)))
    siyu("segments", "compute", "--segments-only", "--json")
    done = siyu("segments", "sync", "buyers", "--to", "oa", ok=False)
    assert "SIYU_OA_APPID and SIYU_OA_SECRET" in done.stderr
    done = siyu("segments", "sync", "buyers", "--to", "wecom", ok=False)
    assert "SIYU_WECOM_CORP_ID and SIYU_WECOM_SECRET" in done.stderr


# -- through the running server ---------------------------------------------------------


@pytest.fixture
def settings(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The demo data directory for `live_server`, whose admin token the CLI is told."""
    monkeypatch.setattr(
        "siyu.api.app.secrets", SimpleNamespace(token_urlsafe=lambda _: ADMIN_TOKEN)
    )
    home = demo_home(tmp_path_factory, tmp_path / "siyu-home")
    return Settings(home=home, parse_workers=0)


def test_segments_through_the_running_server(
    live_server: LiveServer, settings: Settings, tmp_path: Path
) -> None:
    write_server_info(settings.server_file, ServerInfo(live_server.url, os.getpid(), ADMIN_TOKEN))
    siyu = Siyu(settings.home)
    try:
        assert siyu.json("segments", "list") == []
        buyers = write_yaml(tmp_path / "buyers.yaml", BUYERS)
        draft = siyu.json("segments", "estimate", str(buyers), "--today", TODAY.isoformat())
        assert siyu.json("segments", "save", str(buyers))["key"] == "buyers"
        done = siyu(
            "segments",
            "save",
            "-",
            input=json.dumps({**BUYERS, "key": "x", "rule": {"all": 1}}),
            ok=False,
        )
        assert done.exit_code != 0 and "the server refused" in done.stderr
        assert "rule.all" in done.stderr
        computed = siyu.json("segments", "compute", "--today", TODAY.isoformat())
        assert computed["segments"]["buyers"]["size"] == draft["size"]
        assert "buyers" in siyu("segments", "compute", "--today", TODAY.isoformat()).stdout
        assert siyu.json("segments", "show", "buyers")["size"] == draft["size"]
        rows = csv_rows(
            siyu("segments", "export", "buyers", "--columns", "person_id,phone,rfm_class").stdout
        )
        assert len(rows) == draft["size"] and all(r["rfm_class"] for r in rows)
        assert not any(r["phone"].startswith("+861") for r in rows)
        assert "no set 'tag:none'" in siyu("segments", "export", "tag:none", ok=False).stderr

        person = rows[0]["person_id"]
        assert siyu.json("tags", "add", "老客 VIP", person)["tagged"] == 1
        tags_csv = tmp_path / "more.csv"
        tags_csv.write_text(f"person_id\n{rows[1]['person_id']}\n", encoding="utf-8")
        imported = siyu.json("tags", "import", str(tags_csv), "--tag", "老客 VIP")
        assert imported["tagged"] == 1 and imported["file"].endswith("more.csv")
        listed = siyu.json("tags", "list")
        assert {t["tag"]: t["persons"] for t in listed["manual"]} == {"老客 VIP": 2}
        assert siyu.json("tags", "remove", "老客 VIP", person)["untagged"] == 1
        overlap = siyu.json("segments", "overlap", "buyers", "tag:老客 VIP")
        assert {(p["set_a"], p["set_b"]): p["persons"] for p in overlap["pairs"]}[
            ("segment:buyers", "tag:老客 VIP")
        ] == 1
        assert siyu.json("segments", "archive", "buyers")["archived"] is True
    finally:
        settings.server_file.unlink(missing_ok=True)
