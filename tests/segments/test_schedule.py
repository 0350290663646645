"""The daily recompute's clock: next local HH:MM after now, across days and zones."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.segments.schedule import DailySchedule, next_run


def test_next_run_later_today_and_tomorrow() -> None:
    now = datetime(2024, 6, 30, 19, 0, tzinfo=UTC)  # 03:00 on 1 July in Shanghai
    assert next_run(now, "04:00", "Asia/Shanghai") == datetime(2024, 6, 30, 20, 0, tzinfo=UTC)
    assert next_run(now, "03:00", "Asia/Shanghai") == datetime(2024, 7, 1, 19, 0, tzinfo=UTC)


def test_next_run_in_a_zone_with_daylight_saving() -> None:
    # 2024-03-10 02:30 does not exist in New York; 04:00 that day is 08:00 UTC (EDT).
    now = datetime(2024, 3, 10, 5, 0, tzinfo=UTC)
    assert next_run(now, "04:00", "America/New_York") == datetime(2024, 3, 10, 8, 0, tzinfo=UTC)


def test_off_starts_no_thread() -> None:
    calls: list[int] = []
    schedule = DailySchedule("off", "Asia/Shanghai", lambda: calls.append(1))
    schedule.start()
    assert schedule._thread is None
    schedule.stop()
    assert calls == []
