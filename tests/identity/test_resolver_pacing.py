"""The resolver's pacing under load: bounded share of time, bounded wait."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from siyu.config import Settings
from siyu.identity.resolver import Resolver, apply_cost, next_wait
from siyu.identity.rules import rules_from_settings
from siyu.runtime import Runtime
from siyu.storage import Warehouse


def test_short_applies_keep_the_interval() -> None:
    assert next_wait(1.0, 0.2, 10.0, 0.05) == 1.0


def test_slow_applies_wait_in_proportion() -> None:
    # 0.5 s applying at a 20% share: 2 s waiting, so applying is 0.5 / 2.5 of the time
    assert next_wait(1.0, 0.2, 10.0, 0.5) == pytest.approx(2.0)


def test_the_wait_is_capped() -> None:
    assert next_wait(1.0, 0.2, 10.0, 30.0) == 10.0


def test_a_whole_share_never_paces() -> None:
    assert next_wait(1.0, 1.0, 10.0, 5.0) == 1.0


@given(
    interval=st.floats(0.01, 5),
    share=st.floats(0.01, 1),
    max_wait=st.floats(0.01, 60),
    last=st.floats(0, 100),
)
def test_applying_takes_at_most_its_share_unless_capped(
    interval: float, share: float, max_wait: float, last: float
) -> None:
    wait = next_wait(interval, share, max_wait, last)
    assert wait >= interval
    assert wait <= max(interval, max_wait)
    if last > 0 and wait < max_wait and wait > interval:
        assert last / (last + wait) == pytest.approx(share)
    if wait < max_wait:
        assert last / (last + wait) <= share + 1e-9


def test_settings_reach_the_resolver() -> None:
    settings = Settings(identity_resolve_share=0.1, identity_resolve_max_wait=4.0)
    runtime = Runtime.open(settings, warehouse=Warehouse.in_memory())
    try:
        assert runtime.resolver.share == 0.1
        assert runtime.resolver.max_wait == 4.0
    finally:
        runtime.warehouse.close()


@pytest.mark.parametrize(
    "field, value",
    [
        ("identity_resolve_share", 0),
        ("identity_resolve_share", 1.5),
        ("identity_resolve_max_wait", 0),
    ],
)
def test_bad_pacing_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})


def _resolver(idle: float) -> Resolver:
    return Resolver(
        Warehouse.in_memory(), rules_from_settings(Settings()), interval=0.05, idle=lambda: idle
    )


def test_a_paced_wait_ends_once_ingestion_is_quiet() -> None:
    resolver = _resolver(idle=10.0)  # nothing committed for 10 s
    resolver.wait = 30.0  # what a long apply under load left
    started = time.monotonic()
    assert resolver.pause() is False  # apply now, not in 30 s
    assert time.monotonic() - started < 5


def test_a_paced_wait_holds_while_ingestion_is_busy() -> None:
    resolver = _resolver(idle=0.0)  # committing right now
    resolver.wait = 0.4
    started = time.monotonic()
    assert resolver.pause() is False
    assert time.monotonic() - started >= 0.4


def test_an_apply_costs_what_the_rest_did_not_use() -> None:
    # 1.0 s of process CPU in 0.5 s while the rest ran at 0.8 CPU-s a second: 0.6 s is
    # the apply's
    assert apply_cost(1.0, 0.3, 0.5, 0.8) == pytest.approx(0.6)


def test_an_apply_costs_at_least_its_own_thread() -> None:
    assert apply_cost(1.0, 0.5, 1.0, 2.0) == pytest.approx(0.5)


@given(
    process=st.floats(0, 10),
    own=st.floats(0, 10),
    wall=st.floats(0, 10),
    rate=st.floats(-1, 4),
)
def test_an_apply_cost_lies_between_its_thread_and_the_process(
    process: float, own: float, wall: float, rate: float
) -> None:
    cost = apply_cost(process, own, wall, rate)
    assert cost >= own
    assert cost <= max(process, own)


class _Clock:
    """Process CPU seconds that grow by ``rate`` per wall second: the rest of a server."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.started = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self.started) * self.rate


def _budgeted(idle: float, cpu: _Clock, owed: float, max_wait: float = 10.0) -> Resolver:
    resolver = Resolver(
        Warehouse.in_memory(),
        rules_from_settings(Settings()),
        interval=0.05,
        max_wait=max_wait,
        idle=lambda: idle,
        budget=0.2,
        cpu=cpu,
    )
    resolver._cpu_after = cpu()  # as if an apply had just ended
    resolver._owed = owed
    return resolver


def test_an_apply_waits_until_the_rest_of_the_server_paid_for_it() -> None:
    # The last apply owes 0.5 CPU-s of other work; the rest uses 2 CPU-s a second.
    resolver = _budgeted(idle=0.0, cpu=_Clock(2.0), owed=0.5)
    assert not resolver.paid()
    assert resolver.report(running=True)["waiting_for_budget"] is True
    started = time.monotonic()
    assert resolver.pause() is False
    assert time.monotonic() - started >= 0.25
    assert resolver.paid()


def test_a_short_pause_in_traffic_does_not_skip_the_budget() -> None:
    # Quiet for less than an interval (0.05 s): more is coming.
    resolver = _budgeted(idle=0.03, cpu=_Clock(2.0), owed=0.4)
    started = time.monotonic()
    assert resolver.pause() is False
    assert time.monotonic() - started >= 0.2


def test_once_traffic_stopped_the_budget_waits_no_more() -> None:
    # Nothing committed for an interval: the batch will not grow, so apply now.
    resolver = _budgeted(idle=10.0, cpu=_Clock(0.0), owed=100.0)
    started = time.monotonic()
    assert resolver.pause() is False
    assert time.monotonic() - started < 1


def test_persons_never_lag_more_than_max_wait_for_the_budget() -> None:
    # Busy ingestion that the budget is never paid by: max_wait ends the wait.
    resolver = _budgeted(idle=0.0, cpu=_Clock(0.0), owed=1.0, max_wait=0.3)
    started = time.monotonic()
    assert resolver.pause() is False
    assert 0.3 <= time.monotonic() - started < 2


def test_without_a_budget_nothing_is_owed() -> None:
    resolver = _resolver(idle=10.0)
    assert resolver.budget == 0.0
    assert resolver.paid()
    assert resolver.report(running=True)["waiting_for_budget"] is False


def test_the_budget_setting_reaches_the_resolver() -> None:
    runtime = Runtime.open(Settings(identity_resolve_budget=0.3), warehouse=Warehouse.in_memory())
    try:
        assert runtime.resolver.budget == 0.3
        assert Settings().identity_resolve_budget == 0.1
    finally:
        runtime.warehouse.close()


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(ValidationError, match="identity_resolve_budget"):
        Settings(identity_resolve_budget=-0.1)
