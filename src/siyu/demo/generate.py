"""Generate the whole demo data set in memory: events, orders, channels and items.

Deterministic: the same (users, days, seed, start) gives byte-identical tables, event ids
``demo:<tag>:<n>`` in time order and order ids ``DD<yyyymmdd><tag><n>``, where the tag
is a hash of the four parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import orjson
import pyarrow as pa

from siyu.demo import scenario as sc
from siyu.demo.events import EventSink, View, choose, identity_map
from siyu.demo.orders import build_orders
from siyu.demo.population import Calendar, Population, build_population, sample_seconds
from siyu.demo.sessions import APP_NAMES, MP_NAMES, article_props, book_props, sessions
from siyu.demo.touchpoints import official_accounts, referrals, wecom
from siyu.progress import Progress, no_progress

_TS = pa.timestamp("us")


@dataclass
class DemoData:
    """The generated tables and a few facts about them."""

    events: pa.Table
    orders: pa.Table
    channels: pa.Table
    items: pa.Table
    persons: int
    max_invite_depth: int
    events_by_carrier: dict[str, int] = field(default_factory=dict)


def run_tag(users: int, days: int, seed: int, start: date) -> str:
    """A short hash of the parameters, so two different demo runs never share ids."""
    text = f"{users}:{days}:{seed}:{start.isoformat()}"
    return hashlib.blake2b(text.encode(), digest_size=3).hexdigest()


def generate(
    users: int, days: int, seed: int, start: date, progress: Progress = no_progress
) -> DemoData:
    """Draw ``users`` persons acquired over ``days`` days from ``start`` (local dates)."""
    if users < 1 or days < 2:
        raise ValueError("the demo needs at least 1 user and 2 days")
    streams = np.random.SeedSequence([seed, users, days, start.toordinal()]).spawn(8)
    rngs = [np.random.default_rng(s) for s in streams]
    steps = 6
    progress("generating persons", 0, steps)
    cal = Calendar.build(start, days)
    pop = build_population(rngs[0], users, cal)
    sink = EventSink(_views(pop), rngs[1], until=int(cal.midnight_us[-1]))
    progress("generating mini-program sessions", 1, steps)
    bought = [sessions(rngs[2], pop, cal, sink, MP_NAMES)]
    progress("generating app sessions", 2, steps)
    bought.append(sessions(rngs[3], pop, cal, sink, APP_NAMES))
    progress("generating WeChat and WeCom events", 3, steps)
    official_accounts(rngs[4], pop, cal, sink)
    wecom(rngs[5], pop, cal, sink)
    depth = referrals(rngs[6], pop, cal, sink)
    _phone_binds(rngs[6], pop, cal, sink)
    tag = run_tag(users, days, seed, start)
    orders = build_orders(rngs[7], pop, cal, sink, bought, tag[:4])
    progress("building event table", 4, steps)
    by_carrier = sink.counts_by_carrier()
    events = sink.table(f"demo:{tag}:")
    progress("generated", steps, steps)
    return DemoData(
        events=events,
        orders=orders,
        channels=channels_table(cal),
        items=items_table(cal),
        persons=users,
        max_invite_depth=depth,
        events_by_carrier=dict(sorted(by_carrier.items())),
    )


def _phone_binds(rng: np.random.Generator, pop: Population, cal: Calendar, sink: EventSink) -> None:
    """Members who bind their phone in the mini-program on their first visit."""
    people = np.flatnonzero(pop.has_phone & (pop.first_day["mp"] >= 0))
    day = pop.first_day["mp"][people]
    on_acq = day == pop.acq_day[people]
    second = np.where(on_acq, pop.acq_second[people] + 150.0, sample_seconds(rng, len(people)))
    sink.add("mp_bind", people, cal.at(day, second), "$BindID", type="bind")


def _views(pop: Population) -> dict[str, View]:
    ids = pop.ids
    n = pop.n
    none = pa.nulls(n, pa.string())
    device = choose(list(sc.DEVICES), pop.device)
    empty = choose(["{}"], np.zeros(n, np.int64))

    def view(
        source: str,
        protocol: str,
        carrier: str,
        app_id: str | None,
        lib: tuple[str | None, str | None],
        user: pa.Array,
        anon: pa.Array,
        keys: list[str],
    ) -> View:
        sdk = protocol == "sensors"
        pairs = [(k.removesuffix("_matrix"), ids[k.replace("oa_openid_matrix", "oa_matrix_openid")])
                 for k in keys]  # fmt: skip
        return View(source, protocol, carrier, app_id, lib[0], lib[1], sdk, user, anon,
                    identity_map(pairs), device if sdk else empty)  # fmt: skip

    member = ids["member_id"]
    mp_lib = ("MiniProgram", "1.20.2")
    return {
        "mp": view("demo-mp", "sensors", "mp", sc.MP_APP_ID, mp_lib, member, ids["mp_openid"],
                   ["mp_openid", "unionid", "member_id"]),
        "mp_bind": view("demo-mp", "sensors", "mp", sc.MP_APP_ID, mp_lib, member,
                        ids["mp_openid"], ["member_id", "phone", "mp_openid"]),
        "app": view("demo-app", "sensors", "app", sc.APP_ID, ("Android", "6.8.0"), member,
                    ids["device_id"], ["device_id", "member_id"]),
        "oa": view("demo-oa", "wechat", "oa", sc.MAIN_OA_APP_ID, (None, None),
                   ids["oa_openid"], none, ["oa_openid", "unionid"]),
        "oa_matrix": view("demo-oa-matrix", "wechat", "oa", sc.MATRIX_OA_APP_ID, (None, None),
                          ids["oa_matrix_openid"], none, ["oa_openid_matrix", "unionid"]),
        "wecom": view("demo-wecom", "wechat", "wecom", sc.CORP_ID, (None, None),
                      ids["wecom_external_userid"], none, ["wecom_external_userid", "unionid"]),
        "growth": view("demo-growth", "demo", "server", None, ("siyu-demo", "1"), member, none,
                       ["member_id"]),
    }  # fmt: skip


def channels_table(cal: Calendar) -> pa.Table:
    """The ``channels`` rows: every channel code the demo uses (organic sources excluded)."""
    rows = [c for c in (*sc.CHANNELS, sc.POSTER, *sc.EXTRA_CHANNELS) if c.kind != "organic"]
    created = pa.array(
        [int(cal.midnight_us[0]) - (k + 1) * 86_400_000_000 for k in range(len(rows))], _TS
    )
    return pa.table(
        {
            "code": [c.code for c in rows],
            "name": [c.name for c in rows],
            "kind": [c.kind for c in rows],
            "campaign": pa.array([c.campaign for c in rows], pa.string()),
            "carrier": [c.carrier for c in rows],
            "cost_fen": pa.array([c.cost_fen for c in rows], pa.int64()),
            "created_at": created,
        }
    )


def items_table(cal: Calendar) -> pa.Table:
    """The ``items`` rows: the book catalogue and the tagged article library."""
    books = [orjson.loads(p) for p in book_props()]
    articles = [orjson.loads(p) for p in article_props()]
    rows = [("book", b.pop("item_id"), b) for b in books]
    rows += [("article", a.pop("item_id"), a) for a in articles]
    for _, _, props in rows:
        props.pop("item_type", None)
    updated = int(cal.midnight_us[0]) - 30 * 86_400_000_000
    return pa.table(
        {
            "item_type": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "properties": [orjson.dumps(r[2]).decode() for r in rows],
            "deleted": pa.array([False] * len(rows)),
            "updated_at": pa.array([updated] * len(rows), _TS),
        }
    )


def default_start(days: int, tz: str = sc.TIMEZONE) -> date:
    """``days`` days before today in ``tz``, so the demo ends yesterday."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(tz)).date() - timedelta(days=days)
