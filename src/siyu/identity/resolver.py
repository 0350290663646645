"""Incremental resolution in the server: a thread that applies new events every moment.

Events are acknowledged when committed; their persons follow within about a second, off
the request path, so resolution never delays a client.

Under a burst the resolver paces itself (`next_wait`): an apply has a cost that does not
grow with its batch (a few dozen statements, joins over the identities table), so applying
every second while the collector takes tens of thousands of events a second spent more CPU
on those fixed costs than on the events. Waiting in proportion to the last apply's
duration bounds the share of time spent resolving and lets each apply take a bigger batch;
persons then follow within a few seconds instead of one. When traffic is light, applies
are short and the interval holds. When ingestion goes quiet (``idle``: nothing committed
for an interval) a paced wait ends early, so the end of a burst is resolved within about
a second rather than after the rest of a wait of up to ``max_wait``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from siyu.identity.rules import IdentityRules
from siyu.storage.warehouse import Warehouse

log = logging.getLogger(__name__)


@dataclass
class ResolverStats:
    applies: int = 0
    links: int = 0
    merges: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    last_error: str | None = None
    last_apply_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def next_wait(interval: float, share: float, max_wait: float, last_apply: float) -> float:
    """Seconds to wait after an apply that took ``last_apply`` seconds.

    At least ``interval``; longer when applies are slow, so that applying takes at most
    ``share`` of the resolver's time (apply + wait); never more than ``max_wait``.
    """
    paced = last_apply * (1 - share) / share
    return max(interval, min(paced, max_wait))


class Resolver:
    """Calls `apply_new` every ``interval`` seconds (longer under load) until stopped."""

    def __init__(
        self,
        warehouse: Warehouse,
        rules: IdentityRules,
        interval: float = 1.0,
        *,
        share: float = 1.0,
        max_wait: float = 10.0,
        idle: Callable[[], float] | None = None,
    ):
        self.warehouse = warehouse
        self.rules = rules
        self.interval = interval
        self.share = share
        self.max_wait = max_wait
        #: Seconds since ingestion last wrote (`Collector.idle_seconds`); None: unknown.
        self._idle = idle
        #: Seconds the thread waits before its next apply (`next_wait`).
        self.wait = interval
        self.stats = ResolverStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set once the one-off start-up work is done (`siyu.identity.graph.warm`).
        self.ready = threading.Event()

    def report(self, running: bool) -> dict[str, object]:
        """What an operator needs to know about this resolver, JSON-ready.

        ``state``: ``off`` (not running here), ``starting`` (warming up), ``failing`` (the
        last apply raised: ``last_error`` says why, and new persons wait until it is
        fixed) or ``ready``. ``next_apply_in_s`` is the current wait between applies:
        above the interval, the resolver is pacing itself under load.
        """
        with self.stats.lock:
            stats = replace(self.stats)  # a consistent copy
        if not running:
            state = "off"
        elif not self.ready.is_set():
            state = "starting"
        else:
            state = "failing" if stats.last_error else "ready"
        return {
            "state": state,
            "interval_s": self.interval,
            "next_apply_in_s": round(self.wait, 2) if running else None,
            "applies": stats.applies,
            "merges": stats.merges,
            "conflicts": stats.conflicts,
            "apply_seconds_total": round(stats.seconds, 3),
            "seconds_since_last_apply": (
                round(time.time() - stats.last_apply_at, 1) if stats.last_apply_at else None
            ),
            "last_error": stats.last_error,
        }

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="siyu-resolver", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.apply()

    def apply(self) -> None:
        """One apply now; errors are kept in the stats and logged, never raised."""
        from siyu.identity.graph import apply_new  # deferred: numba and scipy load slowly

        try:
            result = apply_new(self.warehouse, self.rules)
        except Exception as exc:  # a bad batch must not stop later ones
            log.exception("identity resolution failed")
            with self.stats.lock:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
            return
        if result is not None:
            with self.stats.lock:
                self.stats.applies += 1
                self.stats.links += result.links
                self.stats.merges += result.merges
                self.stats.conflicts += result.conflicts
                self.stats.seconds += result.seconds
                self.stats.last_apply_at = time.time()
                self.stats.last_error = None

    def pause(self) -> bool:
        """Wait before the next apply: ``self.wait``, or less once ingestion is quiet.

        True when asked to stop. Checked every interval, so a burst's end is applied
        within about an interval of the last commit.
        """
        deadline = time.monotonic() + self.wait
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.wait(min(left, self.interval)):
                return True
            if self._idle is not None and self._idle() >= self.interval:
                return False
        return self._stop.is_set()

    def _run(self) -> None:
        self._warm()
        while not self.pause():
            started = time.perf_counter()
            self.apply()
            self.wait = next_wait(
                self.interval, self.share, self.max_wait, time.perf_counter() - started
            )

    def _warm(self) -> None:
        """Imports, SQL compilation and the replay's machine code: about 4 s of CPU,
        done at start rather than during the first burst of traffic."""
        try:
            from siyu.identity.graph import warm

            warm(self.rules)
        except Exception:  # only a head start: the first apply will do the same work
            log.exception("warming identity resolution up failed")
        finally:
            self.ready.set()
