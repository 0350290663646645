"""Referral trees on hand-made chains: generations and K-factors, the earliest edge
winning, cycles refused, poster scenes and share chains resolved through member and
anonymous ids, existing users, depth caps, campaign and date scopes, one inviter's tree,
paying invitees, cost per invitee; and requests that must fail."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from siyu.analytics import costs
from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.referral_tree import break_cycles
from siyu.analytics.scope import Context, context_from
from siyu.analytics.service import analyse_with
from siyu.config import Settings
from siyu.demo.generate import generate
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from tests.analytics.conftest import DEMO_DAYS, DEMO_START
from tests.segments.models.warehouse import utc

TODAY = date(2024, 3, 31)
TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Rec:
    """One event of the person holding ``ids`` (identity type -> value)."""

    ids: dict[str, str]
    when: str
    event: str = "$MPLaunch"
    props: dict[str, Any] = field(default_factory=dict)
    anon: str | None = None


@dataclass(frozen=True)
class Paid:
    """One paid order of the member ``member`` (net of ``refund``)."""

    member: str
    when: str
    amount: int
    refund: int = 0


def member(name: str, **more: str) -> dict[str, str]:
    return {"member_id": f"M{name}", "mp_openid": f"o{name}", **more}


def invite(name: str, when: str, inviter: str, **props: Any) -> Rec:
    return Rec(member(name), when, "invite_accepted", {"inviter": inviter, **props})


#: S seeds A1, A2 (invite events) and A3 (OA follow through S's poster: resolved via
#: S's member id); A1 brings B1 (invite) and B2 (poster); B1's shared card brings C1
#: (share chain through B1's anonymous id). X is invited by A2 first and by A3's
#: poster later (earliest wins). P and Q invite each other (a cycle). A2 names itself,
#: Y names nobody known, E was a user long before scanning S's poster, and Z holds
#: "MS" as an anonymous id (a member id wins when an id names several persons).
EVENTS = [
    Rec(member("S"), "2024-03-01 09:00"),
    Rec({"anonymous_id": "MS"}, "2024-03-01 12:00", anon="MS"),
    Rec({"oa_openid": "oaE"}, "2024-03-01 08:00", "subscribe"),
    invite("A1", "2024-03-02 09:00", "MS", campaign="spring"),
    invite("A2", "2024-03-02 10:00", "MS"),
    Rec({"oa_openid": "oaA3"}, "2024-03-03 09:00", "subscribe", {"scene": "poster:MS"}),
    Rec({"oa_openid": "oaA3", "member_id": "MA3"}, "2024-03-03 09:10", "$BindID"),
    invite("B1", "2024-03-04 09:00", "MA1"),
    Rec(member("B1"), "2024-03-04 09:01", anon="anonB1"),
    Rec({"oa_openid": "oaB2"}, "2024-03-04 12:00", "subscribe", {"scene": "poster:MA1"}),
    invite("X", "2024-03-05 09:00", "MA2"),
    Rec(member("X"), "2024-03-05 10:00", "SCAN", {"scene": "poster:MA3"}),
    Rec(
        member("C1"), "2024-03-06 09:00", props={"$share_distinct_id": "anonB1", "$share_depth": 3}
    ),
    invite("A2", "2024-03-07 09:00", "MA2"),
    invite("Y", "2024-03-08 09:00", "M404"),
    invite("Q", "2024-03-09 09:00", "MP"),
    invite("P", "2024-03-09 10:00", "MQ"),
    Rec({"oa_openid": "oaE"}, "2024-03-10 09:00", "SCAN", {"scene": "poster:MS"}),
]
ORDERS = [
    Paid("MS", "2024-03-01 12:00", 1000),
    Paid("MA2", "2024-03-02 09:30", 2000),  # before A2 arrived through the invite
    Paid("MA1", "2024-03-05 12:00", 6000, refund=1000),
]


def micros(local: str) -> int:
    """A Shanghai wall-clock time as UTC microseconds."""
    return round((utc(local) - datetime(1970, 1, 1)).total_seconds() * 1_000_000)


def build(events: Sequence[Rec], orders: Sequence[Paid] = ()) -> Warehouse:
    """A warehouse with the events and orders, identities resolved."""
    wh = Warehouse.in_memory()
    records = [
        EventRecord(
            event_id=f"r{n}",
            type="track",
            event=e.event,
            event_time=micros(e.when),
            received_at=micros(e.when),
            source_id="src",
            protocol="sensors",
            carrier="oa" if "oa_openid" in e.ids else "mp",
            anonymous_id=e.anon,
            identities={k: v for k, v in e.ids.items() if k != "anonymous_id"},
            properties=json.dumps(e.props, ensure_ascii=False),
        )
        for n, e in enumerate(events)
    ]
    wh.append_events(records_to_arrow(records))
    if orders:
        table = pa.table(
            {
                "order_id": [f"o{n}" for n in range(len(orders))],
                "member_id": [o.member for o in orders],
                "identities": pa.array(
                    [[("member_id", o.member)] for o in orders],
                    pa.map_(pa.string(), pa.string()),
                ),
                "paid_at": pa.array([utc(o.when) for o in orders], pa.timestamp("us")),
                "amount_fen": pa.array([o.amount for o in orders], pa.int64()),
                "refund_fen": pa.array([o.refund for o in orders], pa.int64()),
                "status": ["paid"] * len(orders),
                "items": ["[]"] * len(orders),
                "properties": ["{}"] * len(orders),
                "source_id": ["orders"] * len(orders),
                "loaded_at": pa.array([utc("2024-03-31 00:00")] * len(orders), pa.timestamp("us")),
            }
        )
        with wh.transaction() as cur:
            cur.register("_orders", table)
            cur.execute("INSERT INTO orders BY NAME SELECT * FROM _orders")
            cur.unregister("_orders")
            wh.number_new_orders(cur)
    rebuild(wh, IdentityRules())
    return wh


@pytest.fixture(scope="module")
def chains() -> Iterator[Warehouse]:
    wh = build(EVENTS, ORDERS)
    yield wh
    wh.close()


def referral(wh: Warehouse, **body: Any) -> dict[str, Any]:
    ctx = context_from(wh.ibis(), today=TODAY, tz=TZ)
    answer: dict[str, Any] = analyse_with(ctx, "referral", body)
    return answer


def person_of(wh: Warehouse) -> dict[str, str]:
    """Person id -> the name used in the cases (S, A1 ...)."""
    sql = "SELECT identity_type, identity_value, person_id FROM identities ORDER BY 1 DESC"
    names: dict[str, str] = {}
    for kind, value, person in wh.cursor().execute(sql).fetchall():
        if kind in ("member_id", "oa_openid"):
            names.setdefault(person, value.removeprefix("M").removeprefix("oa"))
    return names


def test_generations_k_factors_and_refusals(chains: Warehouse) -> None:
    answer = referral(chains)
    gens = [
        (g["generation"], g["persons"], g["invitees"], g["k_factor"]) for g in answer["generations"]
    ]
    assert gens == [(0, 2, 4, 2.0), (1, 4, 3, 0.75), (2, 3, 1, 0.3333), (3, 1, 0, 0.0)]
    s = answer["summary"]
    assert (s["persons"], s["seeds"], s["invitees"], s["depth"]) == (10, 2, 8, 3)
    assert s["k_factor"] == 0.8 and s["amplification"] == 5.0
    edges = answer["edges"]
    assert edges["refused"] == {
        "unresolved": 1,
        "self": 1,
        "not_new": 1,
        "later": 1,
        "cycle": 1,
        "too_deep": 0,
    }
    assert edges["accepted"] == 9 and edges["found"] == 13 and edges["scope"]["edges"] == 9
    assert edges["by_source"] == {"invite": 6, "scene": 2, "share": 1}


def test_who_invited_whom(chains: Warehouse) -> None:
    answer = referral(chains, max_nodes=50)
    name = person_of(chains)
    links = {(name[link["source"]], name[link["target"]]) for link in answer["tree"]["links"]}
    assert links == {
        ("S", "A1"),
        ("S", "A2"),
        ("S", "A3"),  # poster:MS on an OA follow, through S's member id (not Z's)
        ("A1", "B1"),
        ("A1", "B2"),
        ("B1", "C1"),  # the share chain names B1's anonymous id
        ("A2", "X"),  # the earliest edge wins over A3's poster an hour later
        ("P", "Q"),  # the cycle's latest edge (Q -> P) is refused: P becomes a seed
    }
    generation = {name[n["id"]]: n["generation"] for n in answer["tree"]["nodes"]}
    assert generation["C1"] == 3 and generation["P"] == 0 and generation["Q"] == 1
    assert "E" not in generation and "Y" not in generation and "Z" not in generation


def test_top_inviters_and_their_trees(chains: Warehouse) -> None:
    answer = referral(chains, top=2)
    name = person_of(chains)
    top = [(name[r["person_id"]], r["direct_invitees"], r["descendants"], r["depth_below"])
           for r in answer["top_inviters"]]  # fmt: skip
    assert top == [("S", 3, 7, 3), ("A1", 2, 3, 2)]
    s = answer["top_inviters"][0]
    assert s["member_id"] == "MS" and s["own_revenue_fen"] == 1000
    # A1 paid 5,000 net after arriving; A2's order came before its invite: not counted.
    assert s["invitees_revenue_fen"] == 5000 and s["paying_invitees"] == 1
    assert s["descendants_revenue_fen"] == 5000
    dist = {d["invitees"]: d["persons"] for d in answer["invitees_per_person"]}
    assert dist["0"] == 5 and dist["1"] == 3 and dist["2"] == 1 and dist["3"] == 1


def test_paying_and_time_between_generations(chains: Warehouse) -> None:
    gens = referral(chains)["generations"]
    assert [(g["paying"], g["revenue_fen"]) for g in gens] == [(1, 1000.0), (1, 5000.0),
                                                                (0, 0.0), (0, 0.0)]  # fmt: skip
    # Generation 1: S -> A1 24 h, S -> A2 25 h, S -> A3 48 h, P -> Q -1 h (P, now a
    # seed, was first seen after naming Q): median 24.5 h.
    assert gens[1]["median_hours_from_inviter"] == 24.5
    assert gens[3]["median_hours_from_inviter"] == 48.0  # B1 04 09:00 -> C1 06 09:00
    assert gens[0]["median_hours_from_inviter"] is None


def test_one_inviters_tree(chains: Warehouse) -> None:
    tree = referral(chains, root="member_id:MA1")["tree"]
    name = person_of(chains)
    assert sorted(name[n["id"]] for n in tree["nodes"]) == ["A1", "B1", "B2", "C1"]
    assert (tree["total"], tree["truncated"]) == (4, False)
    capped = referral(chains, root="member_id:MA1", max_nodes=2)["tree"]
    assert [name[n["id"]] for n in capped["nodes"]] == ["A1", "B1"]
    assert capped["truncated"] and capped["links"] == [
        {"source": capped["nodes"][0]["id"], "target": capped["nodes"][1]["id"]}
    ]


def test_depth_cap_and_existing_users(chains: Warehouse) -> None:
    capped = referral(chains, max_depth=2)
    assert [g["generation"] for g in capped["generations"]] == [0, 1, 2]
    assert capped["edges"]["refused"]["too_deep"] == 1
    anyone = referral(chains, new_within=None)
    assert anyone["edges"]["refused"]["not_new"] == 0
    assert anyone["top_inviters"][0]["direct_invitees"] == 4  # E counts for S now


def test_campaign_and_date_scopes(chains: Warehouse, tmp_path: Path) -> None:
    spring = referral(chains, campaign="spring")
    assert [(g["persons"], g["invitees"]) for g in spring["generations"]] == [(1, 1), (1, 0)]
    posters = referral(chains, campaign="poster:")
    assert [g["persons"] for g in posters["generations"]] == [2, 2]  # S -> A3, A1 -> B2
    window = referral(chains, **{"from": "2024-03-04", "to": "2024-03-06"})
    assert [g["persons"] for g in window["generations"]] == [2, 3, 1]
    assert window["edges"]["scope"] == {
        "edges": 4,
        "by_source": {"invite": 2, "scene": 1, "share": 1},
    }
    # A cost of 10,000 fen over 03-01..03-10, of which 03-02 (first invite)..03-31
    # overlaps 9 days: 9,000 fen; plus 1,000 entered on the channel code qr_spring,
    # whose campaign is spring (each entry counts once); an unrelated code's cost not.
    with chains.transaction() as cur:
        cur.execute(
            "INSERT INTO channels VALUES ('qr_spring', 'spring poster', 'poster', 'spring', "
            "'oa', 0, TIMESTAMP '2024-01-01')"
        )
    runtime = Runtime.open(Settings(home=tmp_path, parse_workers=0), warehouse=chains)
    entries = [
        costs.add(runtime, dimension="campaign", key="spring", cost_fen=10_000,
                  **{"from": "2024-03-01", "to": "2024-03-10"}),
        costs.add(runtime, dimension="channel", key="qr_spring", cost_fen=1000,
                  **{"from": "2024-03-05", "to": "2024-03-14"}),
        costs.add(runtime, dimension="channel", key="qr_other", cost_fen=5000,
                  **{"from": "2024-03-05", "to": "2024-03-14"}),
    ]  # fmt: skip
    try:
        spring = referral(chains, campaign="spring")["summary"]
        assert spring["cost_fen"] == 10_000 and spring["cost_per_invitee_fen"] == 10_000
        assert spring["roi"] == round((5000 - 10_000) / 10_000, 4)
        assert referral(chains)["summary"]["cost_fen"] is None  # no campaign, no cost
    finally:
        for entry in entries:
            costs.remove(runtime, entry["cost_id"])
        with chains.transaction() as cur:
            cur.execute("DELETE FROM channels WHERE code = 'qr_spring'")


def test_breaking_cycles_refuses_the_latest_edge() -> None:
    lost = [
        {"invitee": "a", "inviter": "c", "edge_time": 1, "edge_seq": 1},
        {"invitee": "b", "inviter": "a", "edge_time": 5, "edge_seq": 2},
        {"invitee": "c", "inviter": "b", "edge_time": 3, "edge_seq": 3},
        {"invitee": "d", "inviter": "b", "edge_time": 9, "edge_seq": 4},  # hangs below
        {"invitee": "e", "inviter": "deep", "edge_time": 2, "edge_seq": 5},  # too deep
    ]
    assert break_cycles(lost, {"deep"}) == (["b"], 1)


def test_requests_that_fail(chains: Warehouse) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"campaign": "autumn"}, "campaign", "invites name: poster:, spring"),
        ({"root": "member_id:M404"}, "root", "no person holds"),
        ({"root": "member_id:MY", "new_within": None}, "root", "invited nobody"),
        ({"max_depth": 0}, "max_depth", "greater than or equal to 1"),
        ({"new_within": "0d"}, "new_within", "longer than 0"),
        ({"scene_prefixes": ["海报:"]}, "scene_prefixes", "letters, digits"),
        ({"from": "2024-03-05", "to": "2024-03-01"}, "from", "swap them"),
        ({"to": "2024-04-05"}, "to", "after today"),
        ({"segment": "x"}, "segment", "unknown field"),
    ]
    for body, where, words in cases:
        with pytest.raises(InvalidRequest, match=words) as caught:
            referral(chains, **body)
        assert caught.value.field == where, body


def test_demo_chains_have_the_depth_the_demo_drew(demo_context: Context) -> None:
    """The demo (600 persons, 45 days, seed 7) draws invite chains of a known depth."""
    drawn = generate(600, DEMO_DAYS, 7, DEMO_START)
    answer = analyse_with(demo_context, "referral", {"max_nodes": 5000})
    assert answer["summary"]["depth"] == drawn.max_invite_depth >= 2
    invites = drawn.events.filter(pc.equal(drawn.events["event"], "invite_accepted"))
    posters = drawn.events.filter(
        pc.and_(
            pc.equal(drawn.events["event"], "subscribe"),
            pc.match_substring(drawn.events["properties"], '"scene":"poster:'),
        )
    )
    assert answer["summary"]["invitees"] == invites.num_rows + posters.num_rows
    assert answer["edges"]["by_source"] == {"invite": invites.num_rows, "scene": posters.num_rows}
    # Each invite event carries the chain depth the demo drew ($share_depth).
    generation = {n["id"]: n["generation"] for n in answer["tree"]["nodes"]}
    ev = demo_context.facts.events
    accepted = ev.filter(ev.event == "invite_accepted").select("person_id", "properties")
    rows = accepted.to_pyarrow().to_pylist()
    assert len(rows) == invites.num_rows
    for row in rows:
        assert generation[row["person_id"]] == json.loads(row["properties"])["$share_depth"]
    assert answer["tree"]["total"] == answer["summary"]["persons"] == len(generation)
