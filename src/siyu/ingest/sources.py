"""Sources and their write keys: who may send events, and what carrier they speak for.

A source is one SDK installation or server integration (the mini-program, the app, the
web site, the CRM sync). Its write key authenticates every protocol: Segment ``writeKey``,
PostHog ``api_key`` and the Sensors ``token`` query parameter.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from siyu.ingest.exceptions import IngestError, RequestRejected
from siyu.ingest.model import CARRIERS
from siyu.storage import Warehouse

_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SourceError(IngestError):
    """A source definition is invalid or conflicts with an existing one."""


@dataclass(frozen=True)
class Source:
    source_id: str
    name: str
    write_key: str
    carrier: str
    app_id: str | None
    project: str | None
    created_at: datetime
    disabled: bool = False
    wechat_token: str | None = None
    wechat_aes_key: str | None = None

    def public(self, *, reveal_key: bool = False) -> dict[str, Any]:
        """A JSON-ready view; secrets are masked unless asked for."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        if not reveal_key:
            for secret in ("write_key", "wechat_token", "wechat_aes_key"):
                if data[secret]:
                    data[secret] = data[secret][:4] + "…" + data[secret][-4:]
        return data


_COLUMNS = (
    "source_id, name, write_key, carrier, app_id, project, created_at, disabled,"
    " wechat_token, wechat_aes_key"
)
_WECHAT_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")


def authenticate(sources: Mapping[str, Source], write_key: str | None) -> Source:
    """The enabled source for ``write_key`` or `RequestRejected` saying how to fix it."""
    source = sources.get(write_key) if write_key else None
    if source is None:
        if not write_key:
            raise RequestRejected(
                "unauthorized",
                "no write key: send the source's write key (`siyu sources list --reveal`)",
            )
        raise RequestRejected(
            "unauthorized", "unknown or disabled write key; check `siyu sources list`"
        )
    return source


class SourceRegistry:
    """Reads and writes the ``sources`` table, with an in-memory key lookup for the hot path."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse
        self._lock = threading.Lock()
        self._by_key: dict[str, Source] = {}
        self._enabled: dict[str, Source] = {}
        self.reload()

    def reload(self) -> None:
        rows = self._warehouse.cursor().execute(f"SELECT {_COLUMNS} FROM sources").fetchall()
        with self._lock:
            self._by_key = {row[2]: Source(*row) for row in rows}
            self._refresh_enabled()

    def by_key(self, write_key: str | None) -> Source | None:
        """The enabled source owning ``write_key``, or None."""
        if not write_key:
            return None
        source = self._by_key.get(write_key)
        return source if source is not None and not source.disabled else None

    def enabled(self) -> dict[str, Source]:
        """Write key -> enabled source: what parser processes authenticate against."""
        return self._enabled

    def _refresh_enabled(self) -> None:
        self._enabled = {k: s for k, s in self._by_key.items() if not s.disabled}

    def by_id(self, source_id: str) -> Source | None:
        """The enabled source named ``source_id``, or None."""
        for source in self._by_key.values():
            if source.source_id == source_id and not source.disabled:
                return source
        return None

    def list(self) -> list[Source]:
        return sorted(self._by_key.values(), key=lambda s: s.created_at)

    def add(
        self,
        source_id: str,
        *,
        name: str | None = None,
        carrier: str = "web",
        app_id: str | None = None,
        project: str | None = None,
        write_key: str | None = None,
        wechat_token: str | None = None,
        wechat_aes_key: str | None = None,
    ) -> Source:
        """Create a source with a new random write key (or the given one).

        An official-account source (carrier ``oa``) with ``wechat_token`` receives the
        account's server callbacks at ``/wechat/<source_id>``; ``wechat_aes_key`` (the
        43-character EncodingAESKey) enables compatible and safe mode.
        """
        if not _SOURCE_ID.match(source_id):
            raise SourceError(
                f"source id {source_id!r} must be 1-63 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit (e.g. miniprogram, app-ios)"
            )
        if carrier not in CARRIERS:
            raise SourceError(f"carrier {carrier!r} is not one of: {', '.join(sorted(CARRIERS))}")
        if wechat_token is not None and not _WECHAT_TOKEN.match(wechat_token):
            raise SourceError(
                "the WeChat token must be 3-32 letters or digits, as the official-account "
                "admin page (基本配置 > 服务器配置) requires"
            )
        if wechat_aes_key is not None and not _AES_KEY.match(wechat_aes_key):
            raise SourceError("the EncodingAESKey must be exactly 43 letters or digits")
        if (wechat_token or wechat_aes_key) and not app_id:
            raise SourceError("a WeChat callback source needs --app-id (the account's appid)")
        if wechat_aes_key and not wechat_token:
            raise SourceError("an EncodingAESKey needs the WeChat token too")
        key = write_key or secrets.token_urlsafe(24)
        if len(key) < 16:
            raise SourceError("a write key must be at least 16 characters long")
        if any(s.source_id == source_id for s in self._by_key.values()):
            raise SourceError(f"a source named {source_id!r} already exists")
        if key in self._by_key:
            raise SourceError("that write key is already used by another source")
        source = Source(
            source_id=source_id,
            name=name or source_id,
            write_key=key,
            carrier=carrier,
            app_id=app_id,
            project=project,
            created_at=datetime.now(UTC).replace(tzinfo=None),
            wechat_token=wechat_token,
            wechat_aes_key=wechat_aes_key,
        )
        with self._warehouse.transaction() as cur:
            cur.execute(
                f"INSERT INTO sources ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    source.source_id,
                    source.name,
                    source.write_key,
                    source.carrier,
                    source.app_id,
                    source.project,
                    source.created_at,
                    source.disabled,
                    source.wechat_token,
                    source.wechat_aes_key,
                ],
            )
        with self._lock:
            self._by_key[key] = source
            self._refresh_enabled()
        return source

    def set_disabled(self, source_id: str, disabled: bool) -> Source:
        match = [s for s in self._by_key.values() if s.source_id == source_id]
        if not match:
            raise SourceError(f"no source named {source_id!r}; `siyu sources list` shows them")
        with self._warehouse.transaction() as cur:
            cur.execute(
                "UPDATE sources SET disabled = ? WHERE source_id = ?", [disabled, source_id]
            )
        self.reload()
        return next(s for s in self._by_key.values() if s.source_id == source_id)
