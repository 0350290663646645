"""Settings, read once from the environment (prefix ``SIYU_``).

The data directory ``SIYU_HOME`` (default ``./.siyu``) holds the DuckDB file, the Parquet
snapshots Spark reads, ``pii.key`` (unless ``SIYU_PII_KEY`` is set) and ``server.json``
while ``siyu serve`` runs.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import zoneinfo
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from siyu.exceptions import ConfigError

#: Bytes of the personal-data key: AES-256-SIV takes two 256-bit keys.
PII_KEY_BYTES = 64


class Settings(BaseSettings):
    """Process-wide settings; construct with overrides in tests."""

    model_config = SettingsConfigDict(env_prefix="SIYU_", extra="ignore", frozen=True)

    home: Path = Field(default=Path(".siyu"), description="data directory (SIYU_HOME)")
    timezone: str = Field(default="Asia/Shanghai", description="project time zone")
    host: str = "127.0.0.1"
    port: int = Field(default=8421, ge=0, le=65535)
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = Field(default=2, ge=1)
    duckdb_checkpoint_threshold: str = Field(
        default="256MB",
        description=(
            "write-ahead log size at which DuckDB checkpoints during a commit (e.g. 256MB);"
            " the collector checkpoints earlier whenever it is idle"
        ),
    )
    checkpoint_idle_ms: float = Field(
        default=1_000,
        ge=10,
        le=600_000,
        description="how long the collector must be idle before it checkpoints what it wrote",
    )
    max_group_events: int = Field(
        default=50_000, ge=1, description="most events the collector commits in one transaction"
    )
    collector_linger_ms: float = Field(
        default=50,
        ge=0,
        le=5_000,
        description="under concurrent load, how long the collector waits to fill a commit",
    )
    collector_linger_events: int = Field(
        default=1_500, ge=1, description="events that end the collector's wait for a commit"
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

    identity_types: dict[str, dict[str, int | str | None]] = Field(
        default_factory=dict,
        description=(
            "identity rules over the defaults, JSON: "
            '{"xhs_id": {"priority": 40, "limit": 1}, "email": {"limit": 3}}'
        ),
    )
    identity_max_fanout: int = Field(
        default=50,
        ge=2,
        description="persons a device/anonymous/cookie id may link before it counts as junk",
    )
    pii_key: SecretStr | None = Field(
        default=None,
        description=(
            "base64 of 64 random bytes sealing phone and email at rest; unset: "
            "SIYU_HOME/pii.key, created on first use"
        ),
    )

    identity_resolve_interval: float = Field(
        default=1.0,
        ge=0,
        description="seconds between incremental identity resolutions in the server (0: off)",
    )
    # 0.1 of the wall clock: an apply's queries run on DuckDB's two threads, so about 20%
    # of a saturated 2-core machine, issue 3's budget for resolution.
    identity_resolve_share: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description=(
            "under load, the share of time the resolver may spend applying: after an apply "
            "of t seconds it waits t * (1 - share) / share, at least the interval"
        ),
    )
    identity_resolve_max_wait: float = Field(
        default=10.0,
        gt=0,
        description="seconds the resolver waits at most between applies, however busy",
    )
    # Issue 3: resolution adds at most 20% to ingestion's cost. 0.1 of the server
    # process's other CPU leaves room for what the estimate misses (the identity tables'
    # checkpoints count as the others' work): at 0.15 a steady 2,000 events/s still cost
    # 19-33% more CPU, at 0.1 7-17% (BENCHMARKS.md, "Steady traffic").
    identity_resolve_budget: float = Field(
        default=0.1,
        ge=0,
        le=10,
        description=(
            "the resolver's CPU at most this fraction of the rest of the server's "
            "(ingestion, API, console): an apply waits until the others have used "
            "1/budget times what the last one cost, up to identity_resolve_max_wait "
            "(0: no such wait)"
        ),
    )
    analytics_cache_seconds: float = Field(
        default=600.0,
        ge=0,
        description=(
            "seconds an analysis answer is kept while the data it read is unchanged "
            "(see siyu.analytics.answer_cache; 0: off)"
        ),
    )

    project_dir: Path | None = Field(
        default=None,
        description=(
            "folder of segment and tag definitions kept in git (segments/*.yaml, "
            "models.yaml); unset: SIYU_HOME/project"
        ),
    )
    segments_compute_at: str = Field(
        default="04:00",
        pattern=r"^(off|([01]\d|2[0-3]):[0-5]\d)$",
        description="local time (HH:MM) `siyu serve` recomputes tags and segments daily; off",
    )
    wechat_api_base: str = Field(
        default="https://api.weixin.qq.com/cgi-bin/",
        description="official-account API base URL (an API proxy, or a stand-in in tests)",
    )
    wecom_api_base: str = Field(
        default="https://qyapi.weixin.qq.com/cgi-bin/", description="WeCom API base URL"
    )
    oa_appid: str | None = Field(default=None, description="official account appid")
    oa_secret: SecretStr | None = Field(default=None, description="official account AppSecret")
    wecom_corp_id: str | None = Field(default=None, description="WeCom corp id")
    wecom_secret: SecretStr | None = Field(
        default=None, description="WeCom customer-contact (客户联系) secret"
    )

    console: bool = Field(default=True, description="serve the web console at /console")
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="hours a console sign-in lasts"
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="failed sign-ins in a row that lock a user"
    )
    login_lock_minutes: float = Field(
        default=15, gt=0, description="minutes a user stays locked after too many failures"
    )

    @field_validator("duckdb_checkpoint_threshold")
    @classmethod
    def _a_size(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)", value.strip()):
            raise ValueError(f"{value!r} is not a size; write it like 256MB or 1GB")
        return value.strip()

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

    @field_validator("pii_key")
    @classmethod
    def _usable_pii_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_pii_key(value.get_secret_value(), "SIYU_PII_KEY")
        return value

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def database_path(self) -> Path:
        return self.home / "siyu.duckdb"

    @property
    def project_path(self) -> Path:
        """Where definitions kept in files live (``SIYU_PROJECT_DIR``)."""
        return self.project_dir if self.project_dir is not None else self.home / "project"

    @property
    def lake_path(self) -> Path:
        """Parquet snapshots of the tables, for Spark and other readers."""
        return self.home / "lake"

    @property
    def server_file(self) -> Path:
        return self.home / "server.json"

    @property
    def pii_key_path(self) -> Path:
        """The key file used when ``SIYU_PII_KEY`` is not set."""
        return self.home / "pii.key"


def decode_pii_key(text: str, where: str) -> bytes:
    """The key bytes of base64 ``text``; `ConfigError` for a short, bad or placeholder key.

    Raised as `ConfigError` rather than a validation error so no part of the key is
    echoed back in an error message.
    """
    how = f"set {where} to base64 of {PII_KEY_BYTES} random bytes (`openssl rand -base64 64`)"
    try:
        compact = "".join(text.split())  # `openssl rand -base64 64` wraps its output
        altchars = b"-_" if "-" in compact or "_" in compact else None
        key = base64.b64decode(compact, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where} is not base64; {how}") from None
    if len(key) != PII_KEY_BYTES:
        raise ConfigError(f"{where} decodes to {len(key)} bytes, not {PII_KEY_BYTES}; {how}")
    if len(set(key)) < 16:
        raise ConfigError(f"{where} looks like a placeholder, not a random key; {how}")
    return key
