"""A synthetic identity population as ``identity_links`` rows, for `bench_identity`.

Each person has a login id or a member id (its anchor; some have both), a mini-program
openid and unionid (35%), a phone (25%) and 1-5 anonymous or device ids. A *profile*
event links the anchor to the person's strong ids; every anonymous or device id has its
own event linking it to the anchor (to the openid for a mini-program user's first one).
Repeats of random links fill up to the requested edge count. With noise, some devices
are shared (shop tablets by 60-300 persons: junk; family devices by 2-4: conflicts) and
some phones are reused by a second person. Built as integers with numpy; the strings are
made by DuckDB while loading.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from siyu.storage import Warehouse

APP_ID: Final = "wx5e1f0a2b3c4d5e6f"
TYPES: Final = (
    "member_id",
    "login_id",
    "unionid",
    "phone",
    f"mp_openid:{APP_ID}",
    "device_id",
    "anonymous_id",
)
MEMBER, LOGIN, UNIONID, PHONE, OPENID, DEVICE, ANON = range(len(TYPES))
YEAR_US: Final = 365 * 86_400 * 1_000_000
START_US: Final = 1_735_689_600 * 1_000_000  # 2025-01-01 UTC


@dataclass(frozen=True)
class Population:
    """Link rows, one per edge: event, sub, both ends as (type code, number)."""

    event: np.ndarray
    sub: np.ndarray
    a_type: np.ndarray
    a_num: np.ndarray
    b_type: np.ndarray
    b_num: np.ndarray
    events: int


def generate(persons: int, edges: int, seed: int, *, noise: bool = True) -> Population:
    """About ``edges`` link rows over ``persons`` persons."""
    rng = np.random.default_rng(seed)
    pid = np.arange(persons, dtype=np.int64)
    has_login = rng.random(persons) < 0.80
    has_member = ~has_login | (rng.random(persons) < 0.12)
    has_mp = rng.random(persons) < 0.35
    has_phone = rng.random(persons) < 0.25
    anchor_t = np.where(has_member, MEMBER, LOGIN).astype(np.int8)
    blocks: list[tuple[np.ndarray, ...]] = []

    # Profile events: the anchor linked to the strong ids, in priority order.
    profile = (has_member & has_login) | has_mp | has_phone
    profile_event = np.cumsum(profile) - 1
    sub = np.zeros(persons, dtype=np.int32)
    for id_type, mask in (
        (LOGIN, has_member & has_login),
        (UNIONID, has_mp),
        (PHONE, has_phone),
        (OPENID, has_mp),
    ):
        sub[mask] += 1
        p = pid[mask]
        blocks.append((profile_event[p], sub[mask], anchor_t[p], p, _full(p, id_type), p))
    events = int(profile.sum())

    # Anonymous and device ids, one event each.
    count = rng.choice(5, persons, p=[0.35, 0.30, 0.18, 0.11, 0.06]).astype(np.int64) + 1
    total = int(count.sum())
    owner = np.repeat(pid, count)
    first = np.zeros(total, dtype=bool)
    first[np.cumsum(count) - count] = True
    by_openid = first & has_mp[owner]
    a_t = np.where(by_openid, OPENID, anchor_t[owner]).astype(np.int8)
    b_t = np.where(rng.random(total) < 0.25, DEVICE, ANON).astype(np.int8)
    b_n = np.arange(total, dtype=np.int64)
    if noise:
        _share_devices(rng, persons, b_t, b_n, total)
    blocks.append((events + np.arange(total), np.ones(total, np.int32), a_t, owner, b_t, b_n))
    events += total

    if noise:  # reused phones: a second person binds a phone another already has
        reused = max(1, persons // 500)
        holders = rng.choice(pid[has_phone], reused)
        takers = rng.choice(pid[~has_phone], reused)
        ev = events + np.arange(reused)
        blocks.append((ev, np.ones(reused, np.int32), anchor_t[takers], takers,
                       _full(takers, PHONE), holders))  # fmt: skip
        events += reused

    cols = [np.concatenate(parts) for parts in zip(*blocks, strict=True)]
    distinct = len(cols[0])
    if edges > distinct:  # the same link seen again in a later event
        repeats = edges - distinct
        src = rng.integers(0, distinct, repeats)
        ev = events + np.arange(repeats)
        extra = (ev, np.ones(repeats, np.int32), *(c[src] for c in cols[2:]))
        cols = [np.concatenate([c, e]) for c, e in zip(cols, extra, strict=True)]
        events += repeats
    elif edges < distinct:
        print(f"note: {distinct:,} distinct links > --edges; all kept", file=sys.stderr)
    return Population(*cols, events=events)  # type: ignore[arg-type]


def _share_devices(
    rng: np.random.Generator, persons: int, b_t: np.ndarray, b_n: np.ndarray, total: int
) -> None:
    """Point some anonymous-id links at shared devices (in place)."""
    tablets = rng.integers(60, 300, max(1, persons // 20_000))
    family = rng.integers(2, 5, max(1, persons // 250))
    sizes = np.concatenate([tablets, family])
    picked = rng.choice(total, int(sizes.sum()), replace=False)
    b_t[picked] = DEVICE
    b_n[picked] = total + np.repeat(np.arange(len(sizes)), sizes)


def _full(like: np.ndarray, id_type: int) -> np.ndarray:
    return np.full(len(like), id_type, dtype=np.int8)


def _value_sql(t: str, n: str) -> str:
    """The stored value of id number ``n`` of type code ``t``: realistic lengths."""
    s = f"CAST({n} AS VARCHAR)"
    return f"""CASE {t}
        WHEN {MEMBER} THEN 'M' || lpad({s}, 11, '0')
        WHEN {LOGIN} THEN 'u_' || lpad({s}, 10, '0')
        WHEN {UNIONID} THEN 'o6_bm' || left(md5('u' || {s}), 23)
        WHEN {PHONE} THEN 's1.' || md5('p' || {s}) || left(md5('q' || {s}), 8)
        WHEN {OPENID} THEN 'oX' || left(md5('o' || {s}), 26)
        WHEN {DEVICE} THEN 'D-' || upper(md5('d' || {s}))
        ELSE md5('a' || {s})
    END"""


def load_links(warehouse: Warehouse, population: Population) -> dict[str, int]:
    """Write the population's node and link rows into ``identity_links``; CHECKPOINT."""
    rng = np.random.default_rng(len(population.event))
    at = np.sort(rng.integers(0, YEAR_US, population.events))
    seq_of = np.empty(population.events, dtype=np.int64)
    seq_of[rng.permutation(population.events)] = np.arange(1, population.events + 1)
    # seq_of[e] is event e's rank in time; at[rank - 1] its time.
    first = population.sub == 1
    node_event = population.event[first]
    kind = np.concatenate(
        [np.zeros(len(node_event), np.int8), np.ones(len(population.sub), np.int8)]
    )
    seq = seq_of[np.concatenate([node_event, population.event])]
    table = pa.table(
        {
            "seq": seq,
            "sub": np.concatenate([np.zeros(len(node_event), np.int32), population.sub]),
            "kind": kind,
            "a_t": np.concatenate([population.a_type[first], population.a_type]),
            "a_n": np.concatenate([population.a_num[first], population.a_num]),
            "b_t": np.concatenate([np.full(len(node_event), -1, np.int8), population.b_type]),
            "b_n": np.concatenate([np.full(len(node_event), -1, np.int64), population.b_num]),
            "seen_us": START_US + at[seq - 1],
        }
    )
    types = "[" + ", ".join(f"'{t}'" for t in TYPES) + "]"
    with warehouse.transaction() as cur:
        cur.register("_bench_links", table)
        cur.execute(
            f"""
            INSERT INTO identity_link_rows
            SELECT seq, sub, CASE kind WHEN 0 THEN 'node' ELSE 'link' END,
                   {types}[a_t + 1], {_value_sql("a_t", "a_n")},
                   CASE WHEN b_t >= 0 THEN {types}[b_t + 1] END,
                   CASE WHEN b_t >= 0 THEN {_value_sql("b_t", "b_n")} END,
                   'event',
                   'e' || lpad(CAST(seq AS VARCHAR), 12, '0') || '-'
                       || left(md5(CAST(seq AS VARCHAR)), 19),
                   make_timestamp(seen_us)
            FROM _bench_links
            """
        )
        cur.unregister("_bench_links")
    warehouse.cursor().execute("CHECKPOINT")
    return {"nodes": len(node_event), "links": len(population.sub)}
