"""What differs between the engines, as class-level facts (never ``if engine ==`` in logic).

Reading one member of a JSON text column is the one operation Ibis 12 cannot express
portably: ``JSONGetItem`` keeps strings quoted on DuckDB and unquotes them on Spark, and
Spark's ``unwrap_json_str`` UDF then fails on the unquoted text. Both engines have a
native function with the same answer (the member as text: strings unquoted, numbers and
booleans as written, null when missing), so each dialect names its own, called as an
Ibis builtin UDF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

#: Property keys the dialects can address: letters (any script), digits, ``_``, ``$``, ``-``.
PROPERTY_KEY: Final = re.compile(r"^[\w$-]{1,128}$")


def _json_text_builtin(name: str) -> Any:
    """The engine's native function ``name(doc, path) -> text`` as an Ibis builtin."""
    return ibis.udf.scalar.builtin(name=name, signature=((dt.string, dt.string), dt.string))(
        lambda doc, path: None
    )


_duckdb_json_text: Final = _json_text_builtin("json_extract_string")
_spark_json_text: Final = _json_text_builtin("get_json_object")


def _json_items_builtin(name: str) -> Any:
    """The engine's native ``name(doc, arg) -> array<text>`` as an Ibis builtin."""
    signature = ((dt.string, dt.string), dt.Array(dt.string))
    return ibis.udf.scalar.builtin(name=name, signature=signature)(lambda doc, arg: None)


#: DuckDB: every item of a JSON array, as JSON (path wildcard ``$[*]``).
_duckdb_json_items: Final = _json_items_builtin("json_extract")
#: Spark: a JSON array parsed to strings (objects keep their JSON text).
_spark_json_items: Final = _json_items_builtin("from_json")


@dataclass(frozen=True)
class Dialect:
    """One engine's spelling of the operations Ibis cannot make portable."""

    name: str
    json_function: Any
    #: ``{key}`` becomes the property name in a JSON path.
    path_template: str
    #: ``items_function(doc, items_argument)``: a JSON array's items as texts.
    items_function: Any
    items_argument: str

    def json_text(self, doc: ir.StringValue, key: str) -> ir.StringValue:
        """The top-level member ``key`` of JSON text ``doc``, as text (null when absent).

        Example:
            >>> DUCKDB.json_text(ibis.literal('{"a": 1}'), "a").type()
            String(nullable=True)
        """
        if not PROPERTY_KEY.match(key):
            raise ValueError(f"property key {key!r} has characters a JSON path cannot carry")
        result: ir.StringValue = self.json_function(doc, self.path_template.format(key=key))
        return result

    def json_items(self, doc: ir.StringValue) -> ir.ArrayValue:
        """The items of JSON array text ``doc``, each as text `json_text` can read.

        Ibis 12 cannot unnest JSON arrays portably (see `siyu.identity.profiles`); both
        engines can natively. An item that is not an object yields null members on both.
        """
        items: ir.ArrayValue = self.items_function(doc, self.items_argument)
        return items

    def json_number(self, doc: ir.StringValue, key: str) -> ir.FloatingValue:
        """The member as a float64, null when absent or not a number."""
        number: ir.FloatingValue = self.json_text(doc, key).try_cast("float64")
        return number


DUCKDB: Final = Dialect("duckdb", _duckdb_json_text, '$."{key}"', _duckdb_json_items, "$[*]")
SPARK: Final = Dialect(
    "pyspark", _spark_json_text, "$['{key}']", _spark_json_items, "array<string>"
)
_DIALECTS: Final = {d.name: d for d in (DUCKDB, SPARK)}


def dialect_of(con: Any) -> Dialect:
    """The dialect of an Ibis backend connection (``duckdb`` or ``pyspark``)."""
    try:
        return _DIALECTS[con.name]
    except KeyError:
        raise ValueError(f"no segment dialect for the {con.name!r} backend") from None


def utc_midnight(day: date, tz: str) -> datetime:
    """The UTC instant (naive, like stored timestamps) at which local ``day`` starts.

    Example:
        >>> utc_midnight(date(2024, 1, 2), "Asia/Shanghai")
        datetime.datetime(2024, 1, 1, 16, 0)
    """
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).replace(tzinfo=None)
