"""The validating SELECT that turns an ``orders`` file into rows of the ``orders`` table.

Money is integer fen: ``amount_fen`` must be a whole number; ``amount_yuan`` may have at
most two decimals and is converted exactly (``"12.30"`` -> 1230), never through floats.
"""

from __future__ import annotations

from typing import Final

from siyu.ingest.importers.columns import ColumnPlan
from siyu.ingest.importers.events import _assemble_rows, _valid_line_check, identity_values
from siyu.ingest.importers.expressions import (
    Check,
    Trimmed,
    clean_id,
    id_checks,
    identities_map,
    json_checks,
    json_object_of,
    literal,
    one_of,
    preview,
    text,
    time_checks,
    time_raw,
    time_value,
)
from siyu.ingest.importers.reading import SourceFile
from siyu.ingest.importers.sealed_ids import invalid_checks, joined_columns
from siyu.ingest.model import CARRIERS

_ORDER_OUTPUT: Final = (
    "order_id, member_id, user_id, identities, paid_at, amount_fen, refund_fen, status, "
    "items, coupon_code, channel, carrier, properties, $source_id AS source_id, "
    "$import_id AS import_id, $now AS loaded_at"
)
_FEN: Final = "'[+-]?[0-9]{1,15}(\\.0+)?'"
_YUAN: Final = "'[+-]?[0-9]{1,13}(\\.[0-9]{1,2})?'"


def orders_query(plan: ColumnPlan, src: SourceFile, sealed: dict[str, str] | None = None) -> str:
    """The SELECT validating an orders file (columns of ``orders`` plus ``_row``/``reason``).

    ``sealed`` maps personal identity types to their lookups (`sealed_ids`).
    """
    types = src.columns
    sealed = sealed or {}

    def t(name: str) -> str:
        column = plan.source(name)
        return text(column, types[column] if column else "VARCHAR")

    paid_col = plan.source("paid_at")
    pre = Trimmed()
    ids = identity_values(plan, src, pre)
    inner = {
        "_c_order_id": clean_id(pre(t("order_id"))),
        "_c_member_id": clean_id(pre(t("member_id"))),
        "_c_user_id": clean_id(pre(t("user_id"))),
        "_t_paid_at": time_raw(paid_col, types[paid_col] if paid_col else ""),
        "_c_paid_at": time_value(paid_col, types[paid_col] if paid_col else ""),
        "_t_amount": f"coalesce({t('amount_fen')}, {t('amount_yuan')})",
        "_t_amount_unit": f"CASE WHEN {t('amount_fen')} IS NOT NULL THEN 'fen' "
        f"WHEN {t('amount_yuan')} IS NOT NULL THEN 'yuan' END",
        "_t_refund": f"coalesce({t('refund_fen')}, {t('refund_yuan')})",
        "_t_refund_unit": f"CASE WHEN {t('refund_fen')} IS NOT NULL THEN 'fen' "
        f"WHEN {t('refund_yuan')} IS NOT NULL THEN 'yuan' END",
        "_c_status": f"lower({t('status')})",
        "_c_items": t("items"),
        "_c_coupon_code": t("coupon_code"),
        "_c_channel": t("channel"),
        "_c_carrier": f"lower({t('carrier')})",
        "_c_properties": json_object_of([(c, types[c]) for c in plan.extras]),
        **{f"_i_{n}": v for n, v in enumerate(ids.values())},
    }
    id_values = {k: f"_i_{n}" for n, k in enumerate(ids)}
    amount = _fen("_t_amount", "_t_amount_unit")
    refund = f"coalesce({_fen('_t_refund', '_t_refund_unit')}, 0)"
    checks = [
        *_valid_line_check(src),
        Check("order_id is empty", "_c_order_id IS NULL", literal("order_id is empty")),
        *id_checks("order_id", "_c_order_id"),
        *id_checks("member_id", "_c_member_id"),
        *id_checks("user_id", "_c_user_id"),
        *[c for k, v in id_values.items() for c in id_checks(f"id_{k}", v)],
        *invalid_checks(
            id_values, sealed, ["_c_member_id", "_c_user_id", *id_values.values()], "id_"
        ),
        Check(
            "no member_id or user_id",
            " AND ".join(
                f"{v} IS NULL" for v in ["_c_member_id", "_c_user_id", *id_values.values()]
            ),
            literal("the order has no member_id, user_id or id_<type> value"),
        ),
        *time_checks("paid_at", "_t_paid_at", "_c_paid_at", required=True),
        Check(
            "amount is empty", "_t_amount IS NULL", literal("amount_fen (or amount_yuan) is empty")
        ),
        *_money_checks("amount", "_t_amount", "_t_amount_unit"),
        *_money_checks("refund", "_t_refund", "_t_refund_unit"),
        Check(
            "refund exceeds amount",
            f"{refund} > {amount}",
            f"'refund ' || {refund} || ' fen exceeds the amount ' || {amount} || ' fen'",
        ),
        *id_checks("coupon_code", "_c_coupon_code"),
        *id_checks("channel", "_c_channel"),
        *id_checks("status", "_c_status"),
        Check(
            "carrier is unknown",
            f"NOT {one_of('_c_carrier', sorted(CARRIERS))}",
            f"'carrier ' || {preview('_c_carrier')} || "
            f"{literal(' is not one of: ' + ', '.join(sorted(CARRIERS)))}",
        ),
        *json_checks("items", "_c_items", "ARRAY"),
        *json_checks("properties", "_c_properties", "OBJECT"),
    ]
    outer = {
        "order_id": "_c_order_id",
        "member_id": "_c_member_id",
        "user_id": "_c_user_id",
        "identities": identities_map(id_values),
        "paid_at": "_c_paid_at",
        "amount_fen": amount,
        "refund_fen": refund,
        "status": f"coalesce(_c_status, CASE WHEN {refund} > 0 AND {refund} >= {amount} "
        "THEN 'refunded' ELSE 'paid' END)",
        "items": "coalesce(_c_items, '[]')",
        "coupon_code": "_c_coupon_code",
        "channel": "_c_channel",
        "carrier": "coalesce(_c_carrier, 'import')",
        "properties": "_c_properties",
    }
    return _assemble_rows(
        inner, checks, outer, src, _ORDER_OUTPUT, joined_columns(id_values, sealed), pre
    )


def _fen(value: str, unit: str) -> str:
    """Exact integer fen from fen or yuan text; NULL when it does not parse."""
    return (
        f"CASE WHEN {unit} = 'fen' AND regexp_full_match({value}, {_FEN}) "
        f"THEN CAST(CAST({value} AS DECIMAL(18, 2)) AS BIGINT) "
        f"WHEN {unit} = 'yuan' AND regexp_full_match({value}, {_YUAN}) "
        f"THEN CAST(CAST({value} AS DECIMAL(18, 2)) * 100 AS BIGINT) END"
    )


def _money_checks(field: str, value: str, unit: str) -> list[Check]:
    shown = f"{field}_' || {unit} || ' ' || {preview(value)} || '"
    return [
        Check(
            f"{field} is not a whole number of fen",
            f"{unit} = 'fen' AND NOT regexp_full_match({value}, {_FEN})",
            f"'{shown} is not a whole number of fen; use amount_yuan for yuan with decimals'",
        ),
        Check(
            f"{field} is not a yuan amount",
            f"{unit} = 'yuan' AND NOT regexp_full_match({value}, {_YUAN})",
            f"'{shown} is not an amount in yuan with at most 2 decimals, such as 12.30'",
        ),
        Check(
            f"{field} is negative",
            f"{_fen(value, unit)} < 0",
            f"'{shown} is negative'",
        ),
    ]
