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

Under steady traffic the same fixed cost (about 0.1 s of CPU an apply, most of it DuckDB
preparing some 25 statements) dominates instead: applying every second at 2,000 events a
second added 32% to the server's CPU (`BENCHMARKS.md`, "Steady traffic"). So with a
``budget`` an apply also waits until the rest of the server has used ``1 / budget`` times
what the last apply cost, the resolver's CPU then staying within that fraction of
ingestion's, however light the traffic; ``max_wait`` still bounds how long persons lag.
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


def apply_cost(process_cpu: float, thread_cpu: float, wall: float, rest_rate: float) -> float:
    """The CPU seconds an apply itself cost, from what the process used meanwhile.

    ``process_cpu`` counts every thread, so the rest of the server's work during the apply
    (at ``rest_rate`` CPU seconds per second, as between the last two applies) is taken
    out; never below the resolver thread's own CPU (``thread_cpu``), which is all its.
    """
    rest = max(rest_rate, 0.0) * max(wall, 0.0)
    return max(thread_cpu, min(process_cpu, process_cpu - rest))


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
        budget: float = 0.0,
        cpu: Callable[[], float] = time.process_time,
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
        #: The resolver's CPU as a fraction of the rest of the process's at most (0: any).
        self.budget = budget
        #: CPU seconds the process has used so far (all threads).
        self._cpu = cpu
        #: The process CPU when the last apply ended, and how much the rest of the server
        #: must use after it before the next apply is within the budget.
        self._cpu_after = 0.0
        self._owed = 0.0
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
        ``waiting_for_budget``: the next apply also waits for the rest of the server to
        work enough for it to be within ``budget`` (at most ``max_wait_s``).
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
            "budget": self.budget,
            "max_wait_s": self.max_wait,
            "waiting_for_budget": bool(running and self.budget > 0 and not self.paid()),
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

    def paid(self) -> bool:
        """Whether the rest of the server used enough CPU since the last apply for the
        next to stay within the budget (always, without one)."""
        return self._cpu() - self._cpu_after >= self._owed

    def pause(self) -> bool:
        """Wait before the next apply: ``self.wait``, or less once ingestion is quiet;
        with a budget, also until it is `paid` (unless ingestion is quiet), but never
        more than ``max_wait``.

        True when asked to stop. Checked every interval, so a burst's end is applied
        within about an interval of the last commit.
        """
        started = time.monotonic()
        paced = started + self.wait
        cap = started + max(self.wait, self.max_wait)
        while (now := time.monotonic()) < cap:
            if now >= paced and self.paid():
                return False
            step = min(self.interval, paced - now if now < paced else self.interval, cap - now)
            if self._stop.wait(step):
                return True
            # Quiet for an interval ends a wait, the budget's too: no more events are
            # gathering, so waiting saves nothing. (Waiting for two quiet intervals
            # cost a cold-start burst about 4 µs more CPU per event, three runs against
            # three: BENCHMARKS.md, "Steady traffic".)
            if self._idle is not None and self._idle() >= self.interval:
                return False
        return self._stop.is_set()

    def _run(self) -> None:
        self._warm()
        cpu_before, ended = self._cpu(), time.perf_counter()
        while not self.pause():
            started, cpu_started = time.perf_counter(), self._cpu()
            thread_started = time.thread_time()
            self.apply()
            wall = time.perf_counter() - started
            self._cpu_after = self._cpu()
            if self.budget > 0:
                gap = started - ended
                rest_rate = (cpu_started - cpu_before) / gap if gap > 0 else 0.0
                cost = apply_cost(
                    self._cpu_after - cpu_started,
                    time.thread_time() - thread_started,
                    wall,
                    rest_rate,
                )
                self._owed = cost / self.budget
            cpu_before, ended = self._cpu_after, time.perf_counter()
            self.wait = next_wait(self.interval, self.share, self.max_wait, wall)

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
