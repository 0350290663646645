"""The services one siyu process runs, shared by the API, the console and the CLI.

`Runtime` owns the warehouse, the source registry and the collector; edges (HTTP routes,
CLI commands) call its attributes and the domain functions they take.
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.config import Settings
from siyu.ingest.collector import Collector
from siyu.ingest.parsing import ParserPool
from siyu.ingest.sources import SourceRegistry
from siyu.storage import Warehouse


@dataclass
class Runtime:
    settings: Settings
    warehouse: Warehouse
    sources: SourceRegistry
    collector: Collector
    parsers: ParserPool

    @classmethod
    def open(cls, settings: Settings, *, warehouse: Warehouse | None = None) -> Runtime:
        wh = warehouse or Warehouse.open(settings)
        collector = Collector(
            wh,
            max_group_events=settings.max_group_events,
            max_pending=settings.max_pending_events,
        )
        return cls(settings, wh, SourceRegistry(wh), collector, ParserPool(settings.parse_workers))

    def start(self) -> None:
        self.collector.start()
        self.parsers.start()

    def stop(self) -> None:
        """Stop taking work: parser processes first, then commit what is queued."""
        self.parsers.stop()
        self.collector.stop()

    def close(self) -> None:
        self.stop()
        self.warehouse.close()
