"""The services one siyu process runs, shared by the API, the console and the CLI.

`Runtime` owns the warehouse, the source registry and the collector; edges (HTTP routes,
CLI commands) call its attributes and the domain functions they take.
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.config import Settings
from siyu.ingest.collector import Collector
from siyu.ingest.sources import SourceRegistry
from siyu.storage import Warehouse


@dataclass
class Runtime:
    settings: Settings
    warehouse: Warehouse
    sources: SourceRegistry
    collector: Collector

    @classmethod
    def open(cls, settings: Settings, *, warehouse: Warehouse | None = None) -> Runtime:
        wh = warehouse or Warehouse.open(settings)
        collector = Collector(
            wh,
            max_group_events=settings.max_group_events,
            max_pending=settings.max_pending_events,
        )
        return cls(settings, wh, SourceRegistry(wh), collector)

    def start(self) -> None:
        self.collector.start()

    def close(self) -> None:
        self.collector.stop()
        self.warehouse.close()
