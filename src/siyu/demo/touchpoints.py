"""WeChat server events: follows and scans of channel codes, menu clicks, keyword routing
to the matrix account, WeCom contacts and group joins, and referral rewards.

Shapes follow the callbacks (PROTOCOLS.md sections 4-5): a follow through a parametric
QR code carries ``event_key = qrscene_<scene>``; an existing follower's scan is ``SCAN``
with the bare scene; WeCom's ``add_external_contact`` carries the staff userid and the
contact way's ``state`` (the channel code).
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from siyu.demo import scenario as sc
from siyu.demo.events import EventSink, choose, concat_text
from siyu.demo.population import (
    ACQ_CHANNELS,
    CARRIERS,
    POSTER_INDEX,
    Calendar,
    Population,
    sample_seconds,
)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _scene_props(scene: str) -> str:
    return _json({"event_key": f"qrscene_{scene}", "scene": scene})


def _arrival(
    rng: np.random.Generator, pop: Population, cal: Calendar, people: np.ndarray, carrier: str
) -> np.ndarray:
    """Time a person first appears on ``carrier``: the acquisition moment if it is theirs."""
    day = pop.first_day[carrier][people]
    own = pop.acq_carrier[people] == CARRIERS.index(carrier)
    second = np.where(own, pop.acq_second[people], sample_seconds(rng, len(people)))
    return cal.at(day, second)


def _later_days(
    rng: np.random.Generator, first: np.ndarray, counts: np.ndarray, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` random days after ``first[i]`` within the period: (row, day)."""
    rows = np.repeat(np.arange(len(first)), counts)
    span = days - first[rows]
    day = first[rows] + (rng.random(len(rows)) * span).astype(np.int64)
    return rows, day


def official_accounts(
    rng: np.random.Generator, pop: Population, cal: Calendar, sink: EventSink
) -> None:
    """Follows, scans, menu clicks, keyword routing and unfollows on both accounts."""
    people = np.flatnonzero(pop.first_day["oa"] >= 0)
    when = _arrival(rng, pop, cal, people, "oa")
    channel = pop.channel[people]
    own = pop.acq_carrier[people] == CARRIERS.index("oa")
    vocab = [
        _scene_props(c.code) if c.kind in ("qr", "poster") else _json({"event_key": ""})
        for c in ACQ_CHANNELS
    ]
    plain = len(vocab)
    vocab.append(_json({"event_key": ""}))
    code = np.where(own, channel, plain)
    props = choose(vocab, code)
    poster = own & (channel == POSTER_INDEX)
    inviter = pop.ids["member_id"].take(pa.array(np.maximum(pop.inviter[people], 0)))
    scene = concat_text("poster:", inviter)
    poster_props = concat_text('{"event_key":"qrscene_', scene, '","scene":"', scene, '"}')
    props = pc.if_else(pa.array(poster), poster_props, props)
    sink.add("oa", people, when, "subscribe", props)

    seg = pop.segment[people]
    days_left = cal.days - pop.first_day["oa"][people]
    rate = np.array([s.rate for s in sc.SEGMENTS])[seg]
    n_click = rng.poisson(rate * days_left * 0.25)
    rows, day = _later_days(rng, pop.first_day["oa"][people], n_click, cal.days)
    t = cal.at(day, sample_seconds(rng, len(rows)))
    menus = [_json({"event_key": k}) for k in sc.MENU_KEYS]
    sink.add("oa", people[rows], t, "CLICK", choose(menus, rng.integers(0, len(menus), len(rows))))
    n_scan = rng.poisson(0.25 * np.minimum(days_left, 30) / 30, len(people))
    rows, day = _later_days(rng, pop.first_day["oa"][people], n_scan, cal.days)
    t = cal.at(day, sample_seconds(rng, len(rows)))
    scans = [_json({"event_key": c, "scene": c}) for c in ("qr_menu_scan", "qr_store_sh")]
    sink.add("oa", people[rows], t, "SCAN", choose(scans, rng.integers(0, 2, len(rows))))

    p_unfollow = np.array([0.03, 0.06, 0.14, 0.35])[seg]
    gone = rng.random(len(people)) < p_unfollow
    gone_day = pop.first_day["oa"][people] + 1 + rng.geometric(1 / 12, len(people))
    gone &= gone_day < cal.days
    t = cal.at(gone_day[gone], sample_seconds(rng, int(gone.sum())))
    sink.add("oa", people[gone], t, "unsubscribe", _json({"event_key": ""}))

    # Keyword routing: "童书" to the main account answers with the matrix account's code.
    fans = np.flatnonzero(pop.matrix_day >= 0)
    t = cal.at(pop.matrix_day[fans], sample_seconds(rng, len(fans)))
    keyword = _json({"msg_type": "text", "content": "童书"})
    sink.add("oa", fans, t, "message", keyword)
    sink.add("oa_matrix", fans, t + 90_000_000, "subscribe", _scene_props("kw_matrix_kids"))


def wecom(rng: np.random.Generator, pop: Population, cal: Calendar, sink: EventSink) -> None:
    """Contacts added through staff contact ways, group joins and a few deletions."""
    people = np.flatnonzero(pop.first_day["wecom"] >= 0)
    when = _arrival(rng, pop, cal, people, "wecom")
    own = pop.acq_carrier[people] == CARRIERS.index("wecom")
    states = [c.code for c in ACQ_CHANNELS if c.kind == "wecom_way"]
    state_of = np.array([states.index(c.code) if c.code in states else 1 for c in ACQ_CHANNELS])
    state = np.where(own, state_of[pop.channel[people]], rng.integers(0, len(states), len(people)))
    vocab = [
        _json({"staff_userid": uid, "state": st, "change_type": "add_external_contact"})
        for uid, _ in sc.STAFF
        for st in states
    ]
    staff = pop.staff[people]
    sink.add(
        "wecom", people, when, "add_external_contact", choose(vocab, staff * len(states) + state)
    )

    joins = rng.random(len(people)) < 0.3
    g_people = people[joins]
    interest = pop.interest[g_people]
    group = np.select(
        [interest == 0, interest == 3, interest == 5],
        [rng.integers(0, 2, len(g_people)), 2, 3],
        rng.integers(0, len(sc.GROUPS), len(g_people)),
    )
    t = when[joins] + rng.integers(60, 3 * 86_400, len(g_people)) * 1_000_000
    keep = t < cal.midnight_us[-1]
    groups = [
        _json({"chat_id": cid, "group_name": name, "join_scene": 3, "state": "grp_kids_books"})
        for cid, name in sc.GROUPS
    ]
    sink.add("wecom", g_people[keep], t[keep], "join_group", choose(groups, group[keep]))

    churn = (pop.segment[people] == 3) & (rng.random(len(people)) < 0.2)
    t = when[churn] + rng.integers(86_400, 20 * 86_400, int(churn.sum())) * 1_000_000
    keep = t < cal.midnight_us[-1]
    deleted = choose(
        [_json({"staff_userid": uid}) for uid, _ in sc.STAFF], pop.staff[people[churn][keep]]
    )
    sink.add("wecom", people[churn][keep], t[keep], "del_follow_user", deleted)


def referrals(rng: np.random.Generator, pop: Population, cal: Calendar, sink: EventSink) -> int:
    """Invite acceptances in the mini-program and rewards at the invite threshold.

    Returns the deepest invite chain.
    """
    invitees = np.flatnonzero(pop.inviter >= 0)
    arrived = cal.at(pop.acq_day[invitees], pop.acq_second[invitees])
    in_mp = pop.acq_carrier[invitees] == CARRIERS.index("mp")
    mp_people = invitees[in_mp]
    inviter_id = pop.ids["member_id"].take(pa.array(pop.inviter[mp_people]))
    props = concat_text(
        '{"inviter":"', inviter_id, '","$share_depth":', pop.depth[mp_people],
        ',"scene":"poster:', inviter_id, '","campaign":"', sc.POSTER.campaign or "", '"}',
    )  # fmt: skip
    sink.add("mp", mp_people, arrived[in_mp] + 35_000_000, "invite_accepted", props)

    # The reward goes out when an inviter's third friend arrives.
    order = np.lexsort((arrived, pop.inviter[invitees]))
    inv = pop.inviter[invitees][order]
    rank = np.arange(len(inv)) - np.searchsorted(inv, inv, side="left")
    hit = rank == sc.INVITE_THRESHOLD - 1
    reward = _json(
        {"campaign": sc.POSTER.campaign, "threshold": sc.INVITE_THRESHOLD, "reward": "电子书兑换码"}
    )
    sink.add("growth", inv[hit], arrived[order][hit] + 60_000_000, "invite_reward", reward)
    return int(pop.depth.max(initial=0))
