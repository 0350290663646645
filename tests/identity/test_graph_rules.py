"""The identity graph's merge rules, one example each: limits, priority, decisions, junk."""

from __future__ import annotations

import hashlib

import pytest

from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.graph import add_decision, apply_new, rebuild
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.identity.population import Order, append, event, persons, stored, write_orders

RULES = IdentityRules()


def pid(id_type: str, value: str) -> str:
    """The person id an identity founds: ``'p' + md5(type \\x1f value)[:20]``."""
    return "p" + hashlib.md5(f"{id_type}\x1f{value}".encode()).hexdigest()[:20]


def seq_of(w: Warehouse, event_id: str) -> int:
    row = w.cursor().execute("SELECT seq FROM events WHERE event_id = ?", [event_id]).fetchone()
    assert row is not None
    return int(row[0])


def conflicts(w: Warehouse) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = (
        w.cursor()
        .execute(
            "SELECT seq, sub, a_type, a_value, b_type, b_value, a_person_id, b_person_id, rule,"
            " origin, ref FROM identity_conflicts ORDER BY seq, sub"
        )
        .fetchall()
    )
    return rows


def person_of(w: Warehouse, id_type: str, value: str) -> str:
    return persons(w)[stored(w, id_type, value)]


@pytest.fixture
def w() -> Warehouse:
    return Warehouse.in_memory()


def test_a_second_login_on_one_unionid_is_a_conflict_with_its_evidence(w: Warehouse) -> None:
    append(
        w,
        [
            event("e1", {"unionid": "n1"}, user_id="u1"),
            event("e2", {"unionid": "n1"}, user_id="u2"),
        ],
    )
    stats = rebuild(w, RULES)
    assert (stats.persons, stats.conflicts) == (2, 1)
    assert person_of(w, "unionid", "n1") == person_of(w, "login_id", "u1") == pid("login_id", "u1")
    assert person_of(w, "login_id", "u2") == pid("login_id", "u2")
    assert conflicts(w) == [
        (
            seq_of(w, "e2"),
            1,
            "login_id",
            "u2",
            "unionid",
            "n1",
            pid("login_id", "u2"),
            pid("login_id", "u1"),
            "login_id",
            "event",
            "e2",
        )
    ]


def test_a_second_phone_conflicts_on_the_phone_rule(w: Warehouse) -> None:
    append(
        w,
        [
            event("e1", {"phone": "13800138000"}, user_id="u1"),
            event("e2", {"phone": "13900139000"}, user_id="u1"),
        ],
    )
    rebuild(w, RULES)
    [row] = conflicts(w)
    assert (row[0], row[2:4], row[4], row[8], row[10]) == (
        seq_of(w, "e2"),
        ("login_id", "u1"),
        "phone",
        "phone",
        "e2",
    )
    assert person_of(w, "phone", "13900139000") != person_of(w, "login_id", "u1")


def test_anonymous_and_device_ids_are_unlimited(w: Warehouse) -> None:
    append(
        w,
        [event(f"a{i}", user_id="u1", anonymous_id=f"anon{i}") for i in range(5)]
        + [event(f"d{i}", {"device_id": f"dev{i}"}, user_id="u1") for i in range(4)]
        + [event("x", {"device_id": "dev0"}, anonymous_id="anon9", previous_id="anon8")],
    )
    stats = rebuild(w, RULES)
    assert stats.conflicts == 0
    assert set(persons(w).values()) == {pid("login_id", "u1")}  # the first actor
    assert len(persons(w)) == 1 + 5 + 4 + 2


def test_openids_of_different_apps_count_separately(w: Warehouse) -> None:
    append(
        w,
        [
            event("e1", {"mp_openid": "oA", "unionid": "n1"}, app_id="wxA"),
            event("e2", {"mp_openid": "oB", "unionid": "n1"}, app_id="wxB"),
            event("e3", {"oa_openid": "oC", "unionid": "n1"}, app_id="wxC"),
            event("e4", {"mp_openid": "oA2", "unionid": "n1"}, app_id="wxA"),
        ],
    )
    rebuild(w, RULES)
    ids = persons(w)
    person = ids[("unionid", "n1")]
    assert ids[("mp_openid:wxA", "oA")] == ids[("mp_openid:wxB", "oB")] == person
    assert ids[("oa_openid:wxC", "oC")] == person
    assert ids[("mp_openid:wxA", "oA2")] != person
    [row] = conflicts(w)
    assert (row[2:6], row[8]) == (("unionid", "n1", "mp_openid:wxA", "oA2"), "mp_openid:wxA")


def test_the_highest_priority_id_is_the_actor_and_links_go_in_priority_order(
    w: Warehouse,
) -> None:
    append(
        w,
        [
            event(
                "e1",
                {"member_id": "m1", "unionid": "n1", "device_id": "d1", "custom": "c1"},
                user_id="u1",
                anonymous_id="a1",
            )
        ],
    )
    rebuild(w, RULES)
    rows = (
        w.cursor()
        .execute(
            "SELECT sub, kind, a_type, a_value, b_type, b_value, origin, ref FROM identity_links"
            " ORDER BY seq, sub"
        )
        .fetchall()
    )
    assert rows == [
        (0, "node", "member_id", "m1", None, None, "event", "e1"),
        (1, "link", "member_id", "m1", "login_id", "u1", "event", "e1"),
        (2, "link", "member_id", "m1", "unionid", "n1", "event", "e1"),
        (3, "link", "member_id", "m1", "custom", "c1", "event", "e1"),  # undeclared: 30
        (4, "link", "member_id", "m1", "device_id", "d1", "event", "e1"),
        (5, "link", "member_id", "m1", "anonymous_id", "a1", "event", "e1"),
    ]
    assert set(persons(w).values()) == {pid("member_id", "m1")}


def test_priority_overrides_change_the_actor(w: Warehouse) -> None:
    append(w, [event("e1", {"unionid": "n1"}, user_id="u1")])
    rules = IdentityRules.with_overrides({"unionid": {"priority": 95}})
    rebuild(w, rules)
    [(kind, a_type)] = (
        w.cursor()
        .execute("SELECT kind, a_type FROM identity_links WHERE sub = 0 AND origin = 'event'")
        .fetchall()
    )
    assert (kind, a_type) == ("node", "unionid")


def test_keep_apart_holds_for_the_whole_replay(w: Warehouse) -> None:
    append(w, [event("e1", {"device_id": "d1"}, user_id="u1")])
    rebuild(w, RULES)
    assert person_of(w, "device_id", "d1") == person_of(w, "login_id", "u1")
    # Decided after the merge, it still splits the two: decisions hold for all history.
    add_decision(w, RULES, "keep_apart", ("login_id", "u1"), ("device_id", "d1"), "ops")
    assert person_of(w, "device_id", "d1") != person_of(w, "login_id", "u1")
    [row] = conflicts(w)
    assert (row[2:6], row[8], row[9], row[10]) == (
        ("login_id", "u1", "device_id", "d1"),
        "keep_apart",
        "event",
        "e1",
    )
    # A later event linking them again is refused too, and a rebuild agrees.
    append(w, [event("e2", {"device_id": "d1"}, user_id="u1")])
    apply_new(w, RULES)
    assert person_of(w, "device_id", "d1") != person_of(w, "login_id", "u1")
    assert len(conflicts(w)) == 2
    before = persons(w)
    rebuild(w, RULES)
    assert persons(w) == before


def test_keep_apart_also_blocks_indirect_merges(w: Warehouse) -> None:
    add_decision(w, RULES, "keep_apart", ("anonymous_id", "a1"), ("anonymous_id", "a2"), "ops")
    append(
        w,
        [
            event("e1", user_id="u1", anonymous_id="a1"),
            event("e2", {"device_id": "d1"}, anonymous_id="a2"),
            event("e3", {"device_id": "d1"}, user_id="u1"),
        ],
    )
    apply_new(w, RULES)
    ids = persons(w)
    assert ids[("login_id", "u1")] == ids[("anonymous_id", "a1")]
    assert ids[("device_id", "d1")] == ids[("anonymous_id", "a2")]
    assert ids[("login_id", "u1")] != ids[("device_id", "d1")]
    assert [r[8] for r in conflicts(w)] == ["keep_apart"]


def test_force_merges_past_the_limits(w: Warehouse) -> None:
    append(
        w,
        [
            event("e1", {"unionid": "n1"}, user_id="u1"),
            event("e2", {"unionid": "n1"}, user_id="u2"),
        ],
    )
    rebuild(w, RULES)
    assert person_of(w, "login_id", "u2") != person_of(w, "login_id", "u1")
    add_decision(w, RULES, "force", ("login_id", "u2"), ("unionid", "n1"), "ops")
    assert person_of(w, "login_id", "u2") == person_of(w, "login_id", "u1")
    # The refused event link stays on record as evidence; both its ends are one person now.
    [row] = conflicts(w)
    assert row[6] == row[7] == person_of(w, "login_id", "u1")
    rebuild(w, RULES)
    assert person_of(w, "login_id", "u2") == person_of(w, "login_id", "u1")


def test_an_operator_unbind_splits_an_id_off(w: Warehouse) -> None:
    append(w, [event("e1", {"device_id": "d1"}, user_id="u1", anonymous_id="a1")])
    rebuild(w, RULES)
    add_decision(w, RULES, "unbind", ("login_id", "u1"), None, "ops")
    ids = persons(w)
    assert ids[("login_id", "u1")] == pid("login_id", "u1")
    assert ids[("device_id", "d1")] != ids[("login_id", "u1")]
    # The actor was u1, so every link of e1 touched it: all three are apart now.
    assert len(set(ids.values())) == 3


def test_an_unbind_event_voids_earlier_links_only(w: Warehouse) -> None:
    append(
        w,
        [
            event("e1", {"unionid": "n1"}, user_id="u1"),
            event("e2", {"unionid": "n1"}, type="unbind", user_id="u1"),
            event("e3", {"unionid": "n1"}, user_id="u2"),
        ],
    )
    rebuild(w, RULES)
    assert person_of(w, "unionid", "n1") == person_of(w, "login_id", "u2")
    assert person_of(w, "login_id", "u1") == pid("login_id", "u1")
    assert conflicts(w) == []
    kinds = (
        w.cursor()
        .execute("SELECT kind, a_type, a_value FROM identity_links WHERE ref = 'e2'")
        .fetchall()
    )
    # The map names what is unbound; the user id is the event's node, not unbound.
    assert sorted(kinds) == [("node", "login_id", "u1"), ("unbind", "unionid", "n1")]


def test_an_unbind_without_a_map_unbinds_its_user_id(w: Warehouse) -> None:
    append(
        w,
        [
            event("e1", {"unionid": "n1"}, user_id="u1"),
            event("e2", type="unbind", user_id="u1"),
        ],
    )
    rebuild(w, RULES)
    assert person_of(w, "unionid", "n1") != person_of(w, "login_id", "u1")


def test_a_junk_device_merges_nobody() -> None:
    w = Warehouse.in_memory()
    rules = IdentityRules(max_fanout=3)
    append(w, [event(f"e{i}", {"device_id": "shop"}, user_id=f"u{i}") for i in range(4)])
    stats = rebuild(w, rules)
    assert stats.junk == 1
    ids = persons(w)
    assert len(set(ids.values())) == 5
    junk = w.cursor().execute("SELECT identity_value FROM identities WHERE junk").fetchall()
    assert junk == [("shop",)]
    assert conflicts(w) == []  # refused as junk, not as conflicts


def test_a_device_at_the_fanout_is_not_junk() -> None:
    w = Warehouse.in_memory()
    rules = IdentityRules(max_fanout=3)
    append(w, [event(f"e{i}", {"device_id": "tablet"}, user_id=f"u{i}") for i in range(3)])
    stats = rebuild(w, rules)
    assert stats.junk == 0
    # The first login takes the tablet; the other two conflict on the login limit.
    assert person_of(w, "device_id", "tablet") == person_of(w, "login_id", "u0")
    assert [r[8] for r in conflicts(w)] == ["login_id", "login_id"]


def test_orders_link_the_member_id_to_the_buyer(w: Warehouse) -> None:
    append(w, [event("e1", {"unionid": "n1"}, user_id="u1")])
    write_orders(
        w,
        [
            Order("o1", member_id="m1", user_id="u1"),
            Order("o2", member_id="m2", identities={"unionid": "n2"}),
        ],
    )
    rebuild(w, RULES)
    ids = persons(w)
    assert ids[("member_id", "m1")] == ids[("login_id", "u1")] == ids[("unionid", "n1")]
    assert ids[("member_id", "m2")] == ids[("unionid", "n2")] != ids[("member_id", "m1")]
    refs = (
        w.cursor()
        .execute("SELECT DISTINCT ref FROM identity_links WHERE origin = 'order' ORDER BY ref")
        .fetchall()
    )
    assert refs == [("o1",), ("o2",)]


def test_an_order_with_someone_elses_member_id_conflicts(w: Warehouse) -> None:
    write_orders(w, [Order("o1", member_id="m1", user_id="u1")])
    write_orders(w, [Order("o2", member_id="m1", user_id="u2")])
    rebuild(w, RULES)
    assert person_of(w, "login_id", "u2") != person_of(w, "member_id", "m1")
    [row] = conflicts(w)
    assert (row[8], row[9], row[10]) == ("login_id", "order", "o2")


def test_incremental_orders_are_applied(w: Warehouse) -> None:
    append(w, [event("e1", user_id="u1", anonymous_id="a1")])
    apply_new(w, RULES)
    write_orders(w, [Order("o1", member_id="m1", user_id="u1")])
    assert apply_new(w, RULES) is not None
    assert person_of(w, "member_id", "m1") == person_of(w, "anonymous_id", "a1")
    assert apply_new(w, RULES) is None


def test_overrides_keep_old_person_ids_resolvable(w: Warehouse) -> None:
    append(w, [event("e1", anonymous_id="a0"), event("e2", anonymous_id="a1")])
    append(w, [event("e3", user_id="u1")])
    apply_new(w, RULES)
    assert person_of(w, "login_id", "u1") == pid("login_id", "u1")
    append(w, [event("e4", user_id="u1", anonymous_id="a1")])
    apply_new(w, RULES)
    # a1 is older than u1: its person survives, u1's old person id points to it.
    assert person_of(w, "login_id", "u1") == pid("anonymous_id", "a1")
    overrides = set(w.cursor().execute("SELECT * FROM person_overrides").fetchall())
    assert overrides == {(pid("login_id", "u1"), pid("anonymous_id", "a1"))}
    append(
        w,
        [
            event("e5", {"device_id": "d"}, anonymous_id="a0"),
            event("e6", {"device_id": "d"}, user_id="u1"),
        ],
    )
    apply_new(w, RULES)
    # Overrides point straight at the current person, never along a chain.
    overrides = set(w.cursor().execute("SELECT * FROM person_overrides").fetchall())
    assert overrides == {
        (pid("login_id", "u1"), pid("anonymous_id", "a0")),
        (pid("anonymous_id", "a1"), pid("anonymous_id", "a0")),
    }
    before = overrides
    rebuild(w, RULES)
    assert set(w.cursor().execute("SELECT * FROM person_overrides").fetchall()) == before


def test_a_person_never_seen_apart_gets_no_override(w: Warehouse) -> None:
    append(w, [event("e1", {"unionid": "n1"}, user_id="u1", anonymous_id="a1")])
    rebuild(w, RULES)
    assert w.cursor().execute("SELECT count(*) FROM person_overrides").fetchone() == (0,)


def test_changed_rules_need_a_rebuild(w: Warehouse) -> None:
    append(w, [event("e1", user_id="u1")])
    apply_new(w, RULES)
    append(w, [event("e2", user_id="u2")])
    with pytest.raises(InvalidIdentity, match="rebuild"):
        apply_new(w, IdentityRules(max_fanout=3))


@pytest.mark.parametrize(
    ("kind", "b"),
    [("unbind", ("login_id", "u2")), ("force", None), ("keep_apart", None), ("merge", None)],
)
def test_malformed_decisions_are_refused(
    w: Warehouse, kind: str, b: tuple[str, str] | None
) -> None:
    with pytest.raises(InvalidIdentity):
        add_decision(w, RULES, kind, ("login_id", "u1"), b, "ops")
