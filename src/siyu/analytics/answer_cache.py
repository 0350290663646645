"""Answers of read-only analyses kept for a short while, so a console page opened again
(or by a colleague) does not scan the events again.

An answer is keyed by (analysis, request, day) and stamped with the warehouse's *data
version*: a fingerprint of what the analyses read (events, orders, identity progress,
compute runs, CLV fits, experiments, marketing costs). It is served as is for
`fresh_seconds`; after that only while the data version is unchanged, for at most
`max_seconds`. Operations that write (`costs.add`, `clv.fit` ...) clear the cache.
Answers live in this process only; they are stored as JSON bytes so no caller can
change a cached answer by changing what it got.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson

if TYPE_CHECKING:
    from siyu.storage import Warehouse

#: One query over the tables analyses read; cheap (counts and maxima DuckDB keeps or
#: finds in zone maps), so it runs before every cached answer is served.
VERSION_SQL: Final = """
SELECT
    (SELECT count(*) FROM events),
    (SELECT max(seq) FROM events),
    (SELECT count(*) FROM orders),
    (SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM identity_state),
    (SELECT count(*) FROM person_overrides),
    (SELECT count(*) FROM compute_runs),
    (SELECT max(coalesce(finished_at, started_at)) FROM compute_runs),
    (SELECT count(*) FROM clv_fits),
    (SELECT max(fitted_at) FROM clv_fits),
    (SELECT count(*) FROM clv_scores),
    (SELECT count(*) FROM experiments),
    (SELECT max(greatest(created_at, started_at, stopped_at)) FROM experiments),
    (SELECT count(*) FROM marketing_costs),
    (SELECT max(entered_at) FROM marketing_costs)
"""


def data_version(warehouse: Warehouse) -> tuple[Any, ...]:
    """The fingerprint of the data the analyses read; it changes when any of it does."""
    row = warehouse.cursor().execute(VERSION_SQL).fetchone()
    return tuple(row or ())


@dataclass
class _Answer:
    body: bytes
    version: tuple[Any, ...]
    at: float


@dataclass
class AnswerCache:
    """The kept answers of one process (a `Runtime` holds one)."""

    fresh_seconds: float = 30.0
    max_seconds: float = 600.0
    capacity: int = 256
    _answers: OrderedDict[Hashable, _Answer] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _computing: dict[Hashable, threading.Lock] = field(default_factory=dict)

    def answer(
        self,
        key: Hashable,
        version: Callable[[], tuple[Any, ...]],
        compute: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """The kept answer for ``key`` if still good, else ``compute()`` (kept). Callers
        asking for the same key at once wait for one computation instead of each running
        it."""
        if self.max_seconds <= 0:
            return compute()
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            kept = self._get(key)
            now = time.monotonic()
            if kept is not None and now - kept.at < self.fresh_seconds:
                return dict(orjson.loads(kept.body))
            current = version()
            if kept is not None and kept.version == current and now - kept.at < self.max_seconds:
                return dict(orjson.loads(kept.body))
            result = compute()
            self._put(key, _Answer(orjson.dumps(result), current, time.monotonic()))
            return result

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def _get(self, key: Hashable) -> _Answer | None:
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None:
                self._answers.move_to_end(key)
            return kept

    def _put(self, key: Hashable, answer: _Answer) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.capacity:
                self._answers.popitem(last=False)
            if len(self._computing) > 4 * self.capacity:
                self._computing = {k: v for k, v in self._computing.items() if v.locked()}
