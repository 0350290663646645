"""The segment builder's model (分群规则构建器): nested AND / OR groups of conditions, as
plain data the console edits, turned into the rule language of `siyu.segments.definition`
(and back, so a saved segment opens in the builder).

Kept free of UI code so its logic is tested directly; `pages/segments.py` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

#: Condition kinds the builder offers, in the order of its menu.
KINDS: Final = ("event", "no_event", "last_event", "property", "spend", "layer")
#: Set-like nodes offered under "layer" (用户分层), with their allowed values where fixed.
LAYERS: Final[dict[str, tuple[str, ...]]] = {
    "lifecycle": ("new", "active", "silent", "churned", "returning"),
    "rfm": (
        "important_value",
        "important_develop",
        "important_retain",
        "important_recall",
        "general_value",
        "general_develop",
        "general_retain",
        "general_recall",
    ),
    "value_tier": ("loyal", "high_quality", "ordinary", "low_frequency", "churned"),
    "role": ("ordinary", "active", "paying", "ugc_author", "koc"),
    "paying": ("true", "false"),
    "tag": (),
    "segment": (),
    "channel": (),
    "interest": (),
}
PROPERTY_OPS: Final = (
    "eq", "ne", "gt", "gte", "lt", "lte", "contains", "in", "is_set", "is_not_set",
    "within_last_days", "more_than_days_ago",
)  # fmt: skip
#: Operators that take no value.
NO_VALUE_OPS: Final = ("is_set", "is_not_set")


class BuilderError(ValueError):
    """A condition the builder cannot turn into a rule; the message says which field."""


@dataclass
class Condition:
    """One row of the builder. ``kind`` is one of `KINDS`; the other fields are what the
    row's inputs hold (empty until filled)."""

    kind: str = "event"
    event: str = ""
    days: int | None = 30
    times: int = 1
    prop: str = ""
    op: str = "eq"
    value: str = ""
    layer: str = "lifecycle"


@dataclass
class Group:
    """满足全部 (``all``) or 满足任一 (``any``) of its items; ``negate`` wraps it in not."""

    match: str = "all"
    negate: bool = False
    items: list[Condition | Group] = field(default_factory=list)


def to_rule(group: Group, path: str = "rule") -> dict[str, Any]:
    """The rule-language tree of ``group``; `BuilderError` names an unfinished row."""
    if not group.items:
        raise BuilderError(f"{path}: the group is empty; add a condition or remove the group")
    parts = [
        to_rule(item, f"{path}.{group.match}[{i}]")
        if isinstance(item, Group)
        else _condition(item, f"{path}.{group.match}[{i}]")
        for i, item in enumerate(group.items)
    ]
    node: dict[str, Any] = parts[0] if len(parts) == 1 else {group.match: parts}
    return {"not": node} if group.negate else node


def _window(days: int | None) -> dict[str, Any]:
    return {"window": {"last_days": int(days)}} if days else {}


def _value(text: str) -> Any:
    """Numbers as numbers, ``a, b`` as a list, else the text."""
    text = text.strip()
    if "," in text or "，" in text:
        return [_value(v) for v in text.replace("，", ",").split(",") if v.strip()]
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _s(value: Any) -> str:
    """A field as text: widgets leave None in fields they cleared."""
    return "" if value is None else str(value).strip()


def _condition(c: Condition, path: str) -> dict[str, Any]:
    c = Condition(
        c.kind,
        _s(c.event),
        c.days,
        int(c.times or 1),
        _s(c.prop),
        c.op or "eq",
        _s(c.value),
        c.layer or "",
    )
    if c.kind in ("event", "no_event", "last_event") and not c.event.strip():
        raise BuilderError(f"{path}: choose an event")
    if c.kind == "event":
        node: dict[str, Any] = {"name": c.event.strip(), **_window(c.days)}
        if c.times > 1:
            node["at_least"] = int(c.times)
        if c.prop.strip():
            node["where"] = [_where(c, path)]
        return {"event": node}
    if c.kind == "no_event":
        return {"event": {"name": c.event.strip(), "at_most": 0, **_window(c.days)}}
    if c.kind == "last_event":
        if not c.days:
            raise BuilderError(f"{path}: enter how many days ago")
        return {"last_event": {"name": c.event.strip(), "more_than_days_ago": int(c.days)}}
    if c.kind == "property":
        if not c.prop.strip():
            raise BuilderError(f"{path}: choose a property")
        return {"property": _where(c, path)}
    if c.kind == "spend":
        try:
            yuan = float(c.value)
        except ValueError:
            raise BuilderError(f"{path}: enter the amount in yuan, e.g. 300") from None
        return {
            "aggregate": {
                "fn": "sum",
                "source": "orders",
                "property": "net_fen",
                "op": "gte",
                "value": round(yuan * 100),
                **_window(c.days),
            }
        }
    if c.kind == "layer":
        if c.layer not in LAYERS:
            raise BuilderError(f"{path}: unknown layer {c.layer!r}")
        if not c.value.strip():
            raise BuilderError(f"{path}: choose a value for {c.layer}")
        value: Any = c.value.strip()
        if c.layer == "paying":
            value = value == "true"
        return {c.layer: value}
    raise BuilderError(f"{path}: unknown condition kind {c.kind!r}")


def _where(c: Condition, path: str) -> dict[str, Any]:
    node: dict[str, Any] = {"name": c.prop.strip(), "op": c.op}
    if c.op not in NO_VALUE_OPS:
        if not c.value.strip():
            raise BuilderError(f"{path}: enter a value for {c.prop.strip()}")
        node["value"] = _value(c.value)
    return node


def from_rule(rule: dict[str, Any]) -> Group:
    """A builder group for a stored rule; nodes the builder has no row for raise
    `BuilderError` (edit those in YAML)."""
    negate = False
    if set(rule) == {"not"}:
        negate, rule = True, rule["not"]
    if set(rule) & {"all", "any"}:
        match = "all" if "all" in rule else "any"
        items: list[Condition | Group] = []
        for child in rule[match]:
            nested = set(child) & {"all", "any", "not"}
            items.append(from_rule(child) if nested else _row(child))
        return Group(match, negate, items)
    return Group("all", negate, [_row(rule)])


def _row(node: dict[str, Any]) -> Condition:
    ((kind, body),) = node.items()
    if kind == "event" and isinstance(body, dict):
        days = (body.get("window") or {}).get("last_days")
        if body.get("at_most") == 0:
            return Condition("no_event", event=body["name"], days=days)
        where = (body.get("where") or [{}])[0]
        return Condition(
            "event",
            event=body["name"],
            days=days,
            times=int(body.get("at_least", 1)),
            prop=where.get("name", ""),
            op=where.get("op", "eq"),
            value=_text(where.get("value", "")),
        )
    if kind == "last_event":
        return Condition("last_event", event=body["name"], days=body.get("more_than_days_ago"))
    if kind == "property":
        return Condition(
            "property", prop=body["name"], op=body["op"], value=_text(body.get("value", ""))
        )
    if kind == "aggregate" and body.get("source") == "orders" and body.get("fn") == "sum":
        days = (body.get("window") or {}).get("last_days")
        return Condition("spend", value=_text(body["value"] / 100), days=days)
    if kind in LAYERS:
        return Condition("layer", layer=kind, value=_text(body).lower())
    raise BuilderError(f"the builder cannot show a {kind!r} condition; edit it as YAML")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
