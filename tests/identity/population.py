"""Identity-graph test data: event and order writers, and a population with known truth.

`generate` builds persons who show up under several ids across carriers (web anonymous
id -> login, mini-program openid + unionid, official-account openid + unionid, a phone
bound in the mini-program, a member id from orders), plus the traps a real graph meets:
shared family tablets, junk ids, a phone number reused by a second person and a member id
mistyped on an order. `Population.truth` says which person every identity belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from siyu.identity.pii import normalise_value
from siyu.identity.rules import PII_TYPES
from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.storage import Warehouse

T0 = 1_763_740_800_000_000  # 2025-11-21T16:00:00Z, microseconds
MINUTE = 60_000_000

Identity = tuple[str, str]


def event(
    event_id: str,
    ids: Mapping[str, str] | None = None,
    *,
    type: str = "identify",
    user_id: str | None = None,
    anonymous_id: str | None = None,
    previous_id: str | None = None,
    app_id: str | None = None,
    carrier: str = "web",
    at: int = T0,
) -> EventRecord:
    """One event carrying ``ids`` in its identities map."""
    return EventRecord(
        event_id=event_id,
        type=type,
        event="" if type != "track" else "view",
        event_time=at,
        received_at=at,
        source_id="test",
        protocol="segment",
        carrier=carrier,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        identities=dict(ids or {}),
        app_id=app_id,
    )


def append(warehouse: Warehouse, records: Iterable[EventRecord]) -> None:
    """Append ``records`` in one batch (the warehouse numbers them in order)."""
    batch = list(records)
    if batch:
        warehouse.append_events(records_to_arrow(batch))


@dataclass(frozen=True)
class Order:
    order_id: str
    member_id: str | None = None
    user_id: str | None = None
    identities: Mapping[str, str] = field(default_factory=dict)
    at: int = T0


def write_orders(warehouse: Warehouse, orders: Iterable[Order]) -> None:
    """Insert ``orders`` and number them (they replay after everything already stored)."""
    rows = list(orders)
    if not rows:
        return
    ts = pa.timestamp("us")
    table = pa.table(
        {
            "order_id": [o.order_id for o in rows],
            "member_id": pa.array([o.member_id for o in rows], pa.string()),
            "user_id": pa.array([o.user_id for o in rows], pa.string()),
            "identities": pa.array(
                [list(o.identities.items()) for o in rows], pa.map_(pa.string(), pa.string())
            ),
            "paid_at": pa.array([o.at for o in rows], ts),
            "amount_fen": [100] * len(rows),
            "refund_fen": [0] * len(rows),
            "status": ["paid"] * len(rows),
            "items": ["[]"] * len(rows),
            "properties": ["{}"] * len(rows),
            "source_id": ["test"] * len(rows),
            "loaded_at": pa.array([o.at for o in rows], ts),
        }
    )
    with warehouse.transaction() as cur:
        cur.register("_test_orders", table)
        cur.execute("INSERT INTO orders BY NAME SELECT * FROM _test_orders")
        cur.unregister("_test_orders")
        warehouse.number_new_orders(cur)


def stored(warehouse: Warehouse, id_type: str, value: str) -> Identity:
    """How ``(id_type, value)`` is stored: phone and email normalised and sealed."""
    if id_type in PII_TYPES:
        return id_type, warehouse.sealer.seal(normalise_value(id_type, value))
    return id_type, value


def persons(warehouse: Warehouse) -> dict[Identity, str]:
    """``(type, stored value) -> person_id`` of every identity."""
    rows = warehouse.cursor().execute(
        "SELECT identity_type, identity_value, person_id FROM identities"
    )
    return {(t, v): p for t, v, p in rows.fetchall()}


def partition(warehouse: Warehouse) -> set[frozenset[Identity]]:
    """Which identities share a person, whatever the person ids are."""
    groups: dict[str, set[Identity]] = {}
    for identity, person in persons(warehouse).items():
        groups.setdefault(person, set()).add(identity)
    return {frozenset(g) for g in groups.values()}


# -- a population with known truth ------------------------------------------------------

MP_APP = "wxmp00000000000001"
OA_APP = "wxoa00000000000002"


@dataclass
class Population:
    """Events and orders of a simulated customer base, with who is who."""

    events: list[EventRecord] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    #: Raw identity (type as stored, raw value) -> true person number.
    truth: dict[Identity, int] = field(default_factory=dict)
    #: Junk ids (a shop's demo device): they belong to nobody.
    junk: set[Identity] = field(default_factory=set)
    #: Family tablets and the persons who log in on each: they belong to several.
    shared: dict[Identity, list[int]] = field(default_factory=dict)
    #: (first owner, second owner, raw phone) of a number that changed hands.
    reused_phone: tuple[int, int, str] | None = None
    #: (buyer, owner of the collided member id, typo'd member id, order id).
    member_typo: tuple[int, int, str, str] | None = None
    _n: int = 0

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:06d}"

    def own(self, person: int, id_type: str, value: str) -> Identity:
        self.truth[(id_type, value)] = person
        return id_type, value


def generate(n_persons: int = 400, seed: int = 20251122) -> Population:
    """A seeded population; see the module docstring for what it contains."""
    rng = np.random.default_rng(seed)
    pop = Population()
    at = T0
    logins: dict[int, str] = {}
    members: dict[int, str] = {}
    phones: dict[int, str] = {}

    def tick() -> int:
        nonlocal at
        at += int(rng.integers(1, 30)) * MINUTE
        return at

    def ev(ids: Mapping[str, str], **kw: object) -> None:
        pop.events.append(event(pop._id("e"), ids, at=tick(), **kw))  # type: ignore[arg-type]

    for p in range(n_persons):
        login = pop.own(p, "login_id", f"u{p:05d}")[1]
        logins[p] = login
        unionid = f"un{p:05d}"
        phone = f"13{p:09d}"
        # Web: browse anonymously, then log in (the anonymous id links to the login).
        for _ in range(int(rng.integers(1, 3))):
            anon = pop.own(p, "anonymous_id", pop._id("a"))[1]
            ev({}, type="track", anonymous_id=anon)
            ev({}, type="identify", user_id=login, anonymous_id=anon)
        # Mini program: openid + unionid on launch, the phone bound, a login.
        if rng.random() < 0.8:
            mp = pop.own(p, f"mp_openid:{MP_APP}", pop._id("om"))[1]
            pop.own(p, "unionid", unionid)
            pop.own(p, "phone", phone)
            phones[p] = phone
            ev({"mp_openid": mp, "unionid": unionid}, app_id=MP_APP, carrier="mp")
            ev({"mp_openid": mp, "phone": phone}, type="bind", app_id=MP_APP, carrier="mp")
            # Logging in the mini program: with the openid, or on a later visit with the phone.
            key = {"mp_openid": mp} if rng.random() < 0.5 else {"phone": phone}
            ev(key, type="identify", user_id=login, app_id=MP_APP, carrier="mp")
        # Official account: its openid + the unionid when the person follows.
        if rng.random() < 0.6:
            oa = pop.own(p, f"oa_openid:{OA_APP}", pop._id("oo"))[1]
            pop.own(p, "unionid", unionid)
            ev({"oa_openid": oa}, type="track", app_id=OA_APP, carrier="oa")
            # Following gives the unionid; without the mini program, the account's web
            # login (网页授权) is what ties the follower to the login.
            web_login = None if p in phones else login
            ev(
                {"oa_openid": oa, "unionid": unionid},
                user_id=web_login,
                app_id=OA_APP,
                carrier="oa",
            )
        # App: a device id and a login.
        if rng.random() < 0.4:
            device = pop.own(p, "device_id", pop._id("d"))[1]
            ev({"device_id": device}, type="track", carrier="app")
            ev({"device_id": device}, user_id=login, carrier="app")
        # Member id: from the member system on orders (member + login + phone).
        if rng.random() < 0.7:
            member = pop.own(p, "member_id", f"M{p:07d}")[1]
            members[p] = member
            pop.orders.append(Order(pop._id("o"), member_id=member, user_id=login, at=tick()))

    # Family tablets: 2-3 persons log in on one device; nobody's device alone.
    people = rng.permutation(n_persons)
    cursor = 0
    for _ in range(n_persons // 40):
        size = int(rng.integers(2, 4))
        family = people[cursor : cursor + size]
        cursor += size
        tablet = pop._id("tab")
        for p in family:
            ev({"device_id": tablet}, user_id=logins[int(p)], carrier="app")
        pop.shared[("device_id", tablet)] = [int(p) for p in family]

    # Junk: a shop's demo device every visitor logs in on (more than the fan-out).
    for k in range(2):
        shop = ("device_id", f"shop-demo-{k}")
        pop.junk.add(shop)
        for p in rng.choice(n_persons, size=60, replace=False):
            ev({"device_id": shop[1]}, user_id=logins[int(p)], carrier="app")

    # A phone number that changed hands: a new person registers with the old number.
    first = min(phones)
    second = n_persons  # a person who only appears now
    phone = phones[first]
    new_login = pop.own(second, "login_id", f"u{second:05d}")[1]
    logins[second] = new_login
    ev({"phone": phone}, type="signup", user_id=new_login)
    pop.reused_phone = (first, second, phone)

    # A mistyped member id on an order: it is another person's member id.
    with_member = sorted(members)
    buyer, owner = int(with_member[0]), int(with_member[1])
    order_id = pop._id("o")
    pop.orders.append(Order(order_id, member_id=members[owner], user_id=logins[buyer], at=tick()))
    pop.member_typo = (buyer, owner, members[owner], order_id)
    return pop


def write_population(warehouse: Warehouse, pop: Population) -> None:
    """Events first, in batches, then the orders (numbered after the events)."""
    for start in range(0, len(pop.events), 500):
        append(warehouse, pop.events[start : start + 500])
    write_orders(warehouse, pop.orders)
