"""Analytics commands: `siyu funnel`, `retention`, `lifecycle`, `attribution`,
`referral`, `experiment …`, `clv …`.

Each module here adds its commands with ``register(app)``. They are thin: they build the
same JSON request the API takes, send it through the backend (this process, or the
running `siyu serve`) and print the answer as a table and chart-like bars, or as JSON
with ``--json``.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Final

import typer

from siyu.cli.output import fail, print_json
from siyu.exceptions import SiyuError

#: Modules of this package that register commands (each has ``register(app)``).
MODULES: Final[tuple[str, ...]] = (
    "clv",
    "experiment",
    "retention",
    "lifecycle",
    "funnel",
    "attribution",
    "referral",
)

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="first local day, YYYY-MM-DD (included)")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="last local day, YYYY-MM-DD (included)")]
SegmentOpt = Annotated[
    str | None, typer.Option("--segment", help="only persons now in this segment or set key")
]
TodayOpt = Annotated[
    str | None,
    typer.Option("--today", help="evaluate as of this local day (default: today)", hidden=True),
]


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(app)


def request(**fields: Any) -> dict[str, Any]:
    """The API request body: options left out are not sent (the server's defaults apply)."""
    return {k: v for k, v in fields.items() if v is not None}


def analyse(name: str, body: dict[str, Any], *, json_out: bool) -> dict[str, Any] | None:
    """Run ``name`` through the backend. With ``json_out`` print the answer and return
    None; otherwise return it for the command to render. Errors exit with their message."""
    from siyu.cli.main import _backend

    with _backend() as backend:
        try:
            result = backend.analyse(name, body)
        except SiyuError as exc:
            fail(str(exc))
            raise AssertionError from exc
    if json_out:
        print_json(result)
        return None
    return result


def bar(share: float | None, width: int = 30) -> str:
    """A text bar for a share in [0, 1] (terminals without charts)."""
    if share is None:
        return ""
    filled = max(0, min(width, round(share * width)))
    return "█" * filled + "·" * (width - filled)
