"""The daily recompute of tags and segments inside `siyu serve` (``SIYU_SEGMENTS_COMPUTE_AT``).

At the configured local time the schedule starts the ``segments-compute`` job through the
server's job runner, so it shows in the job list and never overlaps another writer's job
(the runner refuses a second job; the schedule then tries again a minute later).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from siyu.exceptions import SiyuError

log = logging.getLogger(__name__)
RETRY_SECONDS = 60.0


def next_run(now: datetime, at: str, tz: str) -> datetime:
    """The next instant (UTC, aware) at local time ``at`` (HH:MM) strictly after ``now``.

    Example:
        >>> next_run(datetime(2024, 1, 1, 20, 0, tzinfo=UTC), "04:00", "Asia/Shanghai")
        datetime.datetime(2024, 1, 2, 20, 0, tzinfo=datetime.timezone.utc)
    """
    zone = ZoneInfo(tz)
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(
            local.date() + timedelta(days=1), time(hour, minute), tzinfo=zone
        )
    return candidate.astimezone(UTC)


class DailySchedule:
    """A thread that calls ``start_job()`` once a day at ``at`` local time."""

    def __init__(self, at: str, tz: str, start_job: Callable[[], object]) -> None:
        self.at = at
        self.tz = tz
        self.start_job = start_job
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.next_at: datetime | None = None

    def start(self) -> None:
        if self.at == "off" or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="segments-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        self.next_at = next_run(datetime.now(UTC), self.at, self.tz)
        while not self._stop.is_set():
            wait = (self.next_at - datetime.now(UTC)).total_seconds()
            if wait > 0:
                self._stop.wait(min(wait, 3600.0))
                continue
            try:
                self.start_job()
            except SiyuError as exc:  # another job is running: try again shortly
                log.info("segments recompute postponed: %s", exc)
                self._stop.wait(RETRY_SECONDS)
                continue
            self.next_at = next_run(datetime.now(UTC), self.at, self.tz)
