"""Storage errors."""

from __future__ import annotations

from siyu.exceptions import SiyuError


class StorageError(SiyuError):
    """Base class for storage errors."""


class StorageLocked(StorageError):
    """Another process holds the DuckDB file for writing."""


class SchemaTooNew(StorageError):
    """The data directory was written by a newer siyu than this one."""


class SealBroken(StorageError):
    """A sealed personal value does not open with the configured key."""
