"""The one entry point of the analytics: ``run(runtime, name, body)``.

Two kinds of names. An *analysis* (``funnel``, ``retention`` ...) is read-only: its
module has a pydantic ``Request`` and ``analyse(ctx, request) -> dict``; ``run``
validates the body, builds the `Context` and returns chart-shaped JSON. An *operation*
(``experiment.save``, ``clv.fit`` ...) may write: ``function(runtime, **body)``. The API
(``POST /admin/v1/analytics/{name}``), the console and the CLI all call ``run``.
Analysis answers are kept a short while (`siyu.analytics.answer_cache`); operations that
write clear them.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import orjson
from pydantic import ValidationError

from siyu.analytics.answer_cache import data_version
from siyu.analytics.exceptions import InvalidRequest, UnknownAnalysis
from siyu.analytics.scope import Context, context_from

if TYPE_CHECKING:
    from siyu.runtime import Runtime

#: Read-only analyses: name -> module (with ``Request`` and ``analyse``).
ANALYSES: Final[dict[str, str]] = {
    "funnel": "siyu.analytics.funnel",
    "overview": "siyu.analytics.overview",
    "layers": "siyu.analytics.layers",
    "attribution": "siyu.analytics.attribution",
    "referral": "siyu.analytics.referral",
    "retention": "siyu.analytics.retention",
    "lifecycle": "siyu.analytics.lifecycle_flow",
    "clv": "siyu.analytics.clv",
    "experiment": "siyu.analytics.experiment_results",
}

#: Operations that may write: name -> "module:function" called as f(runtime, **body).
OPERATIONS: Final[dict[str, str]] = {
    "costs.add": "siyu.analytics.costs:add",
    "costs.list": "siyu.analytics.costs:list_costs",
    "costs.remove": "siyu.analytics.costs:remove",
    "clv.fit": "siyu.analytics.clv:fit",
    "clv.score": "siyu.analytics.clv:score",
    "clv.list": "siyu.analytics.clv:fits",
    "experiment.save": "siyu.analytics.experiments:save",
    "experiment.list": "siyu.analytics.experiments:list_all",
    "experiment.show": "siyu.analytics.experiments:show",
    "experiment.start": "siyu.analytics.experiments:start",
    "experiment.stop": "siyu.analytics.experiments:stop",
    "experiment.assign": "siyu.analytics.experiments:assign",
}


#: Operation name endings that only read (listings, one definition).
READ_OPERATIONS: Final = (".list", ".show")


def changes(name: str) -> bool:
    """Whether ``name`` is an operation that may write (analyses only read)."""
    return name in OPERATIONS and not name.endswith(READ_OPERATIONS)


def names() -> list[str]:
    return sorted([*ANALYSES, *OPERATIONS])


def run(
    runtime: Runtime, name: str, body: Mapping[str, Any] | None = None, *, actor: str = "api"
) -> dict[str, Any]:
    """Answer ``name`` for ``body`` (a JSON object); raises `InvalidRequest` on bad input.

    Operations that record who acted get ``actor`` (the signed-in user, ``cli``), never a
    value from the body.
    """
    body = dict(body or {})
    if name in OPERATIONS:
        where, _, function = OPERATIONS[name].partition(":")
        fn = getattr(importlib.import_module(where), function)
        signature = inspect.signature(fn)
        if "actor" in signature.parameters:
            body["actor"] = actor
        try:
            signature.bind(runtime, **body)
        except TypeError as exc:
            # A misspelt or missing argument: name it and the fields there are.
            found = re.search(r"'(\w+)'", str(exc))
            takes = ", ".join(p for p in list(signature.parameters)[1:] if p != "actor")
            raise InvalidRequest(
                found.group(1) if found else "", f"{exc}; {name} takes {takes}"
            ) from None
        done = dict(jsonable(fn(runtime, **body)))
        if changes(name):
            runtime.answers.clear()
        return done
    if name not in ANALYSES:
        raise UnknownAnalysis(f"no analysis {name!r}; choose one of {', '.join(names())}")
    module: Any = importlib.import_module(ANALYSES[name])
    today = _today(runtime, body.pop("today", None))
    request = parse_request(module.Request, body)

    def analyse() -> dict[str, Any]:
        started = time.perf_counter()
        ctx = context_from(runtime.warehouse.ibis(), today=today, tz=runtime.settings.timezone)
        result: dict[str, Any] = module.analyse(ctx, request)
        result.setdefault("analysis", name)
        result.setdefault("as_of", today.isoformat())
        result["seconds"] = round(time.perf_counter() - started, 3)
        answer: dict[str, Any] = jsonable(result)
        return answer

    key = (name, today, orjson.dumps(jsonable(body), option=orjson.OPT_SORT_KEYS))
    return runtime.answers.answer(key, lambda: data_version(runtime.warehouse), analyse)


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
        if not field and message.startswith("from ("):
            field = "from"  # the date-range check of AnalysisRequest spans two fields
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
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return jsonable(tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
