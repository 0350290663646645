"""DuckDB side of manual tags (手动标签): who holds which tag, by whom and since when.

Rows are never deleted: removing a tag sets ``removed_at``. Person ids are mapped
through ``person_overrides`` when read, so tags follow identity merges. Every change
re-materialises the tag's ``tag:<name>`` set (`siyu.storage.segment_store`), so the
person page, sizes and journeys see it at once. Run writes inside `Warehouse.transaction`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from siyu.segments.exceptions import InvalidTagName
from siyu.storage.segment_store import (
    SetDiff,
    apply_relation,
    has_control,
    query_arrow,
    query_count,
    registered,
    utc_naive,
)

MAX_TAG_NAME: Final = 64

#: Live tag rows with each person id replaced by the person it was merged into.
_LIVE_TAGS: Final = """
    SELECT t.tag, coalesce(o.person_id, t.person_id) AS person_id, t.added_at, t.added_by,
           t.source
    FROM manual_tags t LEFT JOIN person_overrides o ON o.old_person_id = t.person_id
    WHERE t.removed_at IS NULL
"""


def check_tag_name(tag: str) -> str:
    """``tag`` if usable as a manual tag name (1..64 characters, no control characters)."""
    if not isinstance(tag, str) or not tag.strip():
        raise InvalidTagName("a tag name cannot be empty; give 1 to 64 characters")
    if len(tag) > MAX_TAG_NAME:
        raise InvalidTagName(
            f"tag name {tag[:20]!r}... has {len(tag)} characters; use at most {MAX_TAG_NAME}"
        )
    if has_control(tag):
        raise InvalidTagName(
            f"tag name {tag!r} holds control characters (tabs, line breaks...); remove them"
        )
    if tag != tag.strip():
        raise InvalidTagName(f"tag name {tag!r} starts or ends with spaces; remove them")
    return tag


def add_manual_tags(
    cur: duckdb.DuckDBPyConnection,
    tag: str,
    person_ids: Iterable[str],
    actor: str,
    source: str = "manual",
    *,
    at: datetime | None = None,
) -> int:
    """Tag persons by hand; those holding the tag already are skipped. Persons tagged.

    The ``tag:<name>`` set follows at once (memberships and change events).
    """
    ids = list(person_ids)
    rows = pa.table(
        {"tag": pa.array([tag] * len(ids), pa.string()), "person_id": pa.array(ids, pa.string())}
    )
    return add_manual_tag_rows(cur, rows, actor, source, at=at)


def add_manual_tag_rows(
    cur: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    actor: str,
    source: str = "manual",
    *,
    at: datetime | None = None,
) -> int:
    """`add_manual_tags` for many tags at once: ``rows`` has ``tag`` and ``person_id``."""
    if source != "manual" and not (source.startswith("csv:") and len(source) > 4):
        raise ValueError(f"tag source {source!r}: use 'manual' or 'csv:<file name>'")
    tags = sorted(str(t) for t in pc.unique(rows["tag"]).to_pylist() if t is not None)
    for tag in tags:
        check_tag_name(tag)
    now = utc_naive(at)
    with registered(cur, "_tag_rows", rows.select(["tag", "person_id"])):
        cur.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _tag_add AS
            WITH wanted AS (
                SELECT DISTINCT r.tag, coalesce(o.person_id, r.person_id) AS person_id
                FROM _tag_rows r LEFT JOIN person_overrides o ON o.old_person_id = r.person_id
                WHERE r.tag IS NOT NULL AND r.person_id IS NOT NULL),
            live AS (SELECT DISTINCT tag, person_id FROM ({_LIVE_TAGS}) l
                     WHERE tag IN (SELECT tag FROM wanted))
            SELECT * FROM wanted ANTI JOIN live USING (tag, person_id)
            """
        )
    added = query_count(cur, "SELECT count(*) FROM _tag_add")
    cur.execute(
        "INSERT INTO manual_tags SELECT tag, person_id, $at, $actor, $source, NULL FROM _tag_add",
        {"at": now, "actor": actor, "source": source},
    )
    cur.execute("DROP TABLE _tag_add")
    if added:
        apply_manual_tags(cur, at=now, tags=tags)
    return added


def remove_manual_tags(
    cur: duckdb.DuckDBPyConnection,
    tag: str,
    person_ids: Iterable[str],
    *,
    at: datetime | None = None,
) -> int:
    """Take a tag off persons (history kept in ``removed_at``); persons untagged."""
    check_tag_name(tag)
    now = utc_naive(at)
    ids = pa.table({"person_id": pa.array(list(person_ids), pa.string())})
    with registered(cur, "_tag_ids", ids):
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE _tag_gone AS
            WITH targets AS (
                SELECT DISTINCT coalesce(o.person_id, r.person_id) AS person_id
                FROM _tag_ids r LEFT JOIN person_overrides o ON o.old_person_id = r.person_id)
            SELECT t.person_id AS raw_id, coalesce(o.person_id, t.person_id) AS person_id
            FROM manual_tags t LEFT JOIN person_overrides o ON o.old_person_id = t.person_id
            WHERE t.tag = $tag AND t.removed_at IS NULL
              AND coalesce(o.person_id, t.person_id) IN (SELECT person_id FROM targets)
            """,
            {"tag": tag},
        )
    removed = query_count(cur, "SELECT count(DISTINCT person_id) FROM _tag_gone")
    cur.execute(
        "UPDATE manual_tags SET removed_at = $at WHERE tag = $tag AND removed_at IS NULL"
        " AND person_id IN (SELECT raw_id FROM _tag_gone)",
        {"at": now, "tag": tag},
    )
    cur.execute("DROP TABLE _tag_gone")
    if removed:
        apply_manual_tags(cur, at=now, tags=[tag])
    return removed


def manual_tag_members(cur: duckdb.DuckDBPyConnection, tag: str) -> pa.Table:
    """person_id, added_at, added_by, source of the persons holding ``tag`` (merges followed)."""
    return query_arrow(
        cur,
        f"""
        SELECT person_id, min(added_at) AS added_at, arg_min(added_by, added_at) AS added_by,
               arg_min(source, added_at) AS source
        FROM ({_LIVE_TAGS}) WHERE tag = $tag GROUP BY person_id ORDER BY person_id
        """,
        {"tag": tag},
    )


def list_manual_tags(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """tag, persons (holding it now), last_added_at of every manual tag ever used."""
    return query_arrow(
        cur,
        f"""
        SELECT a.tag, CAST(coalesce(l.persons, 0) AS BIGINT) AS persons, a.last_added_at
        FROM (SELECT tag, max(added_at) AS last_added_at FROM manual_tags GROUP BY tag) a
        LEFT JOIN (SELECT tag, count(DISTINCT person_id) AS persons FROM ({_LIVE_TAGS}) l
                   GROUP BY tag) l USING (tag)
        ORDER BY a.tag
        """,
    )


def manual_tag_sets(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every manual tag's holders as set members: set_key (``tag:<name>``), person_id,
    weight (null); ready for `apply_memberships` beside other sets."""
    return query_arrow(
        cur,
        f"""
        SELECT DISTINCT 'tag:' || tag AS set_key, person_id, CAST(NULL AS DOUBLE) AS weight
        FROM ({_LIVE_TAGS}) l ORDER BY set_key, person_id
        """,
    )


def apply_manual_tags(
    cur: duckdb.DuckDBPyConnection,
    *,
    at: datetime | None = None,
    tags: Sequence[str] | None = None,
) -> dict[str, SetDiff]:
    """Materialise manual tags (all, or ``tags``) as ``tag:<name>`` sets, merges followed.

    Tag changes do this for their own tag; run it after identity merges so the sets
    carry the merged person ids.
    """
    if tags is None:
        tags = [str(r[0]) for r in cur.execute("SELECT DISTINCT tag FROM manual_tags").fetchall()]
    keys = [f"tag:{t}" for t in tags]
    if not keys:
        return {}
    cur.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _tag_members AS
        SELECT DISTINCT 'tag:' || tag AS set_key, person_id, CAST(NULL AS DOUBLE) AS weight
        FROM ({_LIVE_TAGS}) l WHERE tag IN (SELECT unnest($tags))
        """,
        {"tags": list(tags)},
    )
    diffs = apply_relation(cur, "_tag_members", keys, utc_naive(at))
    cur.execute("DROP TABLE _tag_members")
    return diffs


def resolve_persons(cur: duckdb.DuckDBPyConnection, refs: pa.Table) -> pa.Table:
    """The current person of each reference; `siyu.identity.persons.find_person` in bulk.

    ``refs`` has ``line`` (int64), ``id_type`` and ``id_value`` (the stored value: sealed
    for phone and email) or ``person_ref`` (a person id, merged-away ids included).
    The answer has ``line`` and ``person_id``, null where no person matches.
    """
    with registered(cur, "_tag_refs", refs.select(["line", "id_type", "id_value", "person_ref"])):
        return query_arrow(
            cur,
            """
            SELECT r.line, coalesce(i.person_id, o.person_id, p.person_id) AS person_id
            FROM _tag_refs r
            LEFT JOIN identities i
                ON i.identity_type = r.id_type AND i.identity_value = r.id_value
            LEFT JOIN person_overrides o ON o.old_person_id = r.person_ref
            LEFT JOIN (SELECT DISTINCT person_id FROM identities) p
                ON p.person_id = r.person_ref
            ORDER BY r.line
            """,
        )
