"""Temporary tables an analytical run computes once and reads many times, on any engine.

Ibis's own ``Table.cache`` cannot drop what it made on DuckDB 2.0 (its ``DROP TABLE IF
EXISTS`` fails to parse), so the run materialises with each engine's native statement —
DuckDB ``CREATE TEMP TABLE … AS``, Spark ``CACHE TABLE … AS`` — and drops it itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import ibis
import ibis.expr.types as ir

_CREATE: Final = {
    "duckdb": "CREATE OR REPLACE TEMP TABLE {name} AS {sql}",
    "pyspark": "CACHE TABLE {name} AS {sql}",
}
_DROP: Final = {
    "duckdb": ("DROP TABLE {name}",),
    "pyspark": ("UNCACHE TABLE {name}", "DROP VIEW {name}"),
}


class TempTables:
    """Materialises expressions on one Ibis connection; `drop_all` removes them."""

    def __init__(self, con: Any) -> None:
        if con.name not in _CREATE:
            raise ValueError(f"no temporary tables for the {con.name!r} backend")
        self.con = con
        self.names: list[str] = []

    def materialise(self, expr: ir.Table, label: str = "t") -> ir.Table:
        """``expr`` computed now into a temporary table; the table to read instead."""
        name = f"_siyu_{label}_{uuid.uuid4().hex[:8]}"
        sql = ibis.to_sql(expr, dialect=self.con.name)
        self._run(_CREATE[self.con.name].format(name=name, sql=sql))
        self.names.append(name)
        return self.con.table(name)

    def drop_all(self) -> None:
        while self.names:
            name = self.names.pop()
            for statement in _DROP[self.con.name]:
                self._run(statement.format(name=name))

    def _run(self, sql: str) -> None:
        # DuckDB answers with the connection itself: never close what comes back.
        self.con.raw_sql(sql)


@contextmanager
def temp_tables(con: Any) -> Iterator[TempTables]:
    """Temporary tables that are dropped when the block ends."""
    tables = TempTables(con)
    try:
        yield tables
    finally:
        tables.drop_all()
