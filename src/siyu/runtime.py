"""The services one siyu process runs, shared by the API, the console and the CLI.

`Runtime` owns the warehouse, the source registry and the collector; edges (HTTP routes,
CLI commands) call its attributes and the domain functions they take.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siyu.analytics.answer_cache import AnswerCache
from siyu.config import Settings
from siyu.identity.resolver import Resolver
from siyu.identity.rules import IdentityRules, rules_from_settings
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
    rules: IdentityRules
    resolver: Resolver
    #: Answers of read-only analyses, kept a short while (see `AnswerCache`).
    answers: AnswerCache = field(default_factory=AnswerCache)

    @classmethod
    def open(cls, settings: Settings, *, warehouse: Warehouse | None = None) -> Runtime:
        wh = warehouse or Warehouse.open(settings)
        collector = Collector(
            wh,
            max_group_events=settings.max_group_events,
            max_pending=settings.max_pending_events,
            linger_s=settings.collector_linger_ms / 1000,
            linger_events=settings.collector_linger_events,
            checkpoint_idle_s=settings.checkpoint_idle_ms / 1000,
        )
        rules = rules_from_settings(settings)
        return cls(
            settings,
            wh,
            SourceRegistry(wh),
            collector,
            ParserPool(settings.parse_workers),
            rules,
            Resolver(
                wh,
                rules,
                settings.identity_resolve_interval or 1.0,
                share=settings.identity_resolve_share,
                max_wait=settings.identity_resolve_max_wait,
                idle=collector.idle_seconds,
                budget=settings.identity_resolve_budget,
            ),
            AnswerCache(max_seconds=settings.analytics_cache_seconds),
        )

    @property
    def resolves_identities(self) -> bool:
        """Whether this process runs the background identity resolver."""
        return self.settings.identity_resolve_interval > 0

    def start(self) -> None:
        self.collector.start()
        self.parsers.start()
        if self.resolves_identities:
            self.resolver.start()

    def stop(self) -> None:
        """Stop taking work: parser processes first, then commit what is queued."""
        self.parsers.stop()
        self.collector.stop()
        self.resolver.stop()

    def close(self) -> None:
        self.stop()
        self.warehouse.close()
