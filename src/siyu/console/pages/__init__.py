"""The console's pages; importing a module registers its pages with NiceGUI."""

from __future__ import annotations

import importlib
from typing import Final

MODULES: Final = (
    "login",
    "overview",
    "persons",
    "segments",
    "layers",
    "funnels",
    "retention",
    "referral",
    "attribution",
    "experiments",
    "churn",
    "sources",
    "users",
)


def register() -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
