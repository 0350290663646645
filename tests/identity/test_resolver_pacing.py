"""The resolver's pacing under load: bounded share of time, bounded wait."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from siyu.config import Settings
from siyu.identity.resolver import Resolver, next_wait
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
