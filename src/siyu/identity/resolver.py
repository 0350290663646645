"""Incremental resolution in the server: a thread that applies new events every moment.

Events are acknowledged when committed; their persons follow within about a second, off
the request path, so resolution never delays a client.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

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


class Resolver:
    """Calls `apply_new` every ``interval`` seconds until stopped."""

    def __init__(self, warehouse: Warehouse, rules: IdentityRules, interval: float = 1.0):
        self.warehouse = warehouse
        self.rules = rules
        self.interval = interval
        self.stats = ResolverStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set once the one-off start-up work is done (`siyu.identity.graph.warm`).
        self.ready = threading.Event()

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

    def _run(self) -> None:
        self._warm()
        while not self._stop.wait(self.interval):
            self.apply()

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
