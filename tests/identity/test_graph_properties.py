"""Properties of identity merging over random histories (hypothesis).

* applying a history in batches gives what one rebuild of it gives;
* re-sending link events changes no person (merging is idempotent);
* unbinding an id and re-sending its links restores which ids are together;
* the same holds when shared ids turn junk (a fan-out limit of 2, reached often), and
  after a person is deleted.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, example, given, settings

from siyu.identity.graph import add_decision, apply_new, rebuild
from siyu.identity.persons import delete_person
from siyu.identity.rules import IdentityRules
from siyu.ingest.model import EventRecord
from siyu.storage import Warehouse
from tests.identity.population import Identity, append, event, partition, persons

pytestmark = pytest.mark.slow

RULES = IdentityRules()
#: Loose ids (anonymous, device) linked to three strong ids are junk: common in a history.
JUNKY = IdentityRules.with_overrides({}, max_fanout=2)
APPS = ("wxA", "wxB")
POOL: dict[str, tuple[str, ...]] = {
    "login_id": ("u0", "u1", "u2"),
    "unionid": ("n0", "n1"),
    "member_id": ("m0", "m1"),
    "mp_openid": ("o0", "o1"),
    "anonymous_id": ("a0", "a1", "a2"),
    "device_id": ("d0", "d1"),
}
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Sent:
    """One event to send: its ids by type, the mini-program app and whether it unbinds."""

    ids: tuple[tuple[str, str], ...]
    app_id: str | None = None
    unbind: bool = False

    def record(self, event_id: str) -> EventRecord:
        ids = dict(self.ids)
        if self.unbind:
            # An unbind names what it unbinds in its identities map.
            return event(event_id, ids, type="unbind", app_id=self.app_id)
        return event(
            event_id,
            {t: v for t, v in ids.items() if t not in ("login_id", "anonymous_id")},
            user_id=ids.get("login_id"),
            anonymous_id=ids.get("anonymous_id"),
            app_id=self.app_id,
        )

    def stored_ids(self) -> set[Identity]:
        return {(f"mp_openid:{self.app_id}" if t == "mp_openid" else t, v) for t, v in self.ids}


@dataclass(frozen=True)
class Decision:
    kind: str
    a: Identity
    b: Identity | None


@st.composite
def identity(draw: st.DrawFn, app_id: str | None = None) -> Identity:
    id_type = draw(st.sampled_from(sorted(POOL)))
    value = draw(st.sampled_from(POOL[id_type]))
    if id_type == "mp_openid":
        return f"mp_openid:{app_id or draw(st.sampled_from(APPS))}", value
    return id_type, value


@st.composite
def link_event(draw: st.DrawFn, pool: dict[str, tuple[str, ...]] = POOL) -> Sent:
    types = draw(st.lists(st.sampled_from(sorted(pool)), min_size=1, max_size=3, unique=True))
    ids = tuple((t, draw(st.sampled_from(pool[t]))) for t in types)
    return Sent(ids, app_id=draw(st.sampled_from(APPS)))


@st.composite
def shared_event(draw: st.DrawFn) -> Sent:
    """A shared device or browser seen with one or two of many members' strong ids."""
    loose = draw(st.sampled_from([("device_id", "d0")] * 3 + [("anonymous_id", "a0")]))
    strong = draw(
        st.lists(
            st.sampled_from(
                [("member_id", f"m{i}") for i in range(4)]
                + [("unionid", f"n{i}") for i in range(4)]
            ),
            min_size=1,
            max_size=2,
            unique_by=lambda x: x[0],
        )
    )
    return Sent((loose, *strong), app_id=draw(st.sampled_from(APPS)))


@st.composite
def unbind_event(draw: st.DrawFn) -> Sent:
    app_id = draw(st.sampled_from(APPS))
    id_type, value = draw(identity(app_id))
    return Sent(((id_type.split(":")[0], value),), app_id=app_id, unbind=True)


@st.composite
def decision(draw: st.DrawFn, kinds: Sequence[str]) -> Decision:
    kind = draw(st.sampled_from(kinds))
    a = draw(identity())
    b = None if kind == "unbind" else draw(identity().filter(lambda x: x != a))
    return Decision(kind, a, b)


def history(
    events: st.SearchStrategy[Sent], kinds: Sequence[str], min_steps: int = 1
) -> st.SearchStrategy[list[tuple[list[Sent], bool] | Decision]]:
    """Batches of events, each followed or not by an apply, with decisions between."""
    batch = st.tuples(st.lists(events, min_size=min_steps, max_size=4), st.booleans())
    steps = st.one_of(batch, decision(kinds)) if kinds else batch
    return st.lists(steps, min_size=min_steps, max_size=6)


def play(
    w: Warehouse,
    steps: Sequence[tuple[list[Sent], bool] | Decision],
    rules: IdentityRules = RULES,
) -> list[Sent]:
    """Send ``steps`` to ``w`` (apply_new at the cut points); returns the events sent."""
    sent: list[Sent] = []
    for step in steps:
        if isinstance(step, Decision):
            add_decision(w, rules, step.kind, step.a, step.b, "ops")
            continue
        batch, cut = step
        append(w, [e.record(f"e{len(sent) + i}") for i, e in enumerate(batch)])
        sent.extend(batch)
        if cut:
            apply_new(w, rules)
    apply_new(w, rules)
    return sent


def resend(w: Warehouse, events: Sequence[Sent], tag: str) -> None:
    append(w, [e.record(f"{tag}{i}") for i, e in enumerate(events)])
    apply_new(w, RULES)


def state(w: Warehouse) -> dict[str, set[tuple[object, ...]]]:
    cur = w.cursor()
    # Each event's person through the actor it names (what analytics read) is the person
    # of its node row's identity (the definition).
    by_actor = set(
        cur.execute(
            "SELECT e.seq, i.person_id FROM events e JOIN identities i ON e.actor = i.node_order"
        ).fetchall()
    )
    by_links = set(
        cur.execute(
            "SELECT l.seq, i.person_id FROM identity_links l JOIN identities i"
            " ON l.a_type = i.identity_type AND l.a_value = i.identity_value"
            " WHERE l.kind = 'node' AND l.origin = 'event'"
        ).fetchall()
    )
    assert by_actor == by_links
    return {
        "identities": set(
            cur.execute(
                "SELECT identity_type, identity_value, person_id, region_id, junk, node_order"
                " FROM identities"
            ).fetchall()
        ),
        "event_persons": by_actor,
        # The whole log, whether its rows were stored as rows or packed (idle when
        # resolved): a rebuild re-derives every row from the events.
        "log": set(cur.execute("SELECT * FROM identity_links").fetchall()),
        "overrides": set(cur.execute("SELECT * FROM person_overrides").fetchall()),
        "conflicts": set(
            cur.execute(
                "SELECT seq, sub, a_type, a_value, b_type, b_value, a_person_id, b_person_id,"
                " rule, origin, ref FROM identity_conflicts"
            ).fetchall()
        ),
    }


def differences(
    incremental: dict[str, set[tuple[object, ...]]], rebuilt: dict[str, set[tuple[object, ...]]]
) -> dict[str, dict[str, list[tuple[object, ...]]]]:
    """Per part of `state` that differs, the rows only one side has (a readable failure)."""
    return {
        part: {
            "incremental only": sorted(map(str, incremental[part] - rebuilt[part])),
            "rebuild only": sorted(map(str, rebuilt[part] - incremental[part])),
        }
        for part in incremental
        if incremental[part] != rebuilt[part]
    }


@PROPERTY
@given(
    steps=history(
        st.one_of(link_event(), link_event(), unbind_event()), ["unbind", "force", "keep_apart"]
    )
)
def test_batches_give_what_a_rebuild_gives(steps: list[tuple[list[Sent], bool] | Decision]) -> None:
    w = Warehouse.in_memory()
    play(w, steps)
    incremental = state(w)
    rebuild(w, RULES)
    assert state(w) == incremental


#: A shared device merged into m0's person, then refused by m1 (a conflict), then past
#: the fan-out limit (three members) in a later apply, then seen with a new member.
CROSSING: list[tuple[list[Sent], bool] | Decision] = [
    ([Sent((("device_id", "d0"), ("member_id", "m0")), "wxA")], True),
    ([Sent((("device_id", "d0"), ("member_id", "m1")), "wxA")], True),
    ([Sent((("device_id", "d0"), ("member_id", "m2"), ("unionid", "n2")), "wxA")], True),
    Decision("keep_apart", ("member_id", "m1"), ("unionid", "n2")),
    ([Sent((("device_id", "d0"), ("member_id", "m3")), "wxB")], True),
]


@PROPERTY
@given(
    steps=history(
        st.one_of(link_event(), shared_event(), shared_event(), unbind_event()),
        ["unbind", "force", "keep_apart"],
        min_steps=3,
    )
)
@example(steps=CROSSING)
def test_with_junk_batches_give_what_a_rebuild_gives(
    steps: list[tuple[list[Sent], bool] | Decision],
) -> None:
    """Shared ids crossing the fan-out limit mid-history: their links stop counting, and
    regions no longer hold them together (`siyu.identity.graph`), as in a rebuild."""
    w = Warehouse.in_memory()
    play(w, steps, JUNKY)
    incremental = state(w)
    rebuild(w, JUNKY)
    assert differences(incremental, state(w)) == {}


@PROPERTY
@given(
    steps=history(
        st.one_of(link_event(), shared_event(), shared_event(), unbind_event()),
        ["force", "keep_apart"],
        min_steps=3,
    ),
    pick=st.integers(0, 1000),
)
@example(steps=CROSSING, pick=0)  # deletes m0: d0 is linked to two members again
def test_after_a_deletion_the_graph_is_what_a_rebuild_gives(
    steps: list[tuple[list[Sent], bool] | Decision], pick: int
) -> None:
    """Deleting a person may bring a junk id back under the fan-out limit."""
    w = Warehouse.in_memory()
    sent = play(w, steps, JUNKY)
    held = sorted(set(itertools.chain.from_iterable(e.stored_ids() for e in sent if not e.unbind)))
    if not held:
        return
    t, v = held[pick % len(held)]
    delete_person(w, JUNKY, f"{t}:{v}", "test")
    after = state(w)
    rebuild(w, JUNKY)
    assert differences(after, state(w)) == {}


@PROPERTY
@given(steps=history(link_event(), ["force", "keep_apart"]))
def test_resending_links_changes_no_person(
    steps: list[tuple[list[Sent], bool] | Decision],
) -> None:
    w = Warehouse.in_memory()
    sent = play(w, steps)
    before = persons(w)
    resend(w, sent, "again")
    assert persons(w) == before


# Three true persons, each with one id of every limited type and loose ids of their own:
# their links never break a limit, so the partition is the components of the live links.
PERSONS = 3


@st.composite
def own_event(draw: st.DrawFn) -> Sent:
    p = draw(st.integers(0, PERSONS - 1))
    pool = {
        "login_id": (f"u{p}",),
        "unionid": (f"n{p}",),
        "mp_openid": (f"o{p}",),
        "anonymous_id": (f"a{p}x", f"a{p}y"),
        "device_id": (f"d{p}",),
    }
    sent: Sent = draw(link_event(pool))
    return Sent(sent.ids, app_id="wxA")


@PROPERTY
@given(
    events=st.lists(own_event(), min_size=1, max_size=12),
    pick=st.integers(0, 1000),
    by_operator=st.booleans(),
)
def test_unbind_then_rebind_restores_the_partition(
    events: list[Sent], pick: int, by_operator: bool
) -> None:
    w = Warehouse.in_memory()
    resend(w, events, "e")
    together = partition(w)
    ids = sorted(set(itertools.chain.from_iterable(e.stored_ids() for e in events)))
    x = ids[pick % len(ids)]
    if by_operator:
        add_decision(w, RULES, "unbind", x, None, "ops")
    else:
        resend(w, [Sent(((x[0].split(":")[0], x[1]),), app_id="wxA", unbind=True)], "u")
    alone = partition(w)
    assert frozenset({x}) in alone
    resend(w, [e for e in events if x in e.stored_ids()], "r")
    assert partition(w) == together
