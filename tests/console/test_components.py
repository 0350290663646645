"""The console's builders driven by NiceGUI's simulated user (`nicegui.testing.User`): no
browser, the real pages over a small real DuckDB demo in this process.

The segment builder's nested groups, rows, live estimate and validation messages; the
funnel's steps and window; the retention settings. Every figure a page shows is checked
against the service the CLI and API call with the same request.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from nicegui import app, core, ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from nicegui.testing.user_simulation import user_simulation

from siyu.analytics import service as analytics
from siyu.api.access import SESSION_COOKIE
from siyu.console.i18n import Formats, Texts
from siyu.exceptions import SiyuError
from siyu.segments import service as segments
from tests.console.conftest import Warehoused

pytestmark = pytest.mark.anyio

T, F = Texts("en"), Formats("en")
#: Retries of `User.should_see` (0.1 s apart): the estimate runs on a one-second timer.
PATIENCE = 150
PAGES = ("segments", "funnels", "retention")
#: What the pages raised in event handlers and background tasks (NiceGUI would log it).
ERRORS: list[Exception] = []


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def console_app(small_demo: Warehoused) -> AsyncIterator[Warehoused]:
    """The pages under test registered on NiceGUI's simulated app, serving ``small_demo``."""
    from siyu.console import context

    loaded = dict(sys.modules)
    try:
        async with user_simulation():
            app.on_exception(ERRORS.append)
            context.bind(small_demo.runtime)
            for name in PAGES:  # importing a page module registers its pages
                importlib.import_module(f"siyu.console.pages.{name}")
            yield small_demo
    finally:
        # NiceGUI's reset removes the module of every page and all its parents (``siyu``
        # itself) from sys.modules; put them back, or later tests would import a second
        # ``siyu`` beside the one every loaded module refers to.
        for name in loaded.keys() - sys.modules.keys():
            sys.modules[name] = loaded[name]


@asynccontextmanager
async def signed_in(token: str) -> AsyncIterator[User]:
    """A simulated user whose browser holds the session cookie ``token``; fails the test
    if a page raised while it was open."""
    transport = httpx.ASGITransport(core.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        client.cookies.set(SESSION_COOKIE, token)
        ERRORS.clear()
        yield User(client)
        assert not ERRORS, f"the page raised {ERRORS!r}"


@pytest.fixture
async def admin(console_app: Warehoused) -> AsyncIterator[User]:
    async with signed_in(console_app.admin_token) as user:
        yield user


@pytest.fixture
async def analyst(console_app: Warehoused) -> AsyncIterator[User]:
    async with signed_in(console_app.analyst_token) as user:
        yield user


def _nth(user: User, marker: str, n: int) -> Any:
    """The ``n``-th element (in the order drawn) carrying ``marker``."""
    return sorted(user.find(marker=marker).elements, key=lambda e: e.id)[n]


async def _drawn(user: User, marker: str, count: int) -> None:
    """Wait until ``count`` elements carry ``marker`` (a refresh redraws in a task)."""
    for _ in range(PATIENCE):
        if len(user.find(marker=marker).elements) == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(
        f"expected {count} {marker!r}, found {len(user.find(marker=marker).elements)}"
    )


def _click(user: User, element: Any, option: str | None = None) -> None:
    """Click ``element``; for a select, open its menu (unless open) and click ``option``."""
    if option is None or not element.is_showing_popup:
        UserInteraction(user, {element}, None).click()
    if option is not None:
        UserInteraction(user, {element}, option).click()


def _expected_estimate(demo: Warehoused, rule: dict[str, Any]) -> str:
    found = segments.estimate(demo.runtime, {"rule": rule})
    return T("estimate_result", size=F.number(found["size"]), share=F.share(found["share"]))


async def open_builder(user: User) -> None:
    await user.open("/segments")
    await user.should_see(T("segment_builder"))
    user.find(kind=ui.tab, content=T("segment_builder")).click()
    await user.should_see(marker="segment-estimate")


async def test_segment_builder_estimates_nested_groups(
    admin: User, console_app: Warehoused
) -> None:
    await open_builder(admin)
    view_item = {"event": {"name": "view_item", "window": {"last_days": 30}}}
    # The builder opens with one row (viewed an item in the last 30 days), estimated live.
    await admin.should_see(_expected_estimate(console_app, view_item), retries=PATIENCE)

    # A nested 满足任一 group: its new row has no event yet, so the estimate says which
    # row is unfinished instead of a size.
    admin.find(marker="add-group").click()
    await admin.should_see(marker="group-1")
    await admin.should_see(
        f"{T('unfinished')}: rule.all[1].any[0]: choose an event", retries=PATIENCE
    )

    # Fill that row with a behaviour (added to cart), add a property row beside it.
    _click(admin, _nth(admin, "condition-event", 1), "add_to_cart")
    _click(admin, _nth(admin, "add-condition", 1))
    await _drawn(admin, "condition", 3)
    _click(admin, _nth(admin, "condition-kind", 2), T("kind_property"))
    await admin.should_see(marker="condition-property")
    admin.find(marker="condition-property").type("active_days")
    _click(admin, _nth(admin, "condition-op", 0), "gte")
    admin.find(marker="condition-value").type("3")
    either = {
        "any": [
            {"event": {"name": "add_to_cart", "window": {"last_days": 30}}},
            {"property": {"name": "active_days", "op": "gte", "value": 3}},
        ]
    }
    await admin.should_see(
        _expected_estimate(console_app, {"all": [view_item, either]}), retries=PATIENCE
    )

    # 满足任一 at the top and 取反 on the nested group change the estimate the same way.
    with admin:
        _nth(admin, "group-match", 0).value = "any"
    _click(admin, _nth(admin, "group-negate", 1))
    await admin.should_see(
        _expected_estimate(console_app, {"any": [view_item, {"not": either}]}), retries=PATIENCE
    )


async def test_segment_builder_shows_why_a_condition_is_wrong(
    admin: User, console_app: Warehoused
) -> None:
    await open_builder(admin)
    _click(admin, _nth(admin, "condition-kind", 0), T("kind_property"))
    await admin.should_see(marker="condition-property")
    admin.find(marker="condition-property").type("active_days")
    await admin.should_see(
        f"{T('unfinished')}: rule.all[0]: enter a value for active_days", retries=PATIENCE
    )
    # A value the rule language refuses for a number column: the service's message.
    _click(admin, _nth(admin, "condition-op", 0), "gt")
    admin.find(marker="condition-value").type("lots")
    bad = {"property": {"name": "active_days", "op": "gt", "value": "lots"}}
    with pytest.raises(SiyuError) as refused:
        segments.estimate(console_app.runtime, {"rule": bad})
    await admin.should_see(str(refused.value), retries=PATIENCE)


async def test_segment_builder_save_is_for_operators(admin: User, analyst: User) -> None:
    await open_builder(admin)
    admin.find(marker="segment-key").type("Not A Key")
    admin.find(marker="segment-save").click()
    await admin.should_see(T("bad_key"))

    await open_builder(analyst)
    await analyst.should_not_see(marker="segment-save")


async def test_funnel_steps_and_window(admin: User, console_app: Warehoused) -> None:
    await admin.open("/funnels")
    default = {
        "steps": ["view_item", "add_to_cart", "checkout", "order_paid"],
        "window": "7d",
        "mode": "ordered",
        "trend": "day",
    }
    await admin.should_see(marker="funnel-summary", retries=PATIENCE)
    await admin.should_see(_summary(console_app, default))

    steps = _nth(admin, "funnel-steps", 0)
    _click(admin, steps, "add_to_cart")  # a second click takes a step out
    _click(admin, steps, "checkout")
    _click(admin, _nth(admin, "funnel-window", 0), "1 天 / 1d")
    _click(admin, _nth(admin, "funnel-by", 0), T("by_carrier"))
    admin.find(marker="funnel-run").click()
    changed = {**default, "steps": ["view_item", "order_paid"], "window": "1d", "by": "carrier"}
    await admin.should_see(_summary(console_app, changed), retries=PATIENCE)
    await admin.should_see(marker="funnel-breakdown")
    with admin:
        (table,) = admin.find(marker="funnel-table").elements
    assert [row["step"] for row in table.rows] == ["1. view_item", "2. order_paid"]

    # One step is no funnel: the page says what the service said.
    _click(admin, steps, "order_paid")
    admin.find(marker="funnel-run").click()
    await admin.should_see(marker="error-state", retries=PATIENCE)


def _summary(demo: Warehoused, body: dict[str, Any]) -> str:
    result = analytics.run(demo.runtime, "funnel", body)
    return T(
        "funnel_summary",
        entered=F.number(result["entered"]),
        converted=F.number(result["converted"]),
        rate=F.share(result["conversion"]),
        loss=F.share(result["mean_step_drop_off"]),
    )


async def test_retention_settings(admin: User, console_app: Warehoused) -> None:
    await admin.open("/retention")
    await admin.should_see(marker="heatmap-caption", retries=PATIENCE)
    _click(admin, _nth(admin, "retention-period", 0), T("period_week"))
    periods = _nth(admin, "retention-periods", 0)
    with admin:
        periods.value = 4
    _click(admin, _nth(admin, "retention-return", 0), "order_paid")
    _click(admin, _nth(admin, "retention-by", 0), T("by_channel"))
    admin.find(marker="retention-run").click()
    body = {
        "cohort": "first_seen",
        "return_event": "order_paid",
        "period": "week",
        "periods": 4,
        "by": "channel",
    }
    result = analytics.run(console_app.runtime, "retention", body)
    caption = T(
        "heatmap_caption",
        period=T("period_week"),
        periods=4,
        cohorts=len(result["cohorts"]),
        persons=F.number(result["average"]["size"]),
    )
    await admin.should_see(caption, retries=PATIENCE)
    await admin.should_see(marker="retention-contribution")
    with admin.scope(marker="retention-contribution"):
        (table,) = admin.find(ui.table).elements
    shown = [row["value"] for row in table.rows]
    assert shown == [row["value"] for row in result["contribution"]["rows"]]
