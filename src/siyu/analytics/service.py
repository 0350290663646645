"""The one entry point of the analytics: ``run(runtime, name, body)``.

Two kinds of names. An *analysis* (``funnel``, ``retention`` ...) is read-only: its
module has a pydantic ``Request`` and ``analyse(ctx, request) -> dict``; ``run``
validates the body, builds the `Context` and returns chart-shaped JSON. An *operation*
(``experiment.save``, ``clv.fit`` ...) may write: ``function(runtime, **body)``. The API
(``POST /admin/v1/analytics/{name}``), the console and the CLI all call ``run``.
"""

from __future__ import annotations

import importlib
import inspect
import math
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from siyu.analytics.exceptions import InvalidRequest, UnknownAnalysis
from siyu.analytics.scope import Context, context_from

if TYPE_CHECKING:
    from siyu.runtime import Runtime

#: Read-only analyses: name -> module (with ``Request`` and ``analyse``).
ANALYSES: Final[dict[str, str]] = {
    "overview": "siyu.analytics.overview",
}

#: Operations that may write: name -> "module:function" called as f(runtime, **body).
OPERATIONS: Final[dict[str, str]] = {}


#: Operation name endings that only read (listings, one definition).
READ_OPERATIONS: Final = (".list", ".show")


def changes(name: str) -> bool:
    """Whether ``name`` is an operation that may write (analyses only read)."""
    return name in OPERATIONS and not name.endswith(READ_OPERATIONS)


def names() -> list[str]:
    return sorted([*ANALYSES, *OPERATIONS])


def run(runtime: Runtime, name: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Answer ``name`` for ``body`` (a JSON object); raises `InvalidRequest` on bad input."""
    body = dict(body or {})
    if name in OPERATIONS:
        where, _, function = OPERATIONS[name].partition(":")
        fn = getattr(importlib.import_module(where), function)
        try:
            inspect.signature(fn).bind(runtime, **body)
        except TypeError as exc:
            # A misspelt or missing argument: say which, not a traceback.
            raise InvalidRequest("", f"{name}: {exc}") from None
        return dict(jsonable(fn(runtime, **body)))
    if name not in ANALYSES:
        raise UnknownAnalysis(f"no analysis {name!r}; choose one of {', '.join(names())}")
    module: Any = importlib.import_module(ANALYSES[name])
    today = _today(runtime, body.pop("today", None))
    request = parse_request(module.Request, body)
    started = time.perf_counter()
    ctx = context_from(runtime.warehouse.ibis(), today=today, tz=runtime.settings.timezone)
    result: dict[str, Any] = module.analyse(ctx, request)
    result.setdefault("analysis", name)
    result.setdefault("as_of", today.isoformat())
    result["seconds"] = round(time.perf_counter() - started, 3)
    answer: dict[str, Any] = jsonable(result)
    return answer


def analyse_with(ctx: Context, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``name`` over an existing context (tests run it on DuckDB and on Spark)."""
    module: Any = importlib.import_module(ANALYSES[name])
    request = parse_request(module.Request, dict(body))
    answer: dict[str, Any] = jsonable(module.analyse(ctx, request))
    return answer


def parse_request(model: Any, body: Mapping[str, Any]) -> Any:
    """``model`` validated from ``body``; the first problem as `InvalidRequest`."""
    try:
        return model.model_validate(dict(body))
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = f"unknown field; the request takes {', '.join(_fields(model))}"
        raise InvalidRequest(field, message) from None
    except InvalidRequest:
        raise


def _fields(model: Any) -> list[str]:
    return sorted(f.alias or n for n, f in model.model_fields.items())


def today_of(runtime: Runtime) -> date:
    """The local date now, in the project time zone."""
    return datetime.now(UTC).astimezone(runtime.settings.tz).date()


def _today(runtime: Runtime, value: Any) -> date:
    if value is None:
        return today_of(runtime)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest("today", f"{value!r} is not a date (YYYY-MM-DD)") from None


def jsonable(value: Any) -> Any:
    """``value`` with dates as ISO text, numpy and Decimal numbers as Python numbers and
    NaN / infinity as null, so any result serialises as JSON."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return jsonable(tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
