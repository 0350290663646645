"""Lifecycle flow against hand-made cases: each status across local period boundaries in
Asia/Shanghai, churn as the lifecycle model defines it, and stage transitions from a
hand-made ``memberships`` history (a Sankey chart)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.scope import Context, context_from
from siyu.analytics.service import analyse_with
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.segments.models.lifecycle import lifecycle
from siyu.storage import Warehouse
from tests.analytics.conftest import DEMO_TODAY
from tests.segments.models.warehouse import Ev, Order, build

TZ = "Asia/Shanghai"


def warehouse(events: list[Ev], orders: list[Order] | None = None) -> Warehouse:
    wh = build(events, orders or [])
    rebuild(wh, IdentityRules())
    return wh


def flow(wh: Warehouse, today: date, **body: Any) -> dict[str, Any]:
    return analyse_with(context_from(wh.ibis(), today=today, tz=TZ), "lifecycle", body)


def statuses(answer: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """period -> (new, returning, resurrecting, dormant, churned)."""
    keys = ("new", "returning", "resurrecting", "dormant", "churned")
    return {p["period"]: tuple(p[k] for k in keys) for p in answer["periods"]}


def test_day_statuses_across_local_midnight() -> None:
    wh = warehouse(
        [
            # n: 23:59 and 00:01 local fall on one UTC day (15:59 and 16:01 UTC)
            Ev("n", "2024-03-02 23:59"),
            Ev("n", "2024-03-03 00:01"),
            # a bookkeeping record is not the person acting
            Ev("n", "2024-03-04 10:00", "profile_set", type="profile_set"),
            # r: back after a gap
            Ev("r", "2024-02-20 10:00"),
            Ev("r", "2024-03-03 10:00"),
            # o: a paid order is activity too
            Ev("o", "2024-03-02 09:00"),
            # k: last seen on 02-27
            Ev("k", "2024-02-27 12:00"),
        ],
        [Order("o", "2024-03-01 12:00", 1000)],
    )
    answer = flow(
        wh,
        date(2024, 3, 10),
        period="day",
        churn_days=3,
        **{"from": "2024-03-01", "to": "2024-03-06"},
    )
    assert statuses(answer) == {
        "2024-03-01": (1, 0, 0, 0, 1),  # o's order; k crosses 3 days without activity
        "2024-03-02": (1, 1, 0, 0, 0),  # n at 23:59; o again
        "2024-03-03": (0, 1, 1, -1, 0),  # n at 00:01; r back; o gone quiet
        "2024-03-04": (0, 0, 0, -2, 0),  # n (profile_set does not count) and r
        "2024-03-05": (0, 0, 0, 0, 1),  # o: 03-02 + 3 days
        "2024-03-06": (0, 0, 0, 0, 2),  # n and r: 03-03 + 3 days
    }
    assert [p["active"] for p in answer["periods"]][:3] == [1, 2, 2]
    assert all(p["complete"] for p in answer["periods"])


WEEK_EVENTS = [
    # s: Sunday 23:59 then Monday 00:01 local: two weeks in a row
    Ev("s", "2024-03-03 23:59"),
    Ev("s", "2024-03-04 00:01"),
    # t: a Monday, then two weeks later
    Ev("t", "2024-02-26 08:00"),
    Ev("t", "2024-03-11 00:30"),
]


def test_week_statuses_and_the_open_week() -> None:
    wh = warehouse(WEEK_EVENTS)
    answer = flow(wh, date(2024, 3, 17), period="week", **{"from": "2024-02-26"})
    assert statuses(answer) == {
        "2024-02-26": (2, 0, 0, 0, 0),
        "2024-03-04": (0, 1, 0, -1, 0),
        "2024-03-11": (0, 0, 1, -1, 0),
    }
    assert answer["periods"][-1]["last_day"] == "2024-03-17"
    # On Wednesday the week has not ended: who went dormant is not known yet.
    open_week = flow(wh, date(2024, 3, 13), period="week", **{"from": "2024-02-26"})
    last = open_week["periods"][-1]
    assert (last["complete"], last["resurrecting"], last["dormant"]) == (False, 1, None)


def test_month_statuses_and_the_default_churn_threshold() -> None:
    wh = warehouse(
        [
            Ev("m", "2024-01-31 23:30"),  # 15:30 UTC on Jan 31
            Ev("q", "2024-02-01 00:10"),  # 16:10 UTC on Jan 31: February locally
        ]
    )
    answer = flow(wh, date(2024, 4, 1), period="month", **{"from": "2024-01-01"})
    assert answer["churn_days"] == 30
    assert statuses(answer) == {
        "2024-01-01": (1, 0, 0, 0, 0),
        "2024-02-01": (1, 0, 0, -1, 0),
        "2024-03-01": (0, 0, 0, -1, 2),  # m on Mar 1 (Jan 31 + 30), q on Mar 2
        "2024-04-01": (0, 0, 0, None, 0),
    }


def test_churned_is_the_day_the_lifecycle_model_says_churned_begins(
    demo_context: Context,
) -> None:
    facts = demo_context.facts
    stages = lifecycle(facts.events, facts.orders, today=DEMO_TODAY, tz=TZ)
    began = stages.filter(stages.stage == "churned", stages.stage_since == DEMO_TODAY)
    expected = int(began.count().execute())
    body = {"period": "day", "from": DEMO_TODAY.isoformat()}
    answer = analyse_with(demo_context, "lifecycle", body)
    assert expected > 0 and len(answer["periods"]) == 1
    assert answer["periods"][0]["churned"] == expected


#: lifecycle stays (set_key, person_id, entered_at, exited_at), UTC.
HISTORY = [
    ("lifecycle:new", "p1", "2024-03-01 02:00", "2024-03-08 02:00"),
    ("lifecycle:active", "p1", "2024-03-08 02:00", None),
    ("rfm:champions", "p1", "2024-03-01 02:00", None),
    ("lifecycle:active", "p2", "2024-02-01 02:00", "2024-03-05 02:00"),
    ("lifecycle:silent", "p2", "2024-03-05 02:00", None),
    ("tag:vip", "p2", "2024-02-01 02:00", None),
    ("lifecycle:new", "p3", "2024-03-09 02:00", None),
    ("lifecycle:silent", "p4", "2024-02-01 02:00", "2024-03-06 02:00"),
    # p5 was merged into p6: its stay counts as p6's
    ("lifecycle:active", "p5", "2024-02-01 02:00", "2024-03-07 02:00"),
    ("lifecycle:active", "p6", "2024-03-07 02:00", None),
    ("lifecycle:churned", "p7", "2024-02-01 02:00", None),
]


@pytest.fixture(scope="module")
def history() -> Warehouse:
    wh = Warehouse.in_memory()
    with wh.transaction() as cur:
        for key, person, entered, exited in HISTORY:
            cur.execute(
                "INSERT INTO memberships VALUES (?, ?, ?, ?, NULL)",
                [
                    key,
                    person,
                    datetime.fromisoformat(entered),
                    exited and datetime.fromisoformat(exited),
                ],
            )
        cur.execute("INSERT INTO person_overrides VALUES ('p5', 'p6')")
    return wh


def links(answer: dict[str, Any]) -> dict[tuple[str, str], int]:
    moves = answer["transitions"]["links"]
    return {(m["source"], m["target"]): m["value"] for m in moves}


def test_transitions_between_the_start_and_the_end_of_the_range(history: Warehouse) -> None:
    answer = flow(
        history, date(2024, 3, 10), period="day", **{"from": "2024-03-02", "to": "2024-03-09"}
    )
    assert links(answer) == {
        ("from:new", "to:active"): 1,
        ("from:active", "to:silent"): 1,
        ("from:(not yet a person)", "to:new"): 1,
        ("from:silent", "to:(no longer a person)"): 1,
        ("from:active", "to:active"): 1,
        ("from:churned", "to:churned"): 1,
    }
    moves = answer["transitions"]
    assert (moves["from"], moves["to"]) == (
        "2024-03-02T00:00:00+08:00",
        "2024-03-10T00:00:00+08:00",
    )
    assert moves["note"] is None
    nodes = {n["name"]: n for n in moves["nodes"]}
    assert nodes["from:active"]["value"] == 2 and nodes["to:active"]["value"] == 2
    assert nodes["from:active"]["label"] == "活跃 active"
    assert moves["nodes"][0]["name"] == "from:(not yet a person)"


def test_transitions_between_chosen_instants_and_for_a_segment(history: Warehouse) -> None:
    answer = flow(
        history,
        date(2024, 3, 10),
        flow_from="2024-02-15T00:00",
        flow_to="2024-03-06T10:00+08:00",  # 02:00 UTC: p2 silent, p4 gone
    )
    assert links(answer) == {
        ("from:(not yet a person)", "to:new"): 1,
        ("from:active", "to:silent"): 1,
        ("from:silent", "to:(no longer a person)"): 1,
        ("from:active", "to:active"): 1,
        ("from:churned", "to:churned"): 1,
    }
    vip = flow(history, date(2024, 3, 10), segment="tag:vip", flow_from="2024-02-15")
    assert links(vip) == {("from:active", "to:silent"): 1}
    early = flow(history, date(2024, 3, 10), flow_from="2024-01-01", flow_to="2024-01-02")
    assert links(early) == {} and "after both instants" in early["transitions"]["note"]


@pytest.mark.parametrize(
    ("field", "words", "body"),
    [
        ("period", "'day', 'week' or 'month'", {"period": "quarter"}),
        ("by", "describes an event", {"by": "carrier"}),
        ("by", "unknown breakdown", {"by": "colour"}),
        ("churn_days", "2 to 3660", {"churn_days": 1}),
        (
            "flow_to",
            "must be after flow_from",
            {"flow_from": "2024-03-05", "flow_to": "2024-03-01"},
        ),
        ("from", "after the last day", {"from": "2024-04-01"}),
        ("from", "at most 400", {"period": "day", "from": "2022-01-01"}),
        ("segment", "no segment", {"segment": "nobody"}),
    ],
)
def test_invalid_requests_name_the_field(
    history: Warehouse, field: str, words: str, body: dict[str, Any]
) -> None:
    with pytest.raises(InvalidRequest, match=words) as caught:
        flow(history, date(2024, 3, 10), **body)
    assert caught.value.field == field
