"""The shared request parts: windows, breakdowns, date ranges, event and segment checks."""

from __future__ import annotations

from datetime import date

import pytest

from siyu.analytics.exceptions import InvalidRequest
from siyu.analytics.request import (
    MAX_WINDOW_SECONDS,
    AnalysisRequest,
    Breakdown,
    parse_breakdown,
    parse_window,
)
from siyu.analytics.scope import (
    Context,
    check_event,
    check_segment,
    local_range,
    with_breakdown,
)
from siyu.analytics.service import parse_request


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("12h", 43_200),
        ("7d", 604_800),
        ("2w", 1_209_600),
        ("3mo", 7_776_000),
        (" 45 ", 45),
        (600, 600),
    ],
)
def test_windows(text: str | int, seconds: int) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0d", "longer than 0"),
        (-5, "longer than 0"),
        ("7 days", "not a duration"),
        ("400d", "longer than a year"),
        (True, "expected a duration"),
    ],
)
def test_bad_windows_say_why(text: object, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words) as caught:
        parse_window(text)
    assert caught.value.field == "window"
    assert MAX_WINDOW_SECONDS == 366 * 86_400


def test_breakdowns() -> None:
    assert parse_breakdown("channel") == Breakdown("channel")
    assert parse_breakdown("segment: a , b") == Breakdown("segment", ("a", "b"))
    assert parse_breakdown("event:plan") == Breakdown("event", ("plan",))
    assert parse_breakdown(None) is None
    assert parse_breakdown("carrier") is not None and parse_breakdown("carrier").per_event  # type: ignore[union-attr]
    for bad, words in [
        ("colour", "unknown breakdown"),
        ("property:", "needs a name"),
        ("channel:x", "takes no argument"),
        ("event:a,b", "one property"),
    ]:
        with pytest.raises(InvalidRequest, match=words):
            parse_breakdown(bad)


def test_request_fields_and_ranges() -> None:
    ok = parse_request(AnalysisRequest, {"from": "2024-06-01", "to": "2024-06-02"})
    assert ok.date_from == date(2024, 6, 1)
    with pytest.raises(InvalidRequest, match="after to") as caught:
        parse_request(AnalysisRequest, {"from": "2024-06-03", "to": "2024-06-02"})
    assert caught.value.field == "from"
    with pytest.raises(InvalidRequest, match="unknown field") as caught:
        parse_request(AnalysisRequest, {"form": "2024-06-01"})
    assert caught.value.field == "form"


def test_event_and_segment_checks(demo_context: Context) -> None:
    assert check_event(demo_context, "view_item", "steps[0]") == "view_item"
    with pytest.raises(InvalidRequest, match="did you mean view_item") as caught:
        check_event(demo_context, "view_itme", "steps[0]")
    assert caught.value.field == "steps[0]"
    assert check_segment(demo_context, "lifecycle:active") == "lifecycle:active"
    with pytest.raises(InvalidRequest, match="segments compute"):
        check_segment(demo_context, "no_such_segment")
    first, last = local_range(demo_context, None, None, default_days=7)
    assert (last - first).days == 6 and last == demo_context.today


def test_person_and_event_breakdowns(demo_context: Context) -> None:
    persons = demo_context.facts.persons
    by_stage = with_breakdown(demo_context, persons, parse_breakdown("lifecycle")).execute()
    assert len(by_stage) == len(persons.execute())
    assert set(by_stage["breakdown"]) <= {
        "new",
        "active",
        "silent",
        "churned",
        "returning",
        "(none)",
    }
    events = demo_context.facts.events.limit(200)
    by_carrier = with_breakdown(demo_context, events, parse_breakdown("carrier")).execute()
    assert set(by_carrier["breakdown"]) <= {"mp", "app", "oa", "wecom", "web", "server", "import"}
