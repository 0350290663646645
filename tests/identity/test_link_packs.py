"""Rows that change nothing when resolved are packed, and every reader still sees them.

A returning user's events link ids already in one person: those rows are kept in
``identity_link_packs`` (one row per event, its rows as lists) instead of
``identity_link_rows``. The log
(`identity_links`), later replays of their region, and privacy deletion must behave as
if they were ordinary rows: each case ends by comparing with a rebuild from the events.
"""

from __future__ import annotations

from typing import Any

from siyu.identity.graph import add_decision, apply_new, rebuild
from siyu.identity.persons import delete_person
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.identity.population import append, event, partition

RULES = IdentityRules.with_overrides({}, max_fanout=3)


def counts(w: Warehouse) -> tuple[int, int]:
    cur = w.cursor()
    rows = cur.execute("SELECT count(*) FROM identity_link_rows").fetchone()
    packed = cur.execute("SELECT count(*) FROM identity_link_packed").fetchone()
    assert rows is not None and packed is not None
    return int(rows[0]), int(packed[0])


def snapshot(w: Warehouse) -> dict[str, Any]:
    cur = w.cursor()
    return {
        "log": sorted(cur.execute("SELECT * FROM identity_links").fetchall()),
        "identities": sorted(
            cur.execute(
                "SELECT identity_type, identity_value, person_id, region_id, node_order, junk"
                " FROM identities"
            ).fetchall()
        ),
        "actors": sorted(cur.execute("SELECT seq, actor FROM events").fetchall()),
        "conflicts": sorted(cur.execute("SELECT * FROM identity_conflicts").fetchall()),
        "overrides": sorted(cur.execute("SELECT * FROM person_overrides").fetchall()),
    }


def returning_users(w: Warehouse, visits: int, first: int = 0) -> None:
    """Two users, each visit one event with login, device and unionid; applied each time."""
    for i in range(first, first + visits):
        append(
            w,
            [
                event(f"a{i}", {"unionid": "nA"}, user_id="uA", anonymous_id="dA"),
                event(f"b{i}", {"unionid": "nB"}, user_id="uB", anonymous_id="dB"),
            ],
        )
        apply_new(w, RULES)


def test_returning_traffic_is_packed_and_the_log_is_whole() -> None:
    w = Warehouse.in_memory()
    returning_users(w, 4)
    rows, packed = counts(w)
    # The first visit founds each person (3 rows per event); every later one is idle.
    assert (rows, packed) == (6, 18)
    # One pack per event: 2 users x 3 returning visits, 3 rows each.
    packs = w.cursor().execute("SELECT seq, len(sub), len(a_node) FROM identity_link_packs")
    assert sorted(n for _, n, m in packs.fetchall() if n == m) == [3] * 6
    incremental = snapshot(w)
    assert len(incremental["log"]) == 24
    rebuild(w, RULES)
    assert counts(w) == (24, 0)  # a rebuild writes rows
    assert snapshot(w) == incremental


def test_replaying_a_region_reads_packed_rows() -> None:
    """Keeping two ids apart replays their region from the start: the packed links of
    later visits are what join the device to the login again."""
    w = Warehouse.in_memory()
    returning_users(w, 3)
    add_decision(w, RULES, "keep_apart", ("login_id", "uA"), ("unionid", "nA"), "ops")
    returning_users(w, 1)
    incremental = snapshot(w)
    assert frozenset({("login_id", "uA"), ("anonymous_id", "dA")}) in partition(w)
    rebuild(w, RULES)
    assert snapshot(w) == incremental


def test_an_id_turning_junk_replays_packed_rows() -> None:
    """A shared device seen on more persons than the fan-out limit becomes junk, and the
    region is replayed without its links: packed rows included."""
    w = Warehouse.in_memory()
    returning_users(w, 2)
    for n in range(5):
        append(w, [event(f"s{n}", {}, user_id=f"shop{n}", anonymous_id="dA")])
        apply_new(w, RULES)
    incremental = snapshot(w)
    junk = w.cursor().execute("SELECT junk FROM identities WHERE identity_value = 'dA'").fetchone()
    assert junk == (True,)
    rebuild(w, RULES)
    assert snapshot(w) == incremental


def test_deleting_a_person_removes_their_packed_rows() -> None:
    w = Warehouse.in_memory()
    returning_users(w, 3)
    delete_person(w, RULES, "login_id:uA", actor="test")
    cur = w.cursor()
    left = cur.execute(
        "SELECT count(*) FROM identity_links WHERE a_value IN ('uA', 'dA', 'nA')"
        " OR b_value IN ('uA', 'dA', 'nA') OR ref LIKE 'a%'"
    ).fetchone()
    assert left == (0,)
    assert counts(w) == (3, 6)  # uB's first visit as rows, the two later ones packed
    incremental = snapshot(w)
    rebuild(w, RULES)
    assert snapshot(w) == incremental


def known(w: Warehouse) -> int:
    row = w.cursor().execute("SELECT count(*) FROM identity_link_known").fetchone()
    assert row is not None
    return int(row[0])


def test_events_like_an_idle_one_skip_derivation_until_a_replay() -> None:
    """An event with the identity fields of an earlier all-idle event reuses its rows;
    any replay forgets that, since it may undo what made them idle."""
    w = Warehouse.in_memory()
    returning_users(w, 1)
    # The first visits founded each person: seen again, their rows change nothing.
    assert known(w) == 2
    returning_users(w, 3, first=1)  # three more visits each: known, packed straight away
    assert known(w) == 2
    assert counts(w) == (6, 18)
    actors = (
        w.cursor()
        .execute("SELECT count(DISTINCT actor), count(*) FILTER (WHERE actor IS NULL) FROM events")
        .fetchone()
    )
    assert actors == (2, 0)
    add_decision(w, RULES, "keep_apart", ("login_id", "uB"), ("unionid", "nB"), "ops")
    assert known(w) == 0
    returning_users(w, 1, first=4)  # uB's link to nB is refused again, not idle
    conflicts = (
        w.cursor().execute("SELECT count(*) FROM identity_conflicts WHERE ref = 'b4'").fetchone()
    )
    assert conflicts == (1,)
    incremental = snapshot(w)
    rebuild(w, RULES)
    assert snapshot(w) == incremental
    assert known(w) == 0


def test_remembered_rows_name_the_ids_held_and_their_one_person() -> None:
    """What an apply remembers of an event is the graph it left: each row's ids by the
    ``node_order`` they hold, both ends in one person. Visitors founding ids, then new
    devices joining stored members (old and new ids in one apply), then returning."""
    w = Warehouse.in_memory()
    append(
        w,
        [
            event(f"f{i}", {"unionid": f"n{i}"}, user_id=f"u{i}", anonymous_id=f"d{i}")
            for i in range(4)
        ],
    )
    apply_new(w, RULES)
    append(
        w,
        [
            event(f"g{i}", {"unionid": f"n{i}"}, user_id=f"u{i}", anonymous_id=f"e{i}")
            for i in range(4)
        ],
    )
    apply_new(w, RULES)
    returning_users(w, 2)
    assert known(w) == 10
    bad = (
        w.cursor()
        .execute(
            """
            SELECT count(*) FROM (
                SELECT unnest(a_node) AS a, unnest(b_node) AS b FROM identity_link_known) k
            LEFT JOIN identities ia ON ia.node_order = k.a
            LEFT JOIN identities ib ON ib.node_order = k.b
            WHERE ia.person_id IS NULL OR (k.b IS NOT NULL AND ib.person_id IS DISTINCT FROM
                                           ia.person_id)
            """
        )
        .fetchone()
    )
    assert bad == (0,)
    incremental = snapshot(w)
    rebuild(w, RULES)
    assert snapshot(w) == incremental


def test_a_refused_link_is_not_remembered() -> None:
    """An event whose link the rules refuse stays unknown: each later one is derived
    and recorded as a conflict again, as a rebuild records it."""
    w = Warehouse.in_memory()
    rules = IdentityRules.with_overrides({}, max_fanout=3)
    append(w, [event("m1", {"unionid": "nA"}, user_id="uA")])
    apply_new(w, rules)
    for i in range(3):
        append(w, [event(f"x{i}", {"unionid": "nB"}, user_id="uA")])  # a second unionid
        apply_new(w, rules)
    assert known(w) == 1  # only the first, accepted event's signature
    incremental = snapshot(w)
    assert len(incremental["conflicts"]) == 3
    rebuild(w, rules)
    assert snapshot(w) == incremental


def test_deleting_a_person_forgets_known_events() -> None:
    w = Warehouse.in_memory()
    returning_users(w, 2)
    delete_person(w, RULES, "login_id:uA", actor="test")
    assert known(w) == 0
