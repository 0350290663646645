"""The items of a JSON array as a native array of text: one builtin per engine.

Ibis 12 cannot unnest JSON arrays portably (see `siyu.identity.profiles`), but both
engines can turn JSON array text into an array of item texts natively: DuckDB with the
path wildcard ``$[*]`` (items as JSON), Spark with ``from_json`` to ``array<string>``
(objects as JSON text). Unnested, the items are objects `Dialect.json_text` reads the
same way on both; an item that is not an object yields null members on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import ibis
import ibis.expr.types as ir

from siyu.segments.dialect import Dialect


@ibis.udf.scalar.builtin(name="json_extract")  # type: ignore[untyped-decorator]
def _duckdb_items(doc: str, path: str) -> list[str]:  # type: ignore[empty-body]
    """DuckDB: every item of a JSON array, as JSON."""


@ibis.udf.scalar.builtin(name="from_json")  # type: ignore[untyped-decorator]
def _spark_items(doc: str, schema: str) -> list[str]:  # type: ignore[empty-body]
    """Spark: a JSON array parsed to strings (objects keep their JSON text)."""


_READERS: Final[dict[str, Callable[[ir.StringValue], ir.ArrayValue]]] = {
    "duckdb": lambda doc: _duckdb_items(doc, "$[*]"),
    "pyspark": lambda doc: _spark_items(doc, "array<string>"),
}


def json_array_items(dialect: Dialect, doc: ir.StringValue) -> ir.ArrayValue:
    """The items of JSON array text ``doc``, each as text `Dialect.json_text` can read.

    Unnest the result, then read members with ``dialect.json_text(item, key)``.
    """
    return _READERS[dialect.name](doc)
