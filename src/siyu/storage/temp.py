"""Temporary tables an analytical run computes once and reads many times, on any engine.

Ibis's own ``Table.cache`` cannot drop what it made on DuckDB 2.0 (its ``DROP TABLE IF
EXISTS`` fails to parse), so the run materialises with each engine's own means and drops
it itself: DuckDB ``CREATE TEMP TABLE … AS``; Spark a persisted DataFrame registered as a
temporary view. (Spark's ``CACHE TABLE … AS`` would cache the query, but its cache lookup
misses any query with a ``WITH`` clause — Spark numbers the CTEs anew at each analysis — so
later reads recomputed everything; the view over the persisted DataFrame always hits.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import ibis
import ibis.expr.types as ir


def _duckdb_create(con: Any, name: str, sql: str) -> Any:
    # DuckDB answers with the connection itself: never close what comes back.
    con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    return None


def _duckdb_drop(con: Any, name: str, handle: Any) -> None:
    con.raw_sql(f"DROP TABLE {name}")


def _spark_create(con: Any, name: str, sql: str) -> Any:
    frame = con.raw_sql(sql)
    frame.persist()
    frame.count()  # computed now, not at the first read
    frame.createOrReplaceTempView(name)
    return frame


def _spark_drop(con: Any, name: str, handle: Any) -> None:
    con.raw_sql(f"DROP VIEW {name}")
    handle.unpersist()


#: engine -> (create(con, name, sql) -> handle, drop(con, name, handle)).
_ENGINES: Final[
    dict[str, tuple[Callable[[Any, str, str], Any], Callable[[Any, str, Any], None]]]
] = {
    "duckdb": (_duckdb_create, _duckdb_drop),
    "pyspark": (_spark_create, _spark_drop),
}


class TempTables:
    """Materialises expressions on one Ibis connection; `drop_all` removes them."""

    def __init__(self, con: Any) -> None:
        if con.name not in _ENGINES:
            raise ValueError(f"no temporary tables for the {con.name!r} backend")
        self.con = con
        self.names: list[str] = []
        self._handles: dict[str, Any] = {}

    def materialise(self, expr: ir.Table, label: str = "t") -> ir.Table:
        """``expr`` computed now into a temporary table; the table to read instead."""
        name = f"_siyu_{label}_{uuid.uuid4().hex[:8]}"
        sql = ibis.to_sql(expr, dialect=self.con.name)
        create, _ = _ENGINES[self.con.name]
        self._handles[name] = create(self.con, name, sql)
        self.names.append(name)
        return self.con.table(name)

    def drop_all(self) -> None:
        _, drop = _ENGINES[self.con.name]
        while self.names:
            name = self.names.pop()
            drop(self.con, name, self._handles.pop(name))


@contextmanager
def temp_tables(con: Any) -> Iterator[TempTables]:
    """Temporary tables that are dropped when the block ends."""
    tables = TempTables(con)
    try:
        yield tables
    finally:
        tables.drop_all()
