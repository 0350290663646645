"""Incremental scopes give what a rebuild gives: regressions found by the property tests.

Regions are built from every two-ended row (keep_apart included) but those with a junk
end, so a scope holds both ends of every row that can merge; a link breaking two limits
reports the strongest rule whatever the scope's type order.
"""

from __future__ import annotations

import pytest

from siyu.identity.graph import add_decision, apply_new, rebuild
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.identity.population import append, event, persons

RULES = IdentityRules()


def incremental_and_rebuilt(w: Warehouse, query: str) -> tuple[object, object]:
    before = sorted(w.cursor().execute(query).fetchall())
    rebuild(w, RULES)
    return before, sorted(w.cursor().execute(query).fetchall())


def test_keep_apart_b_end_keeps_its_person_when_only_a_is_touched() -> None:
    w = Warehouse.in_memory()
    append(w, [event("e0", user_id="u1"), event("e1", {"device_id": "d2"}, user_id="u2")])
    apply_new(w, RULES)
    add_decision(w, RULES, "keep_apart", ("login_id", "u1"), ("device_id", "d2"), "ops")
    append(w, [event("e2", user_id="other")])
    apply_new(w, RULES)  # the watermark passes the decision
    append(w, [event("e3", user_id="u1", anonymous_id="a9")])  # touches u1's region only
    apply_new(w, RULES)
    # d2 still belongs with u2; incrementally it is re-written as p<md5(device_id d2)>.
    assert persons(w)[("device_id", "d2")] == persons(w)[("login_id", "u2")]


def test_person_ids_do_not_change_when_links_are_resent_after_a_keep_apart() -> None:
    w = Warehouse.in_memory()
    # m1 first appears as the b end of the keep-apart, so it is older than a0.
    add_decision(w, RULES, "keep_apart", ("anonymous_id", "a2"), ("member_id", "m1"), "ops")
    add_decision(w, RULES, "force", ("anonymous_id", "a0"), ("member_id", "m1"), "ops")
    append(w, [event("e0", {"member_id": "m1", "device_id": "d0"})])
    apply_new(w, RULES)
    before = persons(w)
    append(w, [event("e1", {"member_id": "m1", "device_id": "d0"})])  # the same link again
    apply_new(w, RULES)
    assert persons(w) == before


def test_the_conflict_rule_does_not_depend_on_the_scope() -> None:
    w = Warehouse.in_memory()
    append(w, [event("e0", {"unionid": "n0"})])  # a unionid seen first, elsewhere
    apply_new(w, RULES)
    append(
        w,
        [
            event("e1", {"unionid": "n1"}, user_id="u1"),
            event("e2", {"unionid": "n2"}, user_id="u2"),
            event("e3", {"device_id": "d"}, user_id="u1"),
            event("e4", {"device_id": "d"}, user_id="u2"),  # breaks login_id and unionid
        ],
    )
    apply_new(w, RULES)
    incremental, rebuilt = incremental_and_rebuilt(w, "SELECT ref, rule FROM identity_conflicts")
    assert incremental == rebuilt  # [('e4', 'login_id')] vs [('e4', 'unionid')]


def test_an_id_turning_junk_between_batches_gives_what_a_rebuild_gives() -> None:
    """The fast path notices a shared device crossing the fan-out and replays its region."""
    rules = IdentityRules(max_fanout=3)
    w = Warehouse.in_memory()
    for i in range(6):
        append(
            w,
            [
                event(f"e{i}", {"device_id": "shop-tablet"}, user_id=f"u{i}"),
                event(f"f{i}", {"device_id": f"own-{i}"}, user_id=f"u{i}"),
            ],
        )
        apply_new(w, rules)
    query = "SELECT identity_type, identity_value, person_id, region_id, junk FROM identities"
    before = sorted(w.cursor().execute(query).fetchall())
    conflicts = sorted(
        w.cursor().execute("SELECT seq, sub, rule FROM identity_conflicts").fetchall()
    )
    rebuild(w, rules)
    assert sorted(w.cursor().execute(query).fetchall()) == before
    assert (
        sorted(w.cursor().execute("SELECT seq, sub, rule FROM identity_conflicts").fetchall())
        == conflicts
    )
    assert [(r[0], r[1]) for r in before if r[4]] == [("device_id", "shop-tablet")]


def test_a_device_turning_junk_replays_only_its_regions_then_the_rest_goes_on() -> None:
    """A stored device crossing the fan-out undoes what it merged: its region (and what
    this batch joins to it) is replayed, the batch's other rows continue from the stored
    persons, and the result is a rebuild's, log and actors included."""
    from tests.identity.test_graph_properties import differences, state

    rules = IdentityRules(max_fanout=3)
    w = Warehouse.in_memory()
    append(
        w,
        [
            event("s1", {"device_id": "shop", "unionid": "n1"}, user_id="u1"),  # shop joins u1
            event("s2", {"device_id": "shop"}, user_id="u2"),  # a conflict: two login ids
            event("o1", {"device_id": "d10"}, user_id="u10"),
            event("o2", {"unionid": "n11"}, user_id="u11"),
        ],
    )
    apply_new(w, rules)
    append(
        w,
        [
            event("s3", {"device_id": "shop"}, user_id="u3"),
            event("s4", {"device_id": "shop"}, user_id="u4"),  # four members: junk now
            event("p1", {"device_id": "d1b"}, user_id="u1"),  # inside the shop's region
            event("p3", {"unionid": "n1b"}, user_id="u1"),  # a conflict there
            event("p2", {"device_id": "pad"}, anonymous_id="shop"),  # device to device
            event("q1", {"device_id": "d10b"}, user_id="u10"),  # elsewhere
            event("q2", {"device_id": "d11"}, user_id="u11"),
            event("q3", {"device_id": "d20"}, user_id="u20"),  # someone new
            event("q4", {"unionid": "n11"}, user_id="u11"),  # returning, idle
        ],
    )
    stats = apply_new(w, rules)
    assert stats is not None and stats.replayed
    shop = (
        w.cursor()
        .execute("SELECT junk, person_id FROM identities WHERE identity_value = 'shop'")
        .fetchone()
    )
    assert shop is not None and shop[0]
    u1 = (
        w.cursor()
        .execute("SELECT person_id FROM identities WHERE identity_value = 'u1'")
        .fetchone()
    )
    assert u1 is not None and u1[0] != shop[1]  # the shop no longer in u1's person
    incremental = state(w)
    conflicts = "SELECT seq, sub, rule FROM identity_conflicts ORDER BY ALL"
    once = w.cursor().execute(conflicts).fetchall()
    assert [rule for _, _, rule in once] == ["unionid"]  # recorded once, not per pass
    rebuild(w, rules)
    assert differences(incremental, state(w)) == {}
    assert w.cursor().execute(conflicts).fetchall() == once


@pytest.mark.parametrize("members", [3, 4])
def test_a_new_id_is_counted_whole_within_its_first_batch(members: int) -> None:
    """A device first seen in this batch is counted from the batch's own rows (no log
    scan): at the fan-out it stays an id, one past it turns junk, as in a rebuild. Either
    way the batch continues from the stored persons (u0's among them): a new id merged
    nothing before, so nothing needs replaying by region."""
    rules = IdentityRules(max_fanout=3)
    w = Warehouse.in_memory()
    append(w, [event("old", {"device_id": "home"}, user_id="u0")])
    apply_new(w, rules)
    append(
        w,
        [event(f"e{i}", {"device_id": "new-tablet"}, user_id=f"u{i}") for i in range(members)]
        + [event("again", {"device_id": "new-tablet"}, user_id="u1")],
    )
    stats = apply_new(w, rules)
    assert stats is not None and not stats.replayed
    assert stats.junk == (1 if members > 3 else 0)
    query = "SELECT identity_type, identity_value, person_id, region_id, junk FROM identities"
    before = sorted(w.cursor().execute(query).fetchall())
    rebuild(w, rules)
    assert sorted(w.cursor().execute(query).fetchall()) == before
    junk = [r[1] for r in before if r[4]]
    assert junk == (["new-tablet"] if members > 3 else [])


def test_a_junk_device_does_not_glue_its_members_into_one_region() -> None:
    """Past the fan-out limit a shared device's rows merge nothing, so its members keep a
    region each: a later replay of one (an unbind here) reads only that member's rows."""
    rules = IdentityRules(max_fanout=3)
    w = Warehouse.in_memory()
    for i in range(6):
        append(w, [event(f"e{i}", {"device_id": "shop-tablet"}, user_id=f"u{i}")])
        apply_new(w, rules)
    cur = w.cursor()
    regions = dict(cur.execute("SELECT identity_value, region_id FROM identities").fetchall())
    assert len(set(regions.values())) == 7  # six members and the tablet, each alone
    add_decision(w, rules, "unbind", ("login_id", "u3"), None, "ops")
    scoped = cur.execute(
        "SELECT DISTINCT identity_value FROM identities WHERE region_id = ?", [regions["u3"]]
    ).fetchall()
    assert scoped == [("u3",)]
    query = "SELECT identity_type, identity_value, person_id, region_id, junk FROM identities"
    before = sorted(cur.execute(query).fetchall())
    rebuild(w, rules)
    assert sorted(cur.execute(query).fetchall()) == before
