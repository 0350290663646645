"""Storage: the DuckDB warehouse, its schema, and the Spark backend over the same tables.

The only package that opens database connections.
"""

from siyu.storage.warehouse import AppendResult, Warehouse

__all__ = ["AppendResult", "Warehouse"]
