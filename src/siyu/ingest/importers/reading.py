"""Open an import file as a DuckDB view ``_siyu_src`` on one cursor, set-based.

The view has the file's own columns plus ``_row`` (0-based position in the file),
``_valid`` (false for a line that is not a JSON object) and ``_payload`` (the row as
JSON text, for the quarantine and content hashes). CSV is read as all-VARCHAR so the
importer validates every value itself; JSON Lines are read line by line so one
malformed line is quarantined instead of failing the file.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

from siyu.ingest.exceptions import ImportFailed
from siyu.ingest.importers.expressions import ident, literal

FORMATS: Final = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
#: Longest line a CSV or JSON Lines file may have (a 10 MB cell fits; it is then
#: rejected by the column's own limit and quarantined truncated).
MAX_LINE_BYTES: Final = 64 * 1024 * 1024
SOURCE_VIEW: Final = "_siyu_src"
_SNIFF_BYTES: Final = 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """What `open_source` made of the file."""

    format: str
    columns: dict[str, str]
    payload_sql: str


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        name = fmt.lower().lstrip(".")
        name = {"ndjson": "jsonl", "json": "jsonl"}.get(name, name)
        if name not in {"csv", "jsonl", "parquet"}:
            raise ImportFailed(f"format {fmt!r} is not supported; use csv, jsonl or parquet")
        return name
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ImportFailed(
            f"cannot tell the format of {path.name!r} from its extension; name it .csv, "
            ".jsonl or .parquet, or pass --format"
        )
    return found


def check_readable(path: Path) -> None:
    if not path.exists():
        raise ImportFailed(f"{path} does not exist")
    if not path.is_file():
        raise ImportFailed(f"{path} is not a file")
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror}") from None
    if path.stat().st_size == 0:
        raise ImportFailed(f"{path} is empty; there is nothing to import")


def check_text_encoding(path: Path) -> None:
    """Fail early, with the fix, when a text file is not UTF-8 (often GBK from Excel)."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFailed(
            f"{path.name} is UTF-16; save it as UTF-8 (in Excel: 另存为 CSV UTF-8) "
            "or convert it: iconv -f UTF-16 -t UTF-8"
        )
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError:
        raise not_utf8(path, head) from None


def not_utf8(path: Path, sample: bytes | None = None) -> ImportFailed:
    if sample is None:
        with path.open("rb") as fh:
            sample = fh.read(_SNIFF_BYTES)
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        guess = "It looks like GBK/GB18030 (common for CSV saved by Excel on Chinese Windows)."
        source = "GB18030"
    except UnicodeDecodeError:
        guess, source = "", "<its encoding>"
    return ImportFailed(
        f"{path.name} is not UTF-8 text. {guess} siyu reads UTF-8 (with or without BOM); "
        f"convert it and import again: "
        f"iconv -f {source} -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}"
    )


def open_source(cur: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> SourceFile:
    """Create the temporary view ``_siyu_src`` over ``path`` on ``cur``."""
    file = literal(str(path))
    try:
        if fmt == "parquet":
            body = (
                f"SELECT *, file_row_number AS _row "
                f"FROM read_parquet({file}, file_row_number = true)"
            )
            columns = _describe(cur, f"SELECT * FROM read_parquet({file})")
            _create_view(cur, body, columns, valid="true")
        elif fmt == "csv":
            check_text_encoding(path)
            reader = (
                f"read_csv({file}, all_varchar = true, header = true, "
                f"max_line_size = {MAX_LINE_BYTES}, sample_size = 20480)"
            )
            columns = _describe(cur, f"SELECT * FROM {reader}")
            body = f"SELECT *, row_number() OVER () - 1 AS _row FROM {reader}"
            _create_view(cur, body, columns, valid="true")
        else:
            check_text_encoding(path)
            columns = _open_json_lines(cur, path)
    except duckdb.Error as exc:
        raise read_error(path, fmt, exc) from None
    if not columns:
        raise ImportFailed(f"{path.name} has no columns")
    payload = (
        "_line"
        if fmt == "jsonl"
        else "CAST(to_json(struct_pack("
        + ", ".join(f"{ident(c)} := {ident(c)}" for c in columns)
        + ")) AS VARCHAR)"
    )
    return SourceFile(fmt, columns, payload)


def read_error(path: Path, fmt: str, exc: duckdb.Error) -> ImportFailed:
    message = str(exc)
    if "unicode" in message.lower() or "utf" in message.lower():
        return not_utf8(path)
    first = message.splitlines()[0] if message else type(exc).__name__
    return ImportFailed(
        f"cannot read {path.name} as {fmt}: {first}. Check that the file is valid {fmt}"
        + (" with a header row" if fmt == "csv" else "")
    )


def _describe(cur: duckdb.DuckDBPyConnection, query: str) -> dict[str, str]:
    rows = cur.execute(f"DESCRIBE {query}").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _create_view(
    cur: duckdb.DuckDBPyConnection, body: str, columns: dict[str, str], *, valid: str
) -> None:
    cols = ", ".join(ident(c) for c in columns)
    cur.execute(
        f"CREATE OR REPLACE TEMP VIEW {SOURCE_VIEW} AS "
        f"SELECT _row, {valid} AS _valid, {cols} FROM ({body})"
    )


def _open_json_lines(cur: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """JSON Lines (or a JSON array file): one view row per object, keys as VARCHAR."""
    file = literal(str(path))
    with path.open("rb") as fh:
        first = fh.read(4096).lstrip(codecs.BOM_UTF8).lstrip()
    if first.startswith(b"["):
        lines = (
            f"SELECT row_number() OVER () - 1 AS _row, CAST(json AS VARCHAR) AS _line "
            f"FROM read_json_objects({file}, format = 'array')"
        )
    else:
        lines = (
            f"SELECT row_number() OVER () - 1 AS _row, trim(line, ' \t\r\ufeff') AS _line "
            f"FROM read_csv({file}, columns = {{'line': 'VARCHAR'}}, header = false, "
            f"delim = chr(1), quote = '', escape = '', "
            f"max_line_size = {MAX_LINE_BYTES}, auto_detect = false, strict_mode = false)"
        )
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE _siyu_lines AS "
        f"SELECT _row, _line, coalesce(json_valid(_line) AND json_type(CAST(CASE WHEN "
        f"json_valid(_line) THEN _line END AS JSON)) = 'OBJECT', false) AS _valid "
        f"FROM ({lines}) WHERE _line IS NOT NULL AND _line <> ''"
    )
    keys = [
        str(r[0])
        for r in cur.execute(
            "SELECT k FROM (SELECT unnest(keys) AS k, unnest(range(len(keys))) AS pos, _row "
            "FROM (SELECT json_keys(CAST(_line AS JSON)) AS keys, _row FROM _siyu_lines "
            "WHERE _valid)) GROUP BY k ORDER BY min(_row), arg_min(pos, _row)"
        ).fetchall()
    ]
    pointer = {k: "/" + k.replace("~", "~0").replace("/", "~1") for k in keys}
    cols = "".join(
        f", CASE WHEN _valid THEN json_extract_string(_line, {literal(p)}) END AS {ident(k)}"
        for k, p in pointer.items()
    )
    cur.execute(
        f"CREATE OR REPLACE TEMP VIEW {SOURCE_VIEW} AS SELECT _row, _valid, _line{cols} "
        f"FROM _siyu_lines"
    )
    return dict.fromkeys(keys, "VARCHAR")
