"""Settings, read once from the environment (prefix ``SIYU_``).

The data directory ``SIYU_HOME`` (default ``./.siyu``) holds the DuckDB file, the Parquet
snapshots Spark reads, and ``server.json`` while ``siyu serve`` runs.
"""

from __future__ import annotations

import os
import zoneinfo
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; construct with overrides in tests."""

    model_config = SettingsConfigDict(env_prefix="SIYU_", extra="ignore", frozen=True)

    home: Path = Field(default=Path(".siyu"), description="data directory (SIYU_HOME)")
    timezone: str = Field(default="Asia/Shanghai", description="project time zone")
    host: str = "127.0.0.1"
    port: int = Field(default=8421, ge=0, le=65535)
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = Field(default=2, ge=1)
    max_group_events: int = Field(
        default=50_000, ge=1, description="most events the collector commits in one transaction"
    )
    parse_workers: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) - 1),
        ge=0,
        le=64,
        description="processes parsing request bodies (0: parse in the server process)",
    )
    max_pending_events: int = Field(
        default=500_000, ge=1, description="queued events past which the collector answers 503"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai"
            ) from exc
        return value

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def database_path(self) -> Path:
        return self.home / "siyu.duckdb"

    @property
    def lake_path(self) -> Path:
        """Parquet snapshots of the tables, for Spark and other readers."""
        return self.home / "lake"

    @property
    def server_file(self) -> Path:
        return self.home / "server.json"
