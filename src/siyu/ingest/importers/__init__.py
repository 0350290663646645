"""``siyu import events|users|orders FILE``: bulk loads from CSV, JSON Lines and Parquet.

Validation is set-based in DuckDB; bad rows go to the quarantine with a reason, good
rows to ``events`` (users become ``profile_set`` events) or ``orders``. Re-importing a
file stores nothing twice. See docs/importing.md.
"""

from siyu.ingest.importers.columns import (
    CANONICAL,
    EVENT_COLUMNS,
    ORDER_COLUMNS,
    REQUIRED,
    USER_COLUMNS,
    USER_IDENTITY_COLUMNS,
    ImportKind,
    parse_mapping,
)
from siyu.ingest.importers.run import ImportSummary, run_import, run_import_job

__all__ = [
    "CANONICAL",
    "EVENT_COLUMNS",
    "ORDER_COLUMNS",
    "REQUIRED",
    "USER_COLUMNS",
    "USER_IDENTITY_COLUMNS",
    "ImportKind",
    "ImportSummary",
    "parse_mapping",
    "run_import",
    "run_import_job",
]
