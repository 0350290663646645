"""Operator actions on segments and tags: sync to WeChat, manual tags, the tag listing.

Shared by the CLI, the HTTP API and the console, like `siyu.segments.service`.

Syncing a set pushes its current members as a WeCom corp tag (`mark_tag` on each
customer's staff relation) or an official-account user tag, and takes the tag off the
persons who left the set since the last successful sync of that set to that target
(memberships keep ``exited_at``, so nothing but the last sync time is stored).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import orjson
import pyarrow as pa

from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.persons import parse_ref, stored_value
from siyu.runtime import Runtime
from siyu.segments import sync
from siyu.segments.exceptions import SegmentError
from siyu.segments.export import checked_set
from siyu.segments.facts import facts_from
from siyu.segments.service import sets, today_in
from siyu.segments.tag_import import import_tag_csv
from siyu.storage import identity_store, tag_store
from siyu.storage import segment_store as store

SYNC_TARGETS: Final = ("wecom", "oa")
#: WeCom corp-tag group the synced segments go in.
WECOM_TAG_GROUP: Final = "siyu"
#: Persons a manual tag call may name at once (a CSV import takes any number).
MAX_REFS: Final = 10_000
#: ``identity_state`` key prefix of the last successful sync of a set to a target.
_SYNC_STATE: Final = "segment_sync"


# -- sync -------------------------------------------------------------------------------


def sync_segment(
    runtime: Runtime,
    key: str,
    target: str,
    *,
    tag_name: str | None = None,
) -> dict[str, Any]:
    """Push the set's members to WeCom (``wecom``) or the official account (``oa``) as a tag.

    ``key`` is a segment key or any set key (``rfm:important_value``); the tag is named
    ``tag_name``, by default the segment's name (the set key for other sets).
    """
    if target not in SYNC_TARGETS:
        raise SegmentError(f"sync target {target!r}: use wecom or oa")
    # A cursor per read: DuckDB refuses a relation query on a cursor with a pending result.
    cursor = runtime.warehouse.cursor
    set_key = checked_set(cursor(), key)
    name = (tag_name or "").strip() or _default_tag_name(cursor(), set_key)
    state_key = f"{_SYNC_STATE}:{target}:{set_key}"
    previous = _last_sync(cursor(), state_key)
    at = datetime.now(UTC).replace(tzinfo=None)
    members = store.current_members(cursor(), set_key).select(["person_id"])
    left = _left_since(cursor(), set_key, previous)
    settings = runtime.settings
    con = runtime.warehouse.ibis()
    identities = con.table("identities")
    now_in, left_in = ibis.memtable(members), ibis.memtable(left)
    if target == "wecom":
        corp_id, secret = settings.wecom_corp_id, settings.wecom_secret
        _require(("SIYU_WECOM_CORP_ID", corp_id), ("SIYU_WECOM_SECRET", secret), what="WeCom")
        assert corp_id is not None and secret is not None
        events = facts_from(con, today=today_in(runtime), tz=settings.timezone).events
        adds = _rows(
            sync.wecom_targets(events, identities, now_in), "staff_userid", "external_userid"
        )
        removes = _rows(
            sync.wecom_targets(events, identities, left_in), "staff_userid", "external_userid"
        )
        report = sync.sync_wecom_tags(
            sync.wecom_client(corp_id, secret, settings.wecom_api_base),
            [(staff, external) for _, staff, external in adds],
            tag_name=name,
            group_name=WECOM_TAG_GROUP,
            remove_targets=[(staff, external) for _, staff, external in removes],
        )
    else:
        appid, secret = settings.oa_appid, settings.oa_secret
        _require(("SIYU_OA_APPID", appid), ("SIYU_OA_SECRET", secret), what="official-account")
        assert appid is not None and secret is not None
        adds = _rows(sync.oa_targets(identities, now_in, appid), "openid")
        removes = _rows(sync.oa_targets(identities, left_in, appid), "openid")
        report = sync.sync_official_account_tags(
            sync.oa_client(appid, secret, settings.wechat_api_base),
            [row[-1] for row in adds],
            tag_name=name,
            remove_openids=[row[-1] for row in removes],
        )
    reached, reached_left = len({r[0] for r in adds}), len({r[0] for r in removes})
    # The sync time moves on unless a removal failed: those are retried next time (an add
    # that failed is retried anyway, as every sync pushes all current members).
    removal_targets = {"/".join(r[1:]) for r in removes}
    if not any(e.target in removal_targets for e in report.errors):
        with runtime.warehouse.transaction() as tx:
            identity_store.set_state(
                tx, state_key, orjson.dumps({"at": at.isoformat(), "tag": name}).decode()
            )
    return {
        "set_key": set_key,
        "target": target,
        **asdict(report),
        "failed": report.failed,
        "members": members.num_rows,
        "reachable": reached,
        "unreachable": members.num_rows - reached,
        "left_since_last_sync": left.num_rows,
        "left_reachable": reached_left,
        "previous_sync_at": previous.isoformat() if previous else None,
        "synced_at": at.isoformat(),
    }


def _require(*settings: tuple[str, Any], what: str) -> None:
    missing = [name for name, value in settings if not value]
    if missing:
        raise SegmentError(
            f"{what} sync is not configured: set {' and '.join(missing)} (environment or .env)"
        )


def _default_tag_name(cur: Any, set_key: str) -> str:
    if set_key.startswith("segment:"):
        return store.get_definition(cur, set_key.removeprefix("segment:")).name
    return set_key


def _last_sync(cur: Any, state_key: str) -> datetime | None:
    text = identity_store.state(cur, state_key)
    if not text:
        return None
    try:
        return datetime.fromisoformat(orjson.loads(text)["at"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _left_since(cur: Any, set_key: str, since: datetime | None) -> pa.Table:
    """person_id of those whose stay in the set ended after ``since`` and who are out now."""
    if since is None:
        return pa.table({"person_id": pa.array([], pa.string())})
    return store.query_arrow(
        cur,
        """
        WITH m AS (
            SELECT coalesce(o.person_id, s.person_id) AS person_id, s.exited_at
            FROM memberships s LEFT JOIN person_overrides o ON o.old_person_id = s.person_id
            WHERE s.set_key = $set)
        SELECT DISTINCT person_id FROM m WHERE exited_at > $since
        EXCEPT SELECT person_id FROM m WHERE exited_at IS NULL
        """,
        {"set": set_key, "since": since},
    )


def _rows(targets: ir.Table, *columns: str) -> list[tuple[str, ...]]:
    """(person_id, *columns) rows of a target table, executed."""
    table = targets.to_pyarrow()
    return list(zip(*(table[n].to_pylist() for n in ("person_id", *columns)), strict=True))


# -- manual tags ------------------------------------------------------------------------


def tag_persons(runtime: Runtime, tag: str, refs: list[str], actor: str) -> dict[str, Any]:
    """Put manual tag ``tag`` on the persons ``refs`` name (``type:value`` or person ids).

    References no person holds are listed in ``not_found``; the others are tagged.
    """
    tag_store.check_tag_name(tag)
    found, missing = _resolve(runtime, refs)
    with runtime.warehouse.transaction() as cur:
        tagged = tag_store.add_manual_tags(cur, tag, found.values(), actor) if found else 0
    return _tag_result(runtime, tag, "tagged", tagged, len(set(found.values())), missing)


def untag_persons(runtime: Runtime, tag: str, refs: list[str], actor: str) -> dict[str, Any]:
    """Take manual tag ``tag`` off the persons ``refs`` name (history is kept)."""
    del actor  # removals record their time; who removed is not stored yet
    tag_store.check_tag_name(tag)
    found, missing = _resolve(runtime, refs)
    with runtime.warehouse.transaction() as cur:
        untagged = tag_store.remove_manual_tags(cur, tag, found.values()) if found else 0
    return _tag_result(runtime, tag, "untagged", untagged, len(set(found.values())), missing)


def import_tags(runtime: Runtime, path: Path | str, tag: str | None, actor: str) -> dict[str, Any]:
    """Tag persons from a CSV file (`siyu.segments.tag_import`); bad rows are reported."""
    report = import_tag_csv(runtime.warehouse, path, actor=actor, tag=tag)
    return asdict(report)


def list_tags(runtime: Runtime) -> dict[str, Any]:
    """Manual tags with their counts, and the interest and channel tag sets."""
    manual = [
        {**r, "last_added_at": _iso(r["last_added_at"])}
        for r in tag_store.list_manual_tags(runtime.warehouse.cursor()).to_pylist()
    ]
    computed = sets(runtime)
    defined = [
        {"key": d.key, "name": d.name, "description": d.description}
        for d in store.list_definitions(runtime.warehouse.cursor(), kind="tag")
    ]
    return {
        "manual": manual,
        "interest": [s for s in computed if s["set_key"].startswith("interest:")],
        "channel": [s for s in computed if s["set_key"].startswith("channel:")],
        "defined": defined,
    }


def _resolve(runtime: Runtime, refs: list[str]) -> tuple[dict[str, str], list[str]]:
    """ref -> current person id for the refs that name one; the refs that name nobody.

    A malformed reference raises (the caller fixes the typo); lookups run in one query.
    """
    wanted = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    if not wanted:
        raise SegmentError("name at least one person: type:value (phone:138…) or a person id")
    if len(wanted) > MAX_REFS:
        raise SegmentError(
            f"{len(wanted):,} persons in one call; at most {MAX_REFS:,} — import a CSV instead"
        )
    types: list[str | None] = []
    values: list[str | None] = []
    persons: list[str | None] = []
    wh = runtime.warehouse
    for ref in wanted:
        try:
            parsed = parse_ref(ref)
            if isinstance(parsed, str):
                id_type, value, person = None, None, parsed
            else:
                id_type, value, person = parsed[0], stored_value(wh, *parsed), None
        except InvalidIdentity as exc:
            raise SegmentError(str(exc)) from None
        types.append(id_type)
        values.append(value)
        persons.append(person)
    refs_table = pa.table(
        {
            "line": pa.array(range(len(wanted)), pa.int64()),
            "id_type": pa.array(types, pa.string()),
            "id_value": pa.array(values, pa.string()),
            "person_ref": pa.array(persons, pa.string()),
        }
    )
    answer = tag_store.resolve_persons(wh.cursor(), refs_table)
    found: dict[str, str] = {}
    for line, person in zip(
        answer["line"].to_pylist(), answer["person_id"].to_pylist(), strict=True
    ):
        if person is not None:
            found.setdefault(wanted[line], person)
    return found, [r for r in wanted if r not in found]


def _tag_result(
    runtime: Runtime, tag: str, verb: str, changed: int, persons: int, missing: list[str]
) -> dict[str, Any]:
    cur = runtime.warehouse.cursor()
    now = tag_store.manual_tag_members(cur, tag).num_rows
    return {
        "tag": tag,
        verb: changed,
        "unchanged": persons - changed,
        "not_found": missing,
        "persons": now,
    }


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


__all__ = [
    "SYNC_TARGETS",
    "import_tags",
    "list_tags",
    "sync_segment",
    "tag_persons",
    "untag_persons",
]
