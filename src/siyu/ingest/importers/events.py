"""The validating SELECTs that turn an ``events`` or ``users`` file into event rows.

Both read the view ``_siyu_src`` (see `reading`) and return one row per file row with
the ``events`` columns plus ``_row``, ``reason`` (NULL when the row is good),
``reason_key`` and ``payload`` (the raw row, for rejected rows only). Users become
``profile_set`` events whose properties are the traits.
"""

from __future__ import annotations

from typing import Final

from siyu.ingest.importers.columns import ColumnPlan
from siyu.ingest.importers.expressions import (
    Check,
    Trimmed,
    clean_id,
    id_checks,
    ident,
    identities_map,
    json_checks,
    json_object_of,
    literal,
    one_of,
    reason_sql,
    text,
    time_checks,
    time_raw,
    time_value,
)
from siyu.ingest.importers.reading import SOURCE_VIEW, SourceFile
from siyu.ingest.importers.sealed_ids import invalid_checks, joined_columns, sealed_join
from siyu.ingest.model import CARRIERS, TYPES
from siyu.ingest.normalize import MAX_EVENT_NAME_LENGTH

#: The columns of an imported event row, in ``EVENT_SCHEMA`` order (``seq`` is added on write).
_EVENT_OUTPUT: Final = (
    "event_id, type, event, event_time, NULL::TIMESTAMP AS client_time, "
    "NULL::TIMESTAMP AS sent_at, $now AS received_at, user_id, anonymous_id, "
    "NULL::VARCHAR AS previous_id, identities, $source_id AS source_id, "
    "'import' AS protocol, carrier, app_id, 'siyu-import' AS library, "
    "NULL::VARCHAR AS library_version, 'import' AS method, properties, '{}' AS context"
)


def identity_values(
    plan: ColumnPlan, src: SourceFile, pre: Trimmed | None = None
) -> dict[str, str]:
    """Identity type -> SQL of its cleaned value over the source view (every kind).

    With ``pre`` the text is read from columns computed a level below (the same values).
    """
    hoist = pre or (lambda expr: expr)
    return {k: clean_id(hoist(text(c, src.columns[c]))) for k, c in plan.identities.items()}


def events_query(plan: ColumnPlan, src: SourceFile, sealed: dict[str, str] | None = None) -> str:
    """The SELECT validating an events file; see the module docstring for its columns.

    ``sealed`` maps personal identity types to their lookups (`sealed_ids`).
    """
    types = src.columns
    sealed = sealed or {}

    def t(name: str) -> str:
        column = plan.source(name)
        return text(column, types[column] if column else "VARCHAR")

    event_time_col = plan.source("event_time")
    pre = Trimmed()
    ids = identity_values(plan, src, pre)
    props = t("properties")
    if plan.extras:
        extras = json_object_of([(c, types[c]) for c in plan.extras])
        props = f"json_merge_patch({extras}, coalesce({props}, '{{}}'))"
    inner = {
        "_c_event_id": clean_id(pre(t("event_id"))),
        "_c_type": f"coalesce(lower({t('type')}), 'track')",
        "_c_event": t("event"),
        "_t_event_time": time_raw(event_time_col, types[event_time_col] if event_time_col else ""),
        "_c_event_time": time_value(
            event_time_col, types[event_time_col] if event_time_col else ""
        ),
        "_c_user_id": clean_id(pre(t("user_id"))),
        "_c_anonymous_id": clean_id(pre(t("anonymous_id"))),
        "_c_properties": props,
        "_c_carrier": f"coalesce(lower({t('carrier')}), 'import')",
        "_c_app_id": t("app_id"),
        **{f"_i_{n}": v for n, v in enumerate(ids.values())},
    }
    id_values = {k: f"_i_{n}" for n, k in enumerate(ids)}
    checks = [
        *_valid_line_check(src),
        Check("event is empty", "_c_event IS NULL", literal("event is empty")),
        Check(
            "event is too long",
            f"length(_c_event) > {MAX_EVENT_NAME_LENGTH}",
            f"'event is ' || length(_c_event) || "
            f"{literal(f' characters; the limit is {MAX_EVENT_NAME_LENGTH}')}",
        ),
        Check(
            "type is unknown",
            f"NOT {one_of('_c_type', sorted(TYPES))}",
            f"'type ' || {_quoted('_c_type')} || "
            f"{literal(' is not one of: ' + ', '.join(sorted(TYPES)))}",
        ),
        *time_checks("event_time", "_t_event_time", "_c_event_time", required=True),
        *id_checks("event_id", "_c_event_id"),
        *id_checks("user_id", "_c_user_id"),
        *id_checks("anonymous_id", "_c_anonymous_id"),
        *[c for k, v in id_values.items() for c in id_checks(f"id_{k}", v)],
        *_carrier_checks(),
        *id_checks("app_id", "_c_app_id"),
        *json_checks("properties", "_c_properties", "OBJECT"),
        *invalid_checks(
            id_values, sealed, ["_c_user_id", "_c_anonymous_id", *id_values.values()], "id_"
        ),
        _no_identity_check(["_c_user_id", "_c_anonymous_id", *id_values.values()]),
    ]
    event_id = (
        f"coalesce(_c_event_id, 'h:' || md5({src.payload_sql}))"
        if plan.source("event_id")
        else f"'h:' || md5({src.payload_sql})"
    )
    outer = {
        "event_id": event_id,
        "type": "_c_type",
        "event": "_c_event",
        "event_time": "_c_event_time",
        "user_id": "_c_user_id",
        "anonymous_id": "_c_anonymous_id",
        "identities": identities_map(id_values),
        "carrier": "_c_carrier",
        "app_id": "_c_app_id",
        "properties": "coalesce(_c_properties, '{}')",
    }
    return _assemble(inner, checks, outer, src, joined_columns(id_values, sealed), pre)


def users_query(plan: ColumnPlan, src: SourceFile, sealed: dict[str, str] | None = None) -> str:
    """The SELECT turning a users file into ``profile_set`` events (traits as properties)."""
    types = src.columns
    sealed = sealed or {}
    pre = Trimmed()
    ids = identity_values(plan, src, pre)
    user_col = plan.source("user_id")
    updated_col = plan.source("updated_at")
    traits = json_object_of([(c, types[c]) for c in plan.extras])
    inner = {
        "_c_user_id": clean_id(pre(text(user_col, types[user_col] if user_col else ""))),
        "_t_updated_at": time_raw(updated_col, types[updated_col] if updated_col else ""),
        "_c_updated_at": time_value(updated_col, types[updated_col] if updated_col else ""),
        "_c_traits": traits,
        **{f"_i_{n}": v for n, v in enumerate(ids.values())},
    }
    id_values = {k: f"_i_{n}" for n, k in enumerate(ids)}
    checks = [
        *_valid_line_check(src),
        *id_checks("user_id", "_c_user_id"),
        *[c for k, v in id_values.items() for c in id_checks(k, v)],
        *time_checks("updated_at", "_t_updated_at", "_c_updated_at", required=False),
        *json_checks("traits", "_c_traits", "OBJECT"),
        *invalid_checks(id_values, sealed, ["_c_user_id", *id_values.values()], ""),
        _no_identity_check(["_c_user_id", *id_values.values()], users=True),
    ]
    identities = identities_map(id_values)
    # The id hashes the normalised row without the import time, so a re-import is a no-op.
    digest = (
        f"'u:' || md5(CAST(to_json(struct_pack(u := _c_user_id, i := {identities}, "
        f"t := _c_traits, at := _c_updated_at)) AS VARCHAR))"
    )
    outer = {
        "event_id": digest,
        "type": "'profile_set'",
        "event": "'$profile_set'",
        "event_time": "coalesce(_c_updated_at, $now)",
        "user_id": "_c_user_id",
        "anonymous_id": "NULL::VARCHAR",
        "identities": identities,
        "carrier": "'import'",
        "app_id": "NULL::VARCHAR",
        "properties": "_c_traits",
    }
    return _assemble(inner, checks, outer, src, joined_columns(id_values, sealed), pre)


def _assemble(
    inner: dict[str, str],
    checks: list[Check],
    outer: dict[str, str],
    src: SourceFile,
    joined: dict[str, str],
    pre: Trimmed,
) -> str:
    return _assemble_rows(inner, checks, outer, src, _EVENT_OUTPUT, joined, pre)


def _assemble_rows(
    inner: dict[str, str],
    checks: list[Check],
    outer: dict[str, str],
    src: SourceFile,
    output: str,
    joined: dict[str, str] | None = None,
    pre: Trimmed | None = None,
) -> str:
    """Three levels: parse the columns, find the first failing check, shape the row.

    ``pre`` are columns the parsing reads, computed a level below it. ``joined`` (inner
    column -> lookup) swaps personal ids for their sealed values between the first two
    levels (`sealed_ids.sealed_join`).
    """
    reason, key = reason_sql(checks)
    source = SOURCE_VIEW
    if pre is not None and pre.columns:
        level0 = ", ".join(f"{expr} AS {name}" for name, expr in pre.columns.items())
        source = f"(SELECT *, {level0} FROM {SOURCE_VIEW})"
    level1 = ", ".join(f"{expr} AS {name}" for name, expr in inner.items())
    parsed = sealed_join(f"(SELECT *, {level1} FROM {source})", joined or {})
    level3 = ", ".join(f"{expr} AS {ident(name)}" for name, expr in outer.items())
    return f"""
        SELECT _row, reason, reason_key, payload, {output}
        FROM (
            SELECT _row, reason,
                   CASE WHEN reason IS NOT NULL THEN {key} END AS reason_key,
                   CASE WHEN reason IS NOT NULL THEN {src.payload_sql} END AS payload,
                   {level3}
            FROM (
                SELECT *, {reason} AS reason
                FROM {parsed}
            )
        )
    """


def _valid_line_check(src: SourceFile) -> list[Check]:
    if src.format != "jsonl":
        return []
    return [
        Check(
            "the line is not a JSON object",
            "NOT _valid",
            "'line ' || (_row + 1) || ' is not a JSON object: ' || left(_line, 60)",
        )
    ]


def _carrier_checks() -> list[Check]:
    return [
        Check(
            "carrier is unknown",
            f"NOT {one_of('_c_carrier', sorted(CARRIERS))}",
            f"'carrier ' || {_quoted('_c_carrier')} || "
            f"{literal(' is not one of: ' + ', '.join(sorted(CARRIERS)))}",
        )
    ]


def _no_identity_check(values: list[str], *, users: bool = False) -> Check:
    what = "user_id or identity column" if users else "user_id, anonymous_id or id_<type>"
    return Check(
        "no user id",
        " AND ".join(f"{v} IS NULL" for v in values),
        literal(f"the row has no {what} value, so it cannot be linked to a person"),
    )


def _quoted(expr: str) -> str:
    return f"('''' || left({expr}, 40) || '''')"
