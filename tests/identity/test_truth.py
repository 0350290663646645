"""The resolved persons of a generated population against its known truth.

Pairwise precision and recall over identities with one true owner (shared tablets and
junk ids belong to several persons and are checked on their own). Run with ``-s`` to
see the figures.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping

import pytest

from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.identity.population import (
    Identity,
    Population,
    generate,
    persons,
    stored,
    write_population,
)


@pytest.fixture(scope="module")
def resolved() -> tuple[Population, Warehouse]:
    pop = generate()
    w = Warehouse.in_memory()
    write_population(w, pop)
    rebuild(w, IdentityRules())
    return pop, w


def pairs(groups: Mapping[Identity, object]) -> set[frozenset[Identity]]:
    by_group: dict[object, list[Identity]] = {}
    for identity, group in groups.items():
        by_group.setdefault(group, []).append(identity)
    return {
        frozenset(pair)
        for members in by_group.values()
        for pair in itertools.combinations(sorted(members), 2)
    }


def test_precision_and_recall(resolved: tuple[Population, Warehouse]) -> None:
    pop, w = resolved
    found = persons(w)
    truth = {stored(w, t, v): p for (t, v), p in pop.truth.items()}
    assert set(truth) <= set(found), "every true identity is in the map"
    predicted = pairs({i: found[i] for i in truth})
    actual = pairs(truth)
    hits = len(predicted & actual)
    precision = hits / len(predicted)
    recall = hits / len(actual)
    print(
        f"\nidentity truth: {len(set(truth.values()))} persons, {len(truth)} identities,"
        f" {len(actual)} true pairs; precision {precision:.4f}, recall {recall:.4f}"
    )
    assert precision >= 0.99
    assert recall >= 0.95


def test_no_identity_is_held_by_two_persons(resolved: tuple[Population, Warehouse]) -> None:
    _, w = resolved
    rows = w.cursor().execute("SELECT identity_type, identity_value FROM identities").fetchall()
    assert Counter(rows).most_common(1)[0][1] == 1


def test_a_reused_phone_does_not_merge_its_two_owners(
    resolved: tuple[Population, Warehouse],
) -> None:
    pop, w = resolved
    assert pop.reused_phone is not None
    first, second, phone = pop.reused_phone
    found = persons(w)
    first_login, second_login = ("login_id", f"u{first:05d}"), ("login_id", f"u{second:05d}")
    assert found[first_login] != found[second_login]
    assert found[stored(w, "phone", phone)] == found[first_login]
    rules = (
        w.cursor()
        .execute(
            "SELECT rule FROM identity_conflicts WHERE a_type = 'login_id' AND a_value = ?"
            " AND b_type = 'phone'",
            [second_login[1]],
        )
        .fetchall()
    )
    assert rules == [("login_id",)]


def test_a_mistyped_member_id_conflicts_instead_of_merging(
    resolved: tuple[Population, Warehouse],
) -> None:
    pop, w = resolved
    assert pop.member_typo is not None
    buyer, owner, member, order_id = pop.member_typo
    found = persons(w)
    assert found[("login_id", f"u{buyer:05d}")] != found[("login_id", f"u{owner:05d}")]
    assert found[("member_id", member)] == found[("login_id", f"u{owner:05d}")]
    evidence = (
        w.cursor()
        .execute("SELECT origin, a_type, a_value FROM identity_conflicts WHERE ref = ?", [order_id])
        .fetchall()
    )
    assert evidence == [("order", "member_id", member)]


def test_family_tablets_merge_no_family(resolved: tuple[Population, Warehouse]) -> None:
    pop, w = resolved
    found = persons(w)
    assert pop.shared
    for tablet, family in pop.shared.items():
        logins = {found[("login_id", f"u{p:05d}")] for p in family}
        assert len(logins) == len(family), f"{tablet} merged {family}"
        assert found[tablet] in logins  # the tablet goes with one of its users


def test_junk_ids_are_marked_and_merge_nobody(resolved: tuple[Population, Warehouse]) -> None:
    pop, w = resolved
    cur = w.cursor()
    junk = set(
        cur.execute("SELECT identity_type, identity_value FROM identities WHERE junk").fetchall()
    )
    assert junk == pop.junk
    found = persons(w)
    for identity in pop.junk:
        assert sum(1 for p in found.values() if p == found[identity]) == 1
