"""Retention against cohorts computed by hand: local day boundaries in Asia/Shanghai
(23:59 and 00:01 local are 15:59 and 16:01 UTC), month ends, Monday weeks, incomplete
periods, the three cohort modes, per-event breakdowns, and requests that must fail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.scope import context_from
from siyu.analytics.service import analyse_with
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.segments.models.warehouse import Ev, build

TZ = "Asia/Shanghai"


def warehouse(events: list[Ev]) -> Warehouse:
    wh = build(events)
    rebuild(wh, IdentityRules())
    return wh


def retention(wh: Warehouse, today: date, **body: Any) -> dict[str, Any]:
    ctx = context_from(wh.ibis(), today=today, tz=TZ)
    return analyse_with(ctx, "retention", body)


def matrix(answer: dict[str, Any]) -> dict[str, tuple[int, list[int | None]]]:
    """cohort -> (size, retained per period)."""
    return {row["cohort"]: (row["size"], row["retained"]) for row in answer["cohorts"]}


# Day cohorts of 2024-03-01 and 03-02, signup -> view (local wall-clock times).
DAY_EVENTS = [
    # a: signs up a minute before midnight, views two minutes later: the next local day.
    Ev("a", "2024-03-01 23:59", "signup"),
    Ev("a", "2024-03-02 00:01", "view"),
    # b: signs up a minute after midnight (16:01 UTC the day before), views at 23:59.
    Ev("b", "2024-03-02 00:01", "signup"),
    Ev("b", "2024-03-02 23:59", "view"),
    # c: a view before signing up the same day does not count for day 0.
    Ev("c", "2024-03-01 09:00", "view"),
    Ev("c", "2024-03-01 10:00", "signup"),
    Ev("c", "2024-03-03 00:00", "view"),
    # d: 07:30 local on 03-02 is 23:30 UTC on 03-01: local day 1, UTC day 0.
    Ev("d", "2024-03-01 12:00", "signup"),
    Ev("d", "2024-03-02 07:30", "view"),
    # e: signs up twice; in one cohort for "first", two rows for "any".
    Ev("e", "2024-03-01 08:00", "signup"),
    Ev("e", "2024-03-04 08:00", "view"),
    Ev("e", "2024-03-05 08:00", "signup"),
    Ev("e", "2024-03-06 09:00", "view"),
    # x: first signed up before the range: no cohort of the range for "first".
    Ev("x", "2024-02-20 10:00", "signup"),
    Ev("x", "2024-03-01 11:00", "signup"),
    Ev("x", "2024-03-02 11:00", "view"),
]


@pytest.fixture(scope="module")
def days() -> Warehouse:
    return warehouse(DAY_EVENTS)


def test_first_occurrence_across_the_local_day_boundary(days: Warehouse) -> None:
    answer = retention(
        days,
        date(2024, 3, 10),
        start_event="signup",
        return_event="view",
        periods=3,
        **{"from": "2024-03-01", "to": "2024-03-02"},
    )
    assert matrix(answer) == {
        "2024-03-01": (4, [0, 2, 1, 1]),  # a, c, d, e: day 1 a and d, day 2 c, day 3 e
        "2024-03-02": (1, [1, 0, 0, 0]),  # b: the view at 23:59 is after the signup
    }
    assert answer["columns"] == ["Day 0", "Day 1", "Day 2", "Day 3"]
    assert answer["average"]["retained"] == [1, 2, 1, 1]
    assert answer["average"]["rates"] == [0.2, 0.4, 0.2, 0.2]
    assert answer["cohorts"][0]["rates"] == [0.0, 0.5, 0.25, 0.25]


def test_period_zero_is_everyone_when_the_return_event_is_the_start_event(
    days: Warehouse,
) -> None:
    answer = retention(
        days,
        date(2024, 3, 10),
        start_event="signup",
        return_event="signup",
        periods=4,
        **{"from": "2024-03-01"},
    )
    cohorts = matrix(answer)
    assert cohorts["2024-03-01"] == (4, [4, 0, 0, 0, 1])  # e signs up again on day 4
    assert all(row["rates"][0] == 1.0 for row in answer["cohorts"] if row["size"])


def test_recurring_cohorts_start_in_every_period_with_the_start_event(days: Warehouse) -> None:
    answer = retention(
        days,
        date(2024, 3, 10),
        start_event="signup",
        return_event="view",
        cohort="any",
        periods=1,
        **{"from": "2024-03-01", "to": "2024-03-05"},
    )
    cohorts = matrix(answer)
    assert cohorts["2024-03-01"] == (5, [0, 3])  # a, c, d, e and x (again); a, d, x back
    assert cohorts["2024-03-02"] == (1, [1, 0])
    assert cohorts["2024-03-05"] == (1, [0, 1])  # e's second signup, back on 03-06
    assert cohorts["2024-03-03"] == (0, [0, 0])


def test_first_seen_starts_at_the_first_event_of_any_kind(days: Warehouse) -> None:
    answer = retention(
        days, date(2024, 3, 10), cohort="first_seen", periods=1, **{"from": "2024-03-01"}
    )
    cohorts = matrix(answer)
    # c's first event is the 09:00 view; x was first seen in February.
    assert cohorts["2024-03-01"] == (4, [4, 2])
    assert cohorts["2024-03-02"] == (1, [1, 0])


def test_periods_not_ended_by_today_are_null_not_zero(days: Warehouse) -> None:
    answer = retention(
        days,
        date(2024, 3, 3),
        start_event="signup",
        return_event="view",
        periods=3,
        **{"from": "2024-03-01"},
    )
    cohorts = matrix(answer)
    assert cohorts["2024-03-01"] == (4, [0, 2, 1, None])
    assert cohorts["2024-03-02"] == (1, [1, 0, None, None])
    assert cohorts["2024-03-03"] == (0, [0, None, None, None])
    assert answer["average"]["eligible"] == [5, 5, 4, 0]
    assert answer["average"]["rates"][3] is None


# Calendar months: a January cohort crossing into February at local midnight.
MONTH_EVENTS = [
    # f: 23:30 on Jan 31 local; the view at 00:10 on Feb 1 local is still Jan 31 in UTC.
    Ev("f", "2024-01-31 23:30", "signup"),
    Ev("f", "2024-02-01 00:10", "view"),
    # g: 00:30 on Jan 1 local is Dec 31 in UTC; back on the last evening of March.
    Ev("g", "2024-01-01 00:30", "signup"),
    Ev("g", "2024-03-31 23:50", "view"),
    # h: the leap day's cohort of February, back on Mar 1.
    Ev("h", "2024-02-29 12:00", "signup"),
    Ev("h", "2024-03-01 00:05", "view"),
]


def test_month_cohorts_follow_local_calendar_months() -> None:
    wh = warehouse(MONTH_EVENTS)
    answer = retention(
        wh,
        date(2024, 4, 1),
        start_event="signup",
        return_event="view",
        period="month",
        periods=2,
        **{"from": "2024-01-01", "to": "2024-02-29"},
    )
    assert matrix(answer) == {"2024-01-01": (2, [0, 1, 1]), "2024-02-01": (1, [0, 1, None])}
    assert answer["cohorts"][1]["last_day"] == "2024-02-29"
    assert answer["columns"] == ["Month 0", "Month 1", "Month 2"]


def test_week_cohorts_start_on_monday() -> None:
    wh = warehouse(
        [
            # Sunday 23:59, then Monday 00:01: the next week.
            Ev("w1", "2024-01-07 23:59", "signup"),
            Ev("w1", "2024-01-08 00:01", "view"),
            # Monday 00:01, then Sunday 23:59: the same week.
            Ev("w2", "2024-01-08 00:01", "signup"),
            Ev("w2", "2024-01-14 23:59", "view"),
        ]
    )
    answer = retention(
        wh,
        date(2024, 1, 31),
        start_event="signup",
        return_event="view",
        period="week",
        periods=1,
        **{"from": "2024-01-01", "to": "2024-01-14"},
    )
    assert matrix(answer) == {"2024-01-01": (1, [0, 1]), "2024-01-08": (1, [1, 0])}


CARRIER_EVENTS = [
    *[Ev(f"m{n}", "2024-05-01 10:00", "$MPLaunch", carrier="mp") for n in range(8)],
    *[Ev(f"m{n}", "2024-05-02 10:00", "$MPLaunch", carrier="mp") for n in range(2)],
    *[Ev(f"a{n}", "2024-05-01 10:00", "$MPLaunch", carrier="app") for n in range(4)],
    *[Ev(f"a{n}", "2024-05-02 21:00", "$MPLaunch", carrier="app") for n in range(3)],
    # the app person's later launch from the mini-program keeps the app cohort row
    Ev("a0", "2024-05-01 10:05", "$MPLaunch", carrier="mp"),
]


def test_next_day_retention_by_carrier_and_contributions() -> None:
    wh = warehouse(CARRIER_EVENTS)
    answer = retention(
        wh,
        date(2024, 5, 10),
        start_event="$MPLaunch",
        period="day",
        periods=1,
        by="carrier",
        **{"from": "2024-05-01", "to": "2024-05-01"},
    )
    curves = {c["value"]: (c["size"], c["retained"]) for c in answer["breakdowns"]}
    assert curves == {"mp": (8, [8, 2]), "app": (4, [4, 3])}
    share = answer["contribution"]
    assert (share["period"], share["users"], share["retained"]) == (1, 12, 5)
    rows = {r["value"]: r for r in share["rows"]}
    assert rows["app"]["rate"] == 0.75 and rows["mp"]["rate"] == 0.25
    assert rows["app"]["share_of_retained"] == 0.6 and rows["mp"]["share_of_users"] == 8 / 12
    # Seed 003: retained users = sum over values of users x rate.
    assert sum(r["users"] * r["rate"] for r in share["rows"]) == pytest.approx(5)
    assert share["values_overlap"] is False


def _fails(wh: Warehouse, field: str, words: str, **body: Any) -> None:
    with pytest.raises(InvalidRequest, match=words) as caught:
        retention(wh, date(2024, 3, 10), **body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("field", "words", "body"),
    [
        ("start_event", "did you mean signup", {"start_event": "sigup"}),
        ("return_event", "no event 'veiw'", {"start_event": "signup", "return_event": "veiw"}),
        ("periods", "periods must be 1 to 120", {"start_event": "signup", "periods": 0}),
        ("periods", "periods must be 1 to 120", {"start_event": "signup", "periods": 121}),
        ("period", "'day', 'week' or 'month'", {"start_event": "signup", "period": "year"}),
        ("cohort", "'first', 'first_seen' or 'any'", {"start_event": "x", "cohort": "all"}),
        ("start_event", "needs the event", {"return_event": "view"}),
        ("start_event", "leave start_event out", {"start_event": "a", "cohort": "first_seen"}),
        ("at_period", "0 to periods", {"start_event": "signup", "periods": 2, "at_period": 3}),
        ("by", "unknown breakdown", {"start_event": "signup", "by": "colour"}),
        ("from", "after the last day", {"start_event": "signup", "from": "2024-04-01"}),
        ("from", "at most 400", {"start_event": "signup", "from": "2022-01-01"}),
        ("from", "after to", {"start_event": "s", "from": "2024-03-02", "to": "2024-03-01"}),
        ("segment", "no segment", {"start_event": "signup", "segment": "nobody"}),
        ("colour", "unknown field", {"start_event": "signup", "colour": "red"}),
    ],
)
def test_invalid_requests_name_the_field(
    days: Warehouse, field: str, words: str, body: dict[str, Any]
) -> None:
    _fails(days, field, words, **body)


def test_too_many_breakdown_values() -> None:
    events: Sequence[Ev] = [
        Ev(f"p{n}", "2024-03-01 10:00", "signup", {"plan": f"plan{n}"}) for n in range(51)
    ]
    _fails(
        warehouse(list(events)),
        "by",
        "has 51 values; at most 50",
        start_event="signup",
        by="event:plan",
        **{"from": "2024-03-01"},
    )


def test_overlapping_breakdowns_count_each_person_once_in_the_total() -> None:
    wh = warehouse(
        [
            *[Ev(p, "2024-03-01 10:00", "signup") for p in "abcd"],
            *[Ev(p, "2024-03-02 10:00", "signup") for p in "bd"],
        ]
    )
    with wh.transaction() as cur:
        people = dict(cur.execute("SELECT identity_value, person_id FROM identities").fetchall())
        for key, members in (("tag:x", "ab"), ("tag:y", "bc")):
            for member in members:
                cur.execute(
                    "INSERT INTO memberships VALUES (?, ?, TIMESTAMP '2024-03-01', NULL, NULL)",
                    [key, people[member]],
                )
    answer = retention(
        wh,
        date(2024, 3, 10),
        start_event="signup",
        periods=1,
        by="segment:tag:x,tag:y",
        **{"from": "2024-03-01", "to": "2024-03-01"},
    )
    curves = {c["value"]: (c["size"], c["retained"]) for c in answer["breakdowns"]}
    assert curves == {"tag:x": (2, [2, 1]), "tag:y": (2, [2, 1]), "(none)": (1, [1, 1])}
    assert matrix(answer) == {"2024-03-01": (4, [4, 2])}  # b counts once, not twice
    assert answer["contribution"]["values_overlap"] is True
    assert answer["contribution"]["retained"] == 2
