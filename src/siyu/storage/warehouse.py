"""The embedded DuckDB warehouse: the one place siyu opens a database file.

One `Warehouse` per process. Threads get their own cursor (`cursor()`); writes that must
not interleave (event appends, which assign ``seq``) go through `append_events`, which
serialises them with a lock and commits before it returns, so a caller may acknowledge.
Phone and email identities are sealed (`siyu.storage.sealing`) before any row is stored.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from siyu.config import Settings
from siyu.exceptions import ConfigError
from siyu.storage.exceptions import SchemaTooNew, StorageLocked
from siyu.storage.schema import MIGRATIONS
from siyu.storage.sealing import Sealer, seal_identities

if TYPE_CHECKING:
    from ibis.backends.duckdb import Backend as DuckDBBackend


#: Loads at least this big (and half the table) rebuild the dedup index instead.
BULK_MIN_ROWS = 500_000

#: ``identity_state`` key of a sealed constant: proves the key is the one the data has.
PII_KEY_CHECK = "pii_key_check"
_PII_KEY_CANARY = "siyu pii key check"
_CREATE_EVENT_INDEX = "CREATE UNIQUE INDEX events_event_key ON events (event_key)"

#: Event columns a loader may supply; ``seq`` and ``event_key`` are the warehouse's.
EVENT_COLUMNS = [
    "event_id",
    "type",
    "event",
    "event_time",
    "client_time",
    "sent_at",
    "received_at",
    "user_id",
    "anonymous_id",
    "previous_id",
    "identities",
    "source_id",
    "protocol",
    "carrier",
    "app_id",
    "library",
    "library_version",
    "method",
    "properties",
    "context",
]


class EventLoad:
    """A bulk load in progress: `append` tables; ``inserted`` counts new events.

    A load that took the bulk path has ``cursor``, the loading transaction's, and takes
    `append_validated` too.
    """

    def __init__(
        self,
        insert: Callable[[pa.Table], int],
        cursor: duckdb.DuckDBPyConnection | None = None,
        warehouse: Warehouse | None = None,
    ) -> None:
        self._insert = insert
        self.cursor = cursor
        self._warehouse = warehouse
        self.appended = 0
        self.inserted = 0

    def append(self, table: pa.Table) -> None:
        self.appended += table.num_rows
        self.inserted += self._insert(table)

    def append_validated(self, query: str, params: dict[str, Any], span: int) -> int:
        """Insert the good rows (``reason`` NULL) of an importer's validating query.

        ``query`` runs on `cursor` and yields the event columns plus ``_row`` (the
        position in the file, below ``span``), which numbers ``seq``. One statement, with
        no round trip through Arrow: for 10 M rows 23.4 s against 32.9-34.2 s in
        batches (BENCHMARKS.md). The query must seal personal ids itself, as the
        importer's does (`siyu.ingest.importers.sealed_ids`).
        """
        if self.cursor is None or self._warehouse is None:
            raise RuntimeError("append_validated needs a bulk load")
        cur = self.cursor
        start = self._warehouse.reserve_seq(span)
        inserted = _count(
            cur.execute(
                "INSERT INTO events BY NAME"
                " SELECT * EXCLUDE (_row, reason, reason_key, payload),"
                " $_first_seq + _row AS seq, md5_number(event_id) AS event_key"
                f" FROM ({query}) WHERE reason IS NULL",
                {**params, "_first_seq": start},
            )
        )
        items = cur.execute(
            "SELECT count(*) FROM events WHERE seq BETWEEN $a AND $b"
            " AND type IN ('item_set', 'item_delete')",
            {"a": start, "b": start + span - 1},
        ).fetchone()
        if items and items[0]:
            cur.execute(
                "CREATE OR REPLACE TEMP VIEW _siyu_batch AS SELECT * FROM events"
                f" WHERE seq BETWEEN {int(start)} AND {int(start + span - 1)}"
            )
            _upsert_items(cur)
            cur.execute("DROP VIEW _siyu_batch")
        self.appended += inserted
        self.inserted += inserted
        return inserted


@dataclass(frozen=True)
class AppendResult:
    """What one durable append did."""

    inserted: int
    duplicates: int
    quarantined: int


QUARANTINE_SCHEMA = pa.schema(
    [
        ("quarantine_id", pa.string()),
        ("received_at", pa.timestamp("us")),
        ("source_id", pa.string()),
        ("protocol", pa.string()),
        ("reason", pa.string()),
        ("record_index", pa.int32()),
        ("payload", pa.string()),
        ("payload_bytes", pa.int64()),
        ("truncated", pa.bool_()),
    ]
)


class Warehouse:
    """The DuckDB file under ``SIYU_HOME``, migrated to the current schema on open."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path | None,
        read_only: bool,
        *,
        sealer: Sealer | None = None,
    ):
        self._con = con
        self.path = path
        self.read_only = read_only
        #: Seals phone and email identities; a random key unless `open` passes one.
        self.sealer = sealer or Sealer.random()
        self._write_lock = threading.RLock()
        self._writer: duckdb.DuckDBPyConnection | None = None
        #: Serialises identity-graph writers; taken before the write lock, never after.
        self.identity_lock = threading.RLock()
        self._identity_cursor: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._next_seq = 1
        if not read_only:
            self._migrate()
            self._ensure_event_index()
            self._record_key_check()
        # Before migration 10 (a read-only open of older data) the log was one table;
        # before migration 12 its packs were one per apply, with a ``max_seq``.
        version = self.schema_version()
        packs = "max_seq" if version < 12 else "seq"
        links = (
            f"(SELECT max(seq) FROM identity_link_rows), (SELECT max({packs}) FROM"
            " identity_link_packs)"
            if version >= 10
            else "(SELECT max(seq) FROM identity_links)"
        )
        self._next_seq = int(
            self._scalar(
                "SELECT coalesce(greatest((SELECT max(seq) FROM events),"
                f" (SELECT max(seq) FROM orders), {links}), 0) + 1"
            )
            or 1
        )

    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = False) -> Warehouse:
        """Open (creating if needed) the warehouse file of ``settings.home``."""
        path = settings.database_path
        if read_only and not path.exists():
            raise StorageLocked(
                f"no siyu data at {settings.home.resolve()}; run `siyu init` or `siyu demo` first"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": settings.duckdb_memory_limit,
            "threads": settings.duckdb_threads,
            "preserve_insertion_order": False,
            # DuckDB checkpoints inside whichever commit takes the log past this size. A
            # checkpoint costs far less than in proportion to the log (120 MB: 0.3 s,
            # 16 MB: 0.19 s on average; BENCHMARKS.md), so a bigger log means fewer of
            # them, and the collector checkpoints before this whenever it is idle
            # (`Warehouse.checkpoint`).
            "checkpoint_threshold": settings.duckdb_checkpoint_threshold,
        }
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            raise _locked_error(exc, path) from None
        try:
            sealer = _open_sealer(con, settings)
        except BaseException:
            con.close()
            raise
        return cls(con, path, read_only, sealer=sealer)

    @classmethod
    def in_memory(cls) -> Warehouse:
        """A throw-away warehouse, for tests and previews."""
        return cls(duckdb.connect(":memory:"), None, read_only=False)

    # -- connections ------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the same database, for use by one thread."""
        return self._con.cursor()

    def ibis(self) -> DuckDBBackend:
        """An Ibis backend over a fresh cursor (one per thread)."""
        import ibis  # deferred: importing Ibis costs a second the CLI mostly does not need

        return ibis.duckdb.from_connection(self.cursor())

    def close(self) -> None:
        with self.identity_lock, self._write_lock:
            if self._identity_cursor is not None:
                self._identity_cursor.close()
                self._identity_cursor = None
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if not self.read_only:
                self._con.execute("CHECKPOINT")
            self._con.close()

    def checkpoint(self) -> None:
        """Write what the log holds into the database file (DuckDB's ``CHECKPOINT``).

        Commits of this process wait while it runs; the collector calls it when idle so
        that no commit under load has to.
        """
        if self.read_only or self.path is None:
            return
        with self._write_lock:
            self._writer_cursor().execute("CHECKPOINT")

    def checkpoint_all(self) -> float:
        """`checkpoint` once no identity work is under way, so that the identity graph's
        writes go into the file too; the seconds it took, waiting included.

        For an operator about to copy the database file, and for benchmarks that must end
        where everything is in the file whether the resolver ran or not.
        """
        started = time.perf_counter()
        with self.identity_lock:
            self.checkpoint()
        return time.perf_counter() - started

    def _writer_cursor(self) -> duckdb.DuckDBPyConnection:
        """The one long-lived cursor all writes of this process use (under the write lock):
        opening a cursor per commit costs more than the commit itself at collector rates."""
        if self._writer is None:
            self._writer = self.cursor()
        return self._writer

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction that holds the process's write lock.

        Re-entrant: a nested call on the same thread joins the open transaction, so a
        bulk load can hold one transaction while helpers it calls write too.
        """
        with self._write_lock:
            if self._depth:
                self._depth += 1
                try:
                    assert self._writer is not None
                    yield self._writer
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with _committed(self._writer_cursor()) as cur:
                    yield cur
            finally:
                self._depth = 0

    @contextmanager
    def identity_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction on the identity graph's own connection, beside the collector's.

        Identity resolution writes only its own tables (``identity_links``,
        ``identities``, overrides, conflicts, state) and reads events, so DuckDB's MVCC
        lets it run while the collector keeps committing: holding the write lock instead
        stalled ingestion for as long as each resolution took.
        """
        with self.identity_lock:
            if self._identity_cursor is None:
                self._identity_cursor = self.cursor()
            with _committed(self._identity_cursor) as cur:
                yield cur

    def reserve_seq(self, count: int) -> int:
        """First of ``count`` consecutive ``seq`` numbers; call inside `transaction`."""
        start = self._next_seq
        self._next_seq += count
        return start

    # -- writes -----------------------------------------------------------------------

    def number_new_orders(self, cur: duckdb.DuckDBPyConnection) -> int:
        """Give orders written without a ``seq`` the next numbers (paid_at, order_id order).

        Call inside `transaction` right after writing orders: identity work replays order
        links in ``seq`` order together with events.
        """
        missing = _count(cur.execute("SELECT count(*) FROM orders WHERE seq IS NULL"))
        if missing:
            start = self.reserve_seq(missing)
            cur.execute(
                "UPDATE orders SET seq = n.seq FROM (SELECT order_id, ? - 1 + row_number()"
                " OVER (ORDER BY paid_at, order_id) AS seq FROM orders WHERE seq IS NULL) n"
                " WHERE orders.order_id = n.order_id",
                [start],
            )
        return missing

    def append_events(self, events: pa.Table, quarantine: pa.Table | None = None) -> AppendResult:
        """Append events (duplicates by ``event_id`` ignored) and quarantined records.

        One transaction, committed before returning. ``item_set`` / ``item_delete``
        records also upsert the ``items`` table in the same transaction.
        """
        n = events.num_rows
        quarantined = quarantine.num_rows if quarantine is not None else 0
        inserted = 0
        with self.transaction() as cur:
            if n:
                inserted = self._insert_events(cur, events, rebuilding=False)
            if quarantine is not None and quarantined:
                cur.register("_siyu_quarantine", quarantine)
                cur.execute(
                    "INSERT OR IGNORE INTO quarantine BY NAME SELECT * FROM _siyu_quarantine"
                )
                cur.unregister("_siyu_quarantine")
        return AppendResult(inserted=inserted, duplicates=n - inserted, quarantined=quarantined)

    @contextmanager
    def event_loader(self, expected_rows: int) -> Iterator[EventLoad]:
        """An `EventLoad` for appending many events (imports, the demo).

        Small loads append one transaction per table, like the collector, so the write
        lock is held briefly. A load of at least ``BULK_MIN_ROWS`` and half the table
        drops the dedup index, appends without checks in one transaction and rebuilds
        the index; only if the index finds repeated keys are they deleted, in one pass —
        several times faster than maintaining the index row by row. Either way ids already
        stored or repeated are skipped; ``EventLoad.inserted`` is final once the block
        exits.
        """
        existing = int(self._scalar("SELECT count(*) FROM events") or 0)
        if expected_rows < BULK_MIN_ROWS or expected_rows < existing // 2:
            load = EventLoad(lambda table: self.append_events(table).inserted)
            yield load
            return
        with self._write_lock:
            # DuckDB keeps enforcing an index dropped inside the open transaction, so the
            # drop commits first; the write lock keeps every other writer out until the
            # index is back (or restored by `_ensure_event_index` if the load fails).
            with self.transaction() as cur:
                cur.execute("DROP INDEX events_event_key")
            try:
                with self.transaction() as cur:
                    first_seq = self._next_seq
                    load = EventLoad(
                        lambda table: self._insert_events(cur, table, rebuilding=True),
                        cursor=cur,
                        warehouse=self,
                    )
                    yield load
                # The index is built once the rows are committed: built inside the
                # loading transaction, index and commit took 9.9 s for 10M rows against
                # 4.0 s this way (benchmarks/bench_import.py). Until then the write lock
                # keeps other writers out, as above.
                load.inserted -= self._index_events(first_seq)
            finally:
                self._ensure_event_index()

    def _delete_repeated_events(self, cur: duckdb.DuckDBPyConnection, from_seq: int) -> int:
        """Delete all but the first (lowest ``seq``) row of each repeated key."""
        return _count(
            cur.execute(
                "DELETE FROM events WHERE seq >= ? AND rowid IN ("
                " SELECT rowid FROM events WHERE event_key IN ("
                "  SELECT event_key FROM events GROUP BY event_key HAVING count(*) > 1)"
                " QUALIFY row_number() OVER (PARTITION BY event_key ORDER BY seq) > 1)",
                [from_seq],
            )
        )

    def _index_events(self, from_seq: int) -> int:
        """Build the dedup index over committed rows; returns the repeats deleted first.

        Most loads repeat no id, so the index is tried first and repeated keys (of rows
        from ``from_seq`` on) are looked for only when it refuses: the search groups
        every key (1.2-1.6 s for 10M rows). Rows of a load that does repeat ids show
        their repeats to readers until they are deleted, a moment later.
        """
        try:
            with self.transaction() as cur:
                cur.execute(_CREATE_EVENT_INDEX)
            return 0
        except duckdb.ConstraintException:
            pass
        # Two transactions: an index built in the transaction that deleted committed
        # rows still sees them.
        with self.transaction() as cur:
            deleted = self._delete_repeated_events(cur, from_seq)
        with self.transaction() as cur:
            cur.execute(_CREATE_EVENT_INDEX)
        return deleted

    def _ensure_event_index(self) -> None:
        """Restore the dedup index if a bulk load died without rebuilding it."""
        if self.read_only:
            return
        present = self._scalar(
            "SELECT count(*) FROM duckdb_indexes() WHERE index_name = 'events_event_key'"
        )
        if not present:
            self._index_events(0)

    def _record_key_check(self) -> None:
        """Store the sealed canary once, so a later open can tell a wrong key."""
        if _key_check(self._con) is None and "identity_state" in self.table_names():
            with self.transaction() as cur:
                cur.execute(
                    "INSERT OR IGNORE INTO identity_state VALUES (?, ?)",
                    [PII_KEY_CHECK, self.sealer.seal(_PII_KEY_CANARY)],
                )

    def _insert_events(
        self, cur: duckdb.DuckDBPyConnection, events: pa.Table, *, rebuilding: bool
    ) -> int:
        n = events.num_rows
        if not n:
            return 0
        start = self.reserve_seq(n)
        batch = seal_identities(events.select(EVENT_COLUMNS), self.sealer).append_column(
            "seq", pa.array(range(start, start + n), pa.int64())
        )
        # While rebuilding there is no index: rows go in unchecked and `event_loader`
        # removes repeats once at the end.
        verb = "INSERT" if rebuilding else "INSERT OR IGNORE"
        cur.register("_siyu_batch", batch)
        try:
            inserted = _count(
                cur.execute(
                    f"{verb} INTO events BY NAME"
                    " SELECT *, md5_number(event_id) AS event_key FROM _siyu_batch"
                )
            )
            if pc.any(pc.starts_with(batch["type"], "item_")).as_py():
                _upsert_items(cur)
        finally:
            cur.unregister("_siyu_batch")
        return inserted

    # -- reads ------------------------------------------------------------------------

    def _scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self._con.cursor().execute(sql, params or []).fetchone()
        return row[0] if row else None

    def table_names(self) -> list[str]:
        rows = self.cursor().execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        )
        return sorted(r[0] for r in rows.fetchall())

    def schema_version(self) -> int:
        return int(self._scalar("SELECT coalesce(max(version), 0) FROM schema_migrations") or 0)

    # -- migrations -------------------------------------------------------------------

    def _migrate(self) -> None:
        cur = self.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        current = self.schema_version()
        latest = MIGRATIONS[-1].version
        if current > latest:
            raise SchemaTooNew(
                f"the data at {self.path} has schema version {current}, newer than this siyu "
                f"understands ({latest}); upgrade siyu"
            )
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            cur.execute("BEGIN TRANSACTION")
            for statement in migration.statements:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [migration.version, migration.name, datetime.now(UTC).replace(tzinfo=None)],
            )
            cur.execute("COMMIT")
        cur.close()


def _upsert_items(cur: duckdb.DuckDBPyConnection) -> None:
    """Apply Sensors ``item_set`` / ``item_delete`` records to ``items`` (last one wins)."""
    cur.execute(
        """
        INSERT OR REPLACE INTO items
        SELECT json_extract_string(properties, '$.item_type'),
               json_extract_string(properties, '$.item_id'),
               json_extract(properties, '$.item_properties')::VARCHAR,
               type = 'item_delete',
               event_time
        FROM _siyu_batch
        WHERE type IN ('item_set', 'item_delete')
        QUALIFY row_number() OVER (
            PARTITION BY json_extract_string(properties, '$.item_type'),
                         json_extract_string(properties, '$.item_id')
            ORDER BY event_time DESC, seq DESC) = 1
        """
    )


def _open_sealer(con: duckdb.DuckDBPyConnection, settings: Settings) -> Sealer:
    """The sealer of ``settings``, checked against the key the data was sealed with."""
    check = _key_check(con)
    sealer = Sealer.from_settings(settings, create=check is None)
    if check is not None and sealer.seal(_PII_KEY_CANARY) != check:
        source = "SIYU_PII_KEY" if settings.pii_key is not None else str(settings.pii_key_path)
        raise ConfigError(
            f"{source} is not the key the data in {settings.home} was sealed with; "
            "restore the original key (SIYU_PII_KEY or pii.key)"
        )
    return sealer


def _key_check(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = (
            con.cursor()
            .execute("SELECT value FROM identity_state WHERE key = ?", [PII_KEY_CHECK])
            .fetchone()
        )
    except duckdb.CatalogException:
        return None
    return str(row[0]) if row else None


@contextmanager
def _committed(cur: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction on ``cur``: committed if the block finishes, else rolled back."""
    cur.execute("BEGIN TRANSACTION")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    else:
        cur.execute("COMMIT")


def _count(result: duckdb.DuckDBPyConnection) -> int:
    row = result.fetchone()
    return int(row[0]) if row else 0


def _locked_error(exc: duckdb.IOException, path: Path) -> StorageLocked:
    pid = re.search(r"PID (\d+)", str(exc))
    holder = f" (process {pid.group(1)})" if pid else ""
    return StorageLocked(
        f"{path} is in use by another siyu process{holder}. If `siyu serve` is running, "
        "CLI commands go through it automatically; otherwise wait for the other command "
        "to finish."
    )
