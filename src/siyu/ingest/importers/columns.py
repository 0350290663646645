"""The canonical columns of each import kind, and how a file's columns map onto them.

Pure planning: given the column names a file has and the user's ``--map src=dst``
renames, decide which file column feeds which canonical field, which columns are typed
identities (``id_<type>``) and which are extra (stored in ``properties`` / traits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from siyu.ingest.exceptions import ImportFailed, RecordRejected
from siyu.ingest.normalize import identity_type

ImportKind = Literal["events", "users", "orders"]
KINDS: Final[tuple[ImportKind, ...]] = ("events", "users", "orders")

#: A column named ``id_<type>`` is an identity of that type (``id_phone``, ``id_unionid``).
IDENTITY_PREFIX: Final = "id_"

#: Canonical columns per kind; see docs/importing.md for the meaning of each.
EVENT_COLUMNS: Final = (
    "event_id",
    "event",
    "type",
    "event_time",
    "user_id",
    "anonymous_id",
    "properties",
    "carrier",
    "app_id",
)
#: Users: these columns are identities of the same name; every other column is a trait.
USER_IDENTITY_COLUMNS: Final = (
    "member_id",
    "phone",
    "unionid",
    "mp_openid",
    "oa_openid",
    "wecom_external_userid",
    "email",
)
USER_COLUMNS: Final = ("user_id", *USER_IDENTITY_COLUMNS, "updated_at")
ORDER_COLUMNS: Final = (
    "order_id",
    "member_id",
    "user_id",
    "paid_at",
    "amount_fen",
    "amount_yuan",
    "refund_fen",
    "refund_yuan",
    "status",
    "items",
    "coupon_code",
    "channel",
    "carrier",
)

CANONICAL: Final[dict[ImportKind, tuple[str, ...]]] = {
    "events": EVENT_COLUMNS,
    "users": USER_COLUMNS,
    "orders": ORDER_COLUMNS,
}

#: Each inner tuple is satisfied by any one of its columns.
REQUIRED: Final[dict[ImportKind, tuple[tuple[str, ...], ...]]] = {
    "events": (("event",), ("event_time",)),
    "users": (),
    "orders": (("order_id",), ("paid_at",), ("amount_fen", "amount_yuan")),
}


@dataclass(frozen=True)
class ColumnPlan:
    """Which file column feeds each canonical field; all names are the file's own."""

    kind: ImportKind
    columns: tuple[str, ...]
    canonical: dict[str, str]
    identities: dict[str, str]
    extras: tuple[str, ...]

    def source(self, name: str) -> str | None:
        """The file column feeding canonical field ``name``, if the file has one."""
        return self.canonical.get(name)


def parse_mapping(items: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["src=dst", ...]`` (as typed after ``--map``) or a dict, checked, as a dict.

    Example:
        >>> parse_mapping(["手机号=phone", "下单时间=paid_at"])
        {'手机号': 'phone', '下单时间': 'paid_at'}
    """
    if items is None:
        return {}
    pairs: list[tuple[object, object]]
    if isinstance(items, Mapping):
        pairs = list(items.items())
    elif isinstance(items, str):
        raise ImportFailed(f"mapping {items!r} must be a list of src=dst pairs, not one string")
    else:
        pairs = []
        for item in items:
            src, sep, dst = str(item).partition("=")
            if not sep:
                raise ImportFailed(
                    f"mapping {item!r} is not of the form src=dst; write e.g. --map 手机号=phone"
                )
            pairs.append((src, dst))
    out: dict[str, str] = {}
    for raw_src, raw_dst in pairs:
        if not isinstance(raw_src, str) or not isinstance(raw_dst, str):
            raise ImportFailed(f"mapping {raw_src!r}={raw_dst!r} must map a column name to a name")
        src, dst = raw_src.strip(), raw_dst.strip()
        if not src or not dst:
            raise ImportFailed(
                f"mapping {src!r}={dst!r} has an empty side; write e.g. --map 手机号=phone"
            )
        if src in out:
            raise ImportFailed(f"column {src!r} is mapped twice ({out[src]!r} and {dst!r})")
        out[src] = dst
    return out


def plan_columns(kind: ImportKind, columns: list[str], mapping: Mapping[str, str]) -> ColumnPlan:
    """Apply ``mapping`` to the file's ``columns`` and check the required ones are there."""
    if kind not in KINDS:
        raise ImportFailed(f"unknown import kind {kind!r}; use one of: {', '.join(KINDS)}")
    missing_src = [src for src in mapping if src not in columns]
    if missing_src:
        raise ImportFailed(
            f"--map names {_names(missing_src)}, which the file does not have; "
            f"its columns are: {_names(columns)}"
        )
    canonical_names = CANONICAL[kind]
    targets: dict[str, str] = {}
    for column in columns:
        target = mapping.get(column, column)
        if target in targets:
            raise ImportFailed(
                f"columns {targets[target]!r} and {column!r} would both be {target!r}; "
                "rename or drop one of them with --map"
            )
        targets[target] = column
    for src, dst in mapping.items():
        if kind != "users" and dst not in canonical_names and not dst.startswith(IDENTITY_PREFIX):
            raise ImportFailed(
                f"--map {src}={dst}: {dst!r} is not one of the {kind} columns; use one of "
                f"{', '.join(canonical_names)} or id_<type>"
            )

    canonical: dict[str, str] = {}
    identities: dict[str, str] = {}
    extras: list[str] = []
    for target, column in targets.items():
        if target in canonical_names:
            canonical[target] = column
            if kind == "users" and target in USER_IDENTITY_COLUMNS:
                _add_identity(identities, target, column)
        elif target.startswith(IDENTITY_PREFIX) and len(target) > len(IDENTITY_PREFIX):
            _add_identity(identities, target[len(IDENTITY_PREFIX) :], column)
        else:
            extras.append(column)

    missing = [group for group in REQUIRED[kind] if not any(name in canonical for name in group)]
    if missing:
        needed = ", ".join(" or ".join(group) for group in missing)
        raise ImportFailed(
            f"the file lacks required {kind} column(s): {needed}. Its columns are: "
            f"{_names(columns)}. Rename them in the file or map yours onto them, e.g. "
            f"--map <your column>={missing[0][0]}"
        )
    return ColumnPlan(kind, tuple(columns), canonical, identities, tuple(extras))


def _add_identity(identities: dict[str, str], raw_type: str, column: str) -> None:
    try:
        id_type = identity_type(raw_type)
    except RecordRejected as exc:
        raise ImportFailed(f"column {column!r}: {exc.reason}") from None
    if id_type in identities:
        raise ImportFailed(
            f"columns {identities[id_type]!r} and {column!r} are both identity type "
            f"{id_type!r}; keep one or map the other to a different id_<type>"
        )
    identities[id_type] = column


def _names(names: Iterable[str]) -> str:
    listed = [repr(n) for n in names]
    if len(listed) > 30:
        listed = [*listed[:30], f"... ({len(listed) - 30} more)"]
    return ", ".join(listed) if listed else "(none)"
