"""Manual tags in bulk from a CSV file (批量导入标签).

The file is UTF-8 (a BOM, as Excel writes it, is fine) with a header row naming some of
``identity``, ``person_id`` and ``tag``. ``identity`` is a reference such as
``phone:13800138000``, ``member_id:M1`` or ``mp_openid:<appid>:<openid>`` (a person id
works too); ``person_id`` is a person id. ``tag`` may be left out when one tag is given
for the whole file. A bad row is reported with its line number and never stops the
good ones.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import pyarrow as pa

from siyu.identity import pii
from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.persons import parse_ref, stored_value
from siyu.segments.exceptions import InvalidTagName, TagImportError
from siyu.storage.tag_store import add_manual_tag_rows, check_tag_name, resolve_persons
from siyu.storage.warehouse import Warehouse

COLUMNS: Final = ("identity", "person_id", "tag")
_EXPECTED: Final = (
    "expected a header with identity (e.g. phone:13800138000) or person_id, and tag "
    "(or give one tag for the whole file)"
)


@dataclass(frozen=True)
class RowProblem:
    """A row left out: its line in the file (the header is line 1) and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class TagImportReport:
    """What an import did. ``already_tagged`` counts good rows whose person held the tag
    already (repeated rows included); ``rejected`` counts the rows in ``problems``."""

    file: str
    rows: int
    tagged: int
    already_tagged: int
    rejected: int
    tags: tuple[str, ...]
    problems: tuple[RowProblem, ...]


@dataclass(frozen=True)
class _Row:
    line: int
    tag: str
    ref: str
    id_type: str | None
    id_value: str | None
    person_ref: str | None


def import_tag_csv(
    warehouse: Warehouse,
    path: Path | str,
    *,
    actor: str,
    tag: str | None = None,
    at: datetime | None = None,
) -> TagImportReport:
    """Tag the persons a CSV file names; rows with no usable tag or person are reported.

    ``tag`` is used for rows whose ``tag`` cell is empty (or for all rows when the file
    has no tag column). Raises TagImportError when the file cannot be used at all.
    """
    path = Path(path)
    if tag is not None:
        try:
            check_tag_name(tag)
        except InvalidTagName as exc:
            raise TagImportError(f"the tag given for {path.name}: {exc}") from None
    rows, problems, total = _read(warehouse, path, tag)
    tagged = 0
    resolved_rows = 0
    with warehouse.transaction() as cur:
        if rows:
            found = resolve_persons(cur, _refs(rows))
            person_of = dict(
                zip(found["line"].to_pylist(), found["person_id"].to_pylist(), strict=True)
            )
            good = [r for r in rows if person_of.get(r.line)]
            problems += [
                RowProblem(r.line, f"no person holds {r.ref}; check the type and value")
                for r in rows
                if not person_of.get(r.line)
            ]
            resolved_rows = len(good)
            members = pa.table(
                {
                    "tag": pa.array([r.tag for r in good], pa.string()),
                    "person_id": pa.array([person_of[r.line] for r in good], pa.string()),
                }
            )
            if good:
                tagged = add_manual_tag_rows(cur, members, actor, f"csv:{path.name}", at=at)
    problems.sort(key=lambda p: p.line)
    tags = {r.tag for r in rows}
    return TagImportReport(
        file=str(path),
        rows=total,
        tagged=tagged,
        already_tagged=resolved_rows - tagged,
        rejected=len(problems),
        tags=tuple(sorted(tags)),
        problems=tuple(problems),
    )


def _read(
    warehouse: Warehouse, path: Path, default_tag: str | None
) -> tuple[list[_Row], list[RowProblem], int]:
    """The usable rows, the problems of the others and the number of data rows."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise TagImportError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows: list[_Row] = []
    problems: list[RowProblem] = []
    total = 0
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            columns = _columns(path, header, default_tag)
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                total += 1
                row = _row(warehouse, reader.line_num, cells, columns, default_tag)
                if isinstance(row, RowProblem):
                    problems.append(row)
                else:
                    rows.append(row)
        except UnicodeDecodeError:
            raise TagImportError(
                f"{path.name} is not UTF-8 text; save it as CSV UTF-8 and import again"
            ) from None
        except csv.Error as exc:
            raise TagImportError(f"{path.name} line {reader.line_num}: {exc}") from None
    return rows, problems, total


def _columns(path: Path, header: list[str], default_tag: str | None) -> dict[str, int]:
    """Column positions by name; TagImportError for a header siyu cannot use."""
    if not any(header):
        raise TagImportError(f"{path.name} has no header row; {_EXPECTED}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise TagImportError(
            f"{path.name}: unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}; {_EXPECTED}"
        )
    if len(set(header)) != len(header):
        raise TagImportError(f"{path.name}: a column is named twice in the header; {_EXPECTED}")
    if "identity" not in header and "person_id" not in header:
        raise TagImportError(f"{path.name}: no identity or person_id column; {_EXPECTED}")
    if "tag" not in header and default_tag is None:
        raise TagImportError(
            f"{path.name}: no tag column; add one or give the tag for the whole file"
        )
    return {name: i for i, name in enumerate(header)}


def _row(
    warehouse: Warehouse,
    line: int,
    cells: list[str],
    columns: dict[str, int],
    default_tag: str | None,
) -> _Row | RowProblem:
    if len(cells) > len(columns):
        return RowProblem(line, f"{len(cells)} values but the header names {len(columns)}")

    def cell(name: str) -> str:
        at = columns.get(name)
        return cells[at].strip() if at is not None and at < len(cells) else ""

    tag = cell("tag") or default_tag
    if not tag:
        return RowProblem(line, "no tag: fill the tag column or give one tag for the file")
    try:
        check_tag_name(tag)
    except InvalidTagName as exc:
        return RowProblem(line, f"bad tag name: {exc}")
    identity, person = cell("identity"), cell("person_id")
    if identity:
        try:
            parsed = parse_ref(identity)
            if isinstance(parsed, str):
                return _Row(line, tag, identity, None, None, parsed)
            id_type, value = parsed
            stored = stored_value(warehouse, id_type, value)
        except InvalidIdentity as exc:
            return RowProblem(line, f"bad identity: {exc}")
        shown = pii.mask(id_type, pii.normalise_value(id_type, value))
        return _Row(line, tag, f"{id_type}:{shown}", id_type, stored, None)
    if person:
        return _Row(line, tag, f"person {person}", None, None, person)
    return RowProblem(line, "no identity or person_id in this row")


def _refs(rows: list[_Row]) -> pa.Table:
    return pa.table(
        {
            "line": pa.array([r.line for r in rows], pa.int64()),
            "id_type": pa.array([r.id_type for r in rows], pa.string()),
            "id_value": pa.array([r.id_value for r in rows], pa.string()),
            "person_ref": pa.array([r.person_ref for r in rows], pa.string()),
        }
    )
