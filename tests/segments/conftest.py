"""Fixtures of the segment tests: a warehouse, and the WeChat API stand-in on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from siyu.storage import Warehouse
from tests.wechat_standin import WeChatStandin, running_standin


@pytest.fixture
def warehouse() -> Iterator[Warehouse]:
    """A throw-away in-memory warehouse at the current schema."""
    wh = Warehouse.in_memory()
    yield wh
    wh.close()


@pytest.fixture
def wechat() -> Iterator[WeChatStandin]:
    """The WeChat / WeCom API stand-in, serving on 127.0.0.1 for one test."""
    with running_standin() as standin:
        yield standin
