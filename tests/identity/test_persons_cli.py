"""`siyu persons …` / `siyu identity …` as an operator runs them: real processes and files.

In process (imports, rebuild, show, export, decisions, delete) and through a running
`siyu serve` fed by the real Segment client (incremental resolution, the admin API).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import duckdb
from segment import analytics

from tests.cli.test_cli import served_home, siyu

__all__ = ["served_home"]

USERS = [
    # member_id, phone, unionid, email
    ("M001", "138 0013 8000", "oU-alice", "Alice@Example.com"),
    ("M002", "13900139000", "oU-bob", ""),
    ("M003", "13900139000", "oU-carol", ""),  # reuses Bob's phone: must not merge
]


def _write_users(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["member_id", "phone", "unionid", "email", "city"])
        for member, phone, unionid, email in USERS:
            out.writerow([member, phone, unionid, email, "上海"])


def _write_orders(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["order_id", "member_id", "id_mp_openid", "paid_at", "amount_yuan"])
        out.writerow(["O1", "M001", "oMP-alice", "2026-11-01 10:00:00", "59.90"])
        out.writerow(["O2", "M002", "", "2026-11-02 11:00:00", "19.00"])


def _all_text(db: Path) -> str:
    """Every row of every table as text (to prove a deletion left nothing behind)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return "\n".join(
            str(row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"').fetchall()
        )
    finally:
        con.close()


def test_persons_in_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    users, orders = tmp_path / "users.csv", tmp_path / "orders.csv"
    _write_users(users)
    _write_orders(orders)
    siyu(home, "import", "users", str(users))
    siyu(home, "import", "orders", str(orders))
    stats = json.loads(siyu(home, "identity", "rebuild", "--json").stdout)
    assert stats["conflicts"] >= 1  # Carol's link to Bob's phone is refused

    alice = json.loads(siyu(home, "persons", "show", "phone:+86 138-0013-8000", "--json").stdout)
    shown = {r["identity_type"]: r["identity_value"] for r in alice["identities"]}
    assert shown["member_id"] == "M001"
    assert shown["phone"] == "+86 138****8000"  # masked by default
    assert shown["email"].startswith("a") and "***" in shown["email"]
    assert shown["mp_openid"] == "oMP-alice"  # from the order: one person, one id map
    same = json.loads(siyu(home, "persons", "show", "member_id:M001", "--json").stdout)
    assert same["person_id"] == alice["person_id"]
    revealed = json.loads(
        siyu(home, "persons", "show", "member_id:M001", "--reveal", "--json").stdout
    )
    assert {r["identity_value"] for r in revealed["identities"]} >= {
        "+8613800138000",
        "alice@example.com",
    }

    bob = json.loads(siyu(home, "persons", "show", "member_id:M002", "--json").stdout)
    carol = json.loads(siyu(home, "persons", "show", "member_id:M003", "--json").stdout)
    assert bob["person_id"] != carol["person_id"]
    conflicts = json.loads(siyu(home, "identity", "conflicts", "--json").stdout)
    assert any(c["rule"] in ("phone", "member_id") for c in conflicts)
    assert all(c["ref"] for c in conflicts)  # evidence: the record that asked for the link

    exported = tmp_path / "map.csv"
    siyu(home, "identity", "export", "--format", "csv", "--output", str(exported))
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert {r["identity_type"] for r in rows} >= {"member_id", "phone", "unionid", "mp_openid"}
    assert not any("13800138000" in r["identity_value"] for r in rows)  # masked
    lines = siyu(home, "identity", "export", "--format", "jsonl", "--reveal").stdout.splitlines()
    assert any(json.loads(x)["identity_value"] == "+8613800138000" for x in lines)
    as_json = siyu(home, "identity", "export", "--json", "--reveal").stdout.splitlines()
    assert as_json == lines  # --json, like the other commands, is the JSON-lines format

    # An operator decides: Carol's unionid belongs with Bob after all, then splits again.
    merged = json.loads(
        siyu(home, "identity", "merge", "member_id:M002", "unionid:oU-carol", "--json").stdout
    )
    assert merged["person_a"] == merged["person_b"]
    apart = json.loads(
        siyu(home, "identity", "keep-apart", "member_id:M002", "member_id:M003", "--json").stdout
    )
    assert apart["person_a"] != apart["person_b"]

    export = tmp_path / "alice.json"
    siyu(home, "persons", "export", "member_id:M001", "--output", str(export))
    data = json.loads(export.read_text(encoding="utf-8"))
    assert data["person_id"] == alice["person_id"]
    assert any(o["order_id"] == "O1" for o in data["orders"])
    assert "+8613800138000" in json.dumps(data, ensure_ascii=False)

    before = _all_text(home / "siyu.duckdb")
    assert "M001" in before and "O1" in before
    result = json.loads(siyu(home, "persons", "delete", "member_id:M001", "--yes", "--json").stdout)
    assert result["events"] >= 1 and result["orders"] == 1
    after = _all_text(home / "siyu.duckdb")
    for gone in ("M001", "oU-alice", "oMP-alice", "alice@example.com", "'O1'", alice["person_id"]):
        assert gone not in after, gone
    assert "M002" in after  # nobody else was touched
    failed = siyu(home, "persons", "show", "member_id:M001", check=False)
    assert failed.returncode != 0 and "no person holds" in failed.stderr
    audit = duckdb.connect(str(home / "siyu.duckdb"), read_only=True)
    try:
        actions = audit.execute("SELECT action FROM privacy_audit ORDER BY done_at").fetchall()
    finally:
        audit.close()
    assert [a for (a,) in actions] == ["export", "delete"]


def test_bad_references_say_what_to_write(tmp_path: Path) -> None:
    home = tmp_path / "home"
    siyu(home, "init")
    for ref, message in [
        ("13800138000", "type:value"),
        ("mp_openid:oABC", "per app"),
        ("phone:12", "phone"),
    ]:
        done = siyu(home, "persons", "show", ref, check=False)
        assert done.returncode != 0 and message in done.stderr, done.stderr
    done = siyu(home, "identity", "export", "--format", "xml", check=False)
    assert done.returncode != 0 and "csv or jsonl" in done.stderr


def test_persons_through_the_running_server(served_home: tuple[Path, str]) -> None:
    home, url = served_home
    made = json.loads(siyu(home, "sources", "add", "web", "--json").stdout)
    client = analytics.Client(made["write_key"], host=url, sync_mode=True, max_retries=1)
    client.track(anonymous_id="anon-1", event="view_item", properties={"item": "b1"})
    client.identify(
        user_id="u-1",
        anonymous_id="anon-1",
        traits={"phone": "13800138000", "name": "Ann"},
        context={"externalIds": [{"type": "unionid", "id": "oU-ann", "collection": "users"}]},
    )
    client.track(user_id="u-1", event="order_paid", properties={"amount_fen": 990})
    client.flush()

    deadline = time.time() + 90
    person = None
    while time.time() < deadline:  # the resolver applies new events about once a second
        done = siyu(home, "persons", "show", "anonymous_id:anon-1", "--json", check=False)
        if done.returncode == 0:
            person = json.loads(done.stdout)
            if len(person["identities"]) >= 4:
                break
        time.sleep(0.5)
    assert person is not None
    types = {r["identity_type"] for r in person["identities"]}
    assert types == {"anonymous_id", "login_id", "phone", "unionid"}
    assert person["events"] == 3
    by_phone = json.loads(siyu(home, "persons", "show", "phone:13800138000", "--json").stdout)
    assert by_phone["person_id"] == person["person_id"]

    deleted = json.loads(siyu(home, "persons", "delete", "login_id:u-1", "--yes", "--json").stdout)
    assert deleted["events"] == 3
    listing = siyu(home, "identity", "export", "--format", "jsonl").stdout
    assert "anon-1" not in listing and "u-1" not in listing
