"""Run one import: read the file, validate set-based, write good rows and quarantine.

Personal ids (phone, email) are sealed once per distinct value before validating
(`sealed_ids`). Then one of two ways of loading, as `Warehouse.event_loader` decides:

* small loads (and every orders file): the validating query streams Arrow batches from
  one cursor; each batch is written in its own short transaction (holding the warehouse
  write lock only while it writes), so the collector keeps committing between batches;
* bulk loads (large files into a table that is not much bigger): one
  ``INSERT ... SELECT`` of the validating query on the loading transaction's cursor, no
  round trip through Arrow, progress from DuckDB's own estimate; rejected rows are read
  by a second pass only when there are some.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from siyu.ingest.collector import MAX_QUARANTINE_PAYLOAD
from siyu.ingest.exceptions import ImportFailed
from siyu.ingest.importers.columns import (
    KINDS,
    ColumnPlan,
    ImportKind,
    parse_mapping,
    plan_columns,
)
from siyu.ingest.importers.events import events_query, identity_values, users_query
from siyu.ingest.importers.expressions import literal
from siyu.ingest.importers.orders import orders_query
from siyu.ingest.importers.reading import (
    SOURCE_VIEW,
    SourceFile,
    check_readable,
    detect_format,
    open_source,
    read_error,
)
from siyu.ingest.importers.sealed_ids import VIEW_PREFIX, register_sealed
from siyu.progress import Progress, no_progress
from siyu.runtime import Runtime
from siyu.storage import Warehouse
from siyu.storage.sealing import seal_identities
from siyu.storage.warehouse import EVENT_COLUMNS, EventLoad

#: Rows per write transaction: big enough to amortise index maintenance, small enough
#: that the collector (which shares the write lock) waits a few seconds at most.
CHUNK_ROWS: Final = 1_000_000
TOP_REASONS: Final = 20
_ORDER_UPDATABLE: Final = (
    "member_id",
    "user_id",
    "identities",
    "paid_at",
    "amount_fen",
    "refund_fen",
    "status",
    "items",
    "coupon_code",
    "channel",
    "carrier",
    "properties",
)


@dataclass(frozen=True)
class ImportSummary:
    """What one import did; ``rows_total`` = accepted + duplicate + rejected (+ updated)."""

    import_id: str
    kind: str
    path: str
    format: str
    rows_total: int
    rows_accepted: int
    rows_duplicate: int
    rows_rejected: int
    rejections_by_reason: dict[str, int]
    seconds: float
    already_imported: bool
    rows_updated: int = 0
    extra_columns: tuple[str, ...] = field(default_factory=tuple)

    def public(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict."""
        out = asdict(self)
        out["extra_columns"] = list(self.extra_columns)
        return out


@dataclass
class _Tally:
    total: int = 0
    accepted: int = 0
    updated: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def run_import(
    warehouse: Warehouse,
    kind: Literal["events", "users", "orders"],
    path: Path,
    *,
    mapping: Mapping[str, str] | list[str] | None = None,
    fmt: str | None = None,
    source_id: str = "import",
    tz: str = "Asia/Shanghai",
    progress: Progress = no_progress,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportSummary:
    """Import ``path`` as ``kind`` into ``warehouse``; see docs/importing.md.

    Text times without an offset are read in ``tz`` (the project time zone). Raises
    `ImportFailed` when the file cannot be read at all; bad rows are quarantined.
    """
    started = time.perf_counter()
    if kind not in KINDS:
        raise ImportFailed(f"unknown import kind {kind!r}; use one of: {', '.join(KINDS)}")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImportFailed(
            f"unknown time zone {tz!r}; use an IANA name such as Asia/Shanghai"
        ) from None
    path = Path(path)
    check_readable(path)
    file_format = detect_format(path, fmt)
    renames = parse_mapping(mapping)
    progress("hashing", 0)
    sha256 = _sha256(path)
    import_id = uuid.uuid4().hex[:16]
    now = datetime.now(UTC).replace(tzinfo=None)

    reader = warehouse.cursor()
    try:
        reader.execute(f"SET TimeZone = {literal(tz)}")
        src = open_source(reader, path, file_format)
        plan = plan_columns(kind, list(src.columns), renames)
        already = _already_imported(warehouse, sha256, kind)
        _record_start(warehouse, import_id, kind, path, sha256, file_format, now)
        total = _count_rows(reader)
        tally = _Tally()
        progress("importing", 0, total)
        context = _Context(kind, plan, import_id, now, source_id, tz, path, file_format, chunk_rows)
        try:
            expected = 0 if kind == "orders" else total
            with warehouse.event_loader(expected) as load:
                if load.cursor is not None:
                    _load_in_place(warehouse, load, context, total, tally, progress)
                else:
                    _load_batches(warehouse, load, reader, src, context, total, tally, progress)
                if expected:
                    progress("indexing", tally.total, total)
            if kind != "orders":
                tally.accepted = load.inserted
                tally.duplicate = load.appended - load.inserted
        except duckdb.Error as exc:
            raise read_error(path, file_format, exc) from None
    except ImportFailed as exc:
        _record_failure(warehouse, import_id, str(exc))
        raise
    finally:
        reader.close()

    _record_finish(warehouse, import_id, tally)
    return ImportSummary(
        import_id=import_id,
        kind=kind,
        path=str(path),
        format=file_format,
        rows_total=tally.total,
        rows_accepted=tally.accepted,
        rows_duplicate=tally.duplicate,
        rows_rejected=tally.rejected,
        rejections_by_reason=dict(tally.reasons.most_common(TOP_REASONS)),
        seconds=round(time.perf_counter() - started, 3),
        already_imported=already,
        rows_updated=tally.updated,
        extra_columns=plan.extras,
    )


def run_import_job(runtime: Runtime, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The ``import`` job (see `siyu.jobs`): args ``kind``, ``path``, ``mapping``, ``format``."""
    kind = args.get("kind")
    if kind not in KINDS:
        raise ImportFailed(f"import kind must be one of {', '.join(KINDS)}, got {kind!r}")
    path = args.get("path")
    if not isinstance(path, str) or not path:
        raise ImportFailed("an import job needs `path`, the file to import")
    fmt = args.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise ImportFailed(f"format must be a string such as csv, got {fmt!r}")
    summary = run_import(
        runtime.warehouse,
        kind,
        Path(path),
        mapping=args.get("mapping"),
        fmt=fmt,
        source_id=str(args.get("source_id") or "import"),
        tz=runtime.settings.timezone,
        progress=progress,
    )
    return summary.public()


# -- loading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What both ways of loading need to know about one import."""

    kind: ImportKind
    plan: ColumnPlan
    import_id: str
    now: datetime
    source_id: str
    tz: str
    path: Path
    format: str
    chunk_rows: int


def _load_batches(
    warehouse: Warehouse,
    load: EventLoad,
    reader: duckdb.DuckDBPyConnection,
    src: SourceFile,
    ctx: _Context,
    total: int,
    tally: _Tally,
    progress: Progress,
) -> None:
    """Validate on ``reader`` and write Arrow batches, each in its own transaction."""
    query, params = _validating_query(warehouse, reader, src, ctx)
    for batch in reader.sql(query, params=params).to_arrow_reader(ctx.chunk_rows):
        table = pa.Table.from_batches([batch])
        _write_batch(warehouse, load, ctx.kind, table, ctx.import_id, ctx.now, tally)
        progress("importing", tally.total, total)


def _load_in_place(
    warehouse: Warehouse,
    load: EventLoad,
    ctx: _Context,
    total: int,
    tally: _Tally,
    progress: Progress,
) -> None:
    """A bulk load: one INSERT ... SELECT on the loading transaction's own cursor.

    The file is opened again on that cursor (temporary views belong to a connection).
    Rejected rows are read by a second pass only when there are some.
    """
    cur = load.cursor
    assert cur is not None
    zone = cur.execute("SELECT current_setting('TimeZone')").fetchone()
    cur.execute(f"SET TimeZone = {literal(ctx.tz)}")
    try:
        src = open_source(cur, ctx.path, ctx.format)
        query, params = _validating_query(warehouse, cur, src, ctx)
        row = cur.execute(f"SELECT coalesce(max(_row), -1) + 1 FROM {SOURCE_VIEW}").fetchone()
        span = int(row[0]) if row else 0
        with _progress_of(cur, progress, total):
            good = load.append_validated(query, params, span)
        tally.total += good
        if good < total:
            rejected = cur.sql(
                f"SELECT * FROM ({query}) WHERE reason IS NOT NULL", params=params
            ).to_arrow_table()
            _write_batch(warehouse, load, ctx.kind, rejected, ctx.import_id, ctx.now, tally)
        progress("importing", tally.total, total)
    finally:
        # The loading cursor outlives the import: leave nothing of the file on it.
        cur.execute(f"DROP VIEW IF EXISTS {SOURCE_VIEW}")
        cur.execute("DROP TABLE IF EXISTS _siyu_lines")
        for n in range(len(ctx.plan.identities)):
            with suppress(duckdb.Error):
                cur.unregister(f"{VIEW_PREFIX}{n}")
        cur.execute(f"SET TimeZone = {literal(str(zone[0]) if zone else 'UTC')}")


def _validating_query(
    warehouse: Warehouse, cur: duckdb.DuckDBPyConnection, src: SourceFile, ctx: _Context
) -> tuple[str, dict[str, Any]]:
    """The validating query over ``cur``'s source view, personal ids sealed first."""
    try:
        sealed = register_sealed(
            cur, identity_values(ctx.plan, src), ctx.plan.identities, warehouse.sealer
        )
    except duckdb.Error as exc:
        raise read_error(ctx.path, ctx.format, exc) from None
    build = {"events": events_query, "users": users_query, "orders": orders_query}[ctx.kind]
    query = build(ctx.plan, src, sealed)
    params: dict[str, Any] = {
        "now": ctx.now,
        "source_id": ctx.source_id,
        "import_id": ctx.import_id,
    }
    return query, {k: v for k, v in params.items() if f"${k}" in query}


@contextmanager
def _progress_of(cur: duckdb.DuckDBPyConnection, progress: Progress, total: int) -> Iterator[None]:
    """Report the running statement's progress (DuckDB's estimate) every half second."""
    cur.execute("SET enable_progress_bar = true")
    cur.execute("SET enable_progress_bar_print = false")
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.5):
            share = cur.query_progress()
            if share >= 0:
                progress("importing", int(total * min(share, 100.0) / 100), total)

    thread = threading.Thread(target=poll, name="siyu-import-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        cur.execute("RESET enable_progress_bar")
        cur.execute("RESET enable_progress_bar_print")


# -- writing ---------------------------------------------------------------------------


def _write_batch(
    warehouse: Warehouse,
    load: EventLoad,
    kind: ImportKind,
    batch: pa.Table,
    import_id: str,
    now: datetime,
    tally: _Tally,
) -> None:
    rejected_mask = pc.is_valid(batch["reason"])
    n_rejected = pc.sum(rejected_mask).as_py() or 0
    good = batch.filter(pc.invert(rejected_mask)) if n_rejected else batch
    tally.total += batch.num_rows
    tally.rejected += n_rejected
    if n_rejected:
        for item in pc.value_counts(batch.filter(rejected_mask)["reason_key"]).to_pylist():
            tally.reasons[str(item["values"])] += int(item["counts"])
    if kind == "orders":
        _write_orders(warehouse, good, tally)
    elif good.num_rows:
        load.append(good.select(EVENT_COLUMNS))
    if n_rejected:
        _write_quarantine(warehouse, batch.filter(rejected_mask), kind, import_id, now)


def _write_orders(warehouse: Warehouse, good: pa.Table, tally: _Tally) -> None:
    """Upsert orders: new ids are inserted, changed ones updated, unchanged ones skipped."""
    n = good.num_rows
    if not n:
        return
    changed = " OR ".join(f"orders.{c} IS DISTINCT FROM excluded.{c}" for c in _ORDER_UPDATABLE)
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in (*_ORDER_UPDATABLE, "import_id", "loaded_at")
    )
    good = seal_identities(good, warehouse.sealer)
    with warehouse.transaction() as cur:
        cur.register("_siyu_batch", good)
        # The last row of an order id in the file wins.
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE _siyu_orders AS SELECT * EXCLUDE (_row, reason, "
            "reason_key, payload) FROM _siyu_batch QUALIFY row_number() OVER "
            "(PARTITION BY order_id ORDER BY _row DESC) = 1"
        )
        new = _count(
            cur.execute(
                "SELECT count(*) FROM _siyu_orders b "
                "WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = b.order_id)"
            )
        )
        written = _count(
            cur.execute(
                f"INSERT INTO orders BY NAME SELECT * FROM _siyu_orders "
                f"ON CONFLICT (order_id) DO UPDATE SET {updates} WHERE {changed}"
            )
        )
        warehouse.number_new_orders(cur)
        cur.execute("DROP TABLE _siyu_orders")
        cur.unregister("_siyu_batch")
    tally.accepted += new
    tally.updated += written - new
    tally.duplicate += n - written


def _write_quarantine(
    warehouse: Warehouse, rejected: pa.Table, kind: str, import_id: str, now: datetime
) -> None:
    """Rejected rows, keyed by a hash of kind, position and content (re-imports add none)."""
    with warehouse.transaction() as cur:
        cur.register("_siyu_rejected", rejected.select(["_row", "reason", "payload"]))
        cur.execute(
            """
            INSERT OR IGNORE INTO quarantine
            SELECT md5(concat_ws('|', 'import', $kind, _row, payload)), $now,
                   $source_id, 'import', reason, CAST(_row AS INTEGER),
                   left(payload, $limit), strlen(payload), strlen(payload) > $limit
            FROM _siyu_rejected
            """,
            {
                "kind": kind,
                "now": now,
                "source_id": f"import:{import_id}",
                "limit": MAX_QUARANTINE_PAYLOAD,
            },
        )
        cur.unregister("_siyu_rejected")


# -- the imports table -----------------------------------------------------------------


def _record_start(
    warehouse: Warehouse,
    import_id: str,
    kind: str,
    path: Path,
    sha256: str,
    file_format: str,
    now: datetime,
) -> None:
    with warehouse.transaction() as cur:
        cur.execute(
            "INSERT INTO imports (import_id, kind, path, file_sha256, format, started_at, status)"
            " VALUES (?, ?, ?, ?, ?, ?, 'running')",
            [import_id, kind, str(path.resolve()), sha256, file_format, now],
        )


def _record_finish(warehouse: Warehouse, import_id: str, tally: _Tally) -> None:
    with warehouse.transaction() as cur:
        cur.execute(
            "UPDATE imports SET finished_at = ?, rows_total = ?, rows_accepted = ?, "
            "rows_duplicate = ?, rows_rejected = ?, status = 'done' WHERE import_id = ?",
            [
                datetime.now(UTC).replace(tzinfo=None),
                tally.total,
                tally.accepted + tally.updated,
                tally.duplicate,
                tally.rejected,
                import_id,
            ],
        )


def _record_failure(warehouse: Warehouse, import_id: str, error: str) -> None:
    with warehouse.transaction() as cur:
        cur.execute(
            "UPDATE imports SET finished_at = ?, status = 'failed', error = ? WHERE import_id = ?",
            [datetime.now(UTC).replace(tzinfo=None), error, import_id],
        )


def _already_imported(warehouse: Warehouse, sha256: str, kind: str) -> bool:
    row = (
        warehouse.cursor()
        .execute(
            "SELECT count(*) FROM imports WHERE file_sha256 = ? AND kind = ? AND status = 'done'",
            [sha256, kind],
        )
        .fetchone()
    )
    return bool(row and row[0])


def _count_rows(cur: duckdb.DuckDBPyConnection) -> int:
    rows = cur.execute("SELECT count(*) FROM _siyu_src").fetchall()
    return int(rows[0][0])


def _count(result: duckdb.DuckDBPyConnection) -> int:
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
