"""Marketing costs (营销成本): what the operator spent on a channel code or a campaign.

Operations ``costs.add``, ``costs.list`` and ``costs.remove`` (`siyu.analytics.service`)
write and read the ``marketing_costs`` table; attribution and referral trees read it
through `costs_by_key` to give CAC, ROI and cost per acquired user.

A cost covers local days ``from``..``to`` (both included) and is spread evenly over
them: an analysis of part of that span counts the share of its days. Amounts are
integer fen (分); ``cost_yuan`` is accepted on entry and converted exactly.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from siyu.analytics.exceptions import InvalidRequest, NotFound
from siyu.analytics.scope import Context
from siyu.analytics.service import parse_request
from siyu.storage import cost_store

if TYPE_CHECKING:
    from siyu.runtime import Runtime

#: What a cost can be entered for.
COST_DIMENSIONS: Final = ("channel", "campaign")
#: Longest span one entry may cover (ten years): longer is almost always a typo.
MAX_SPAN_DAYS: Final = 3_660
MAX_KEY: Final = 64
MAX_NOTE: Final = 500

Dimension = Literal["channel", "campaign"]


class CostEntry(BaseModel):
    """A cost to record: exactly one of ``cost_fen`` (integer fen) or ``cost_yuan``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dimension: Dimension
    key: str = Field(min_length=1, max_length=MAX_KEY)
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    cost_fen: int | None = None
    cost_yuan: Decimal | None = None
    note: str = Field(default="", max_length=MAX_NOTE)
    actor: str = Field(default="api", min_length=1, max_length=64)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value != value.strip() or any(ord(c) < 32 for c in value):
            raise ValueError(
                f"{value!r} has spaces at an end or control characters; write the key as "
                "the channel code or campaign name appears in events"
            )
        return value

    @field_validator("cost_fen")
    @classmethod
    def _fen(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"a cost cannot be negative ({value} fen); enter what was spent")
        return value

    @field_validator("cost_yuan")
    @classmethod
    def _yuan(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        if not value.is_finite() or value < 0:
            raise ValueError(f"a cost cannot be negative ({value} yuan); enter what was spent")
        if value != value.quantize(Decimal("0.01")):
            raise ValueError(f"{value} yuan has more than 2 decimals; the smallest unit is 1 fen")
        return value

    @model_validator(mode="after")
    def _amount_and_span(self) -> CostEntry:
        if (self.cost_fen is None) == (self.cost_yuan is None):
            raise ValueError("give the amount once: cost_fen (integer fen) or cost_yuan (yuan)")
        if self.date_to < self.date_from:
            raise ValueError(
                f"to ({self.date_to}) is before from ({self.date_from}); a cost covers the "
                "local days from..to, both included"
            )
        if (self.date_to - self.date_from).days + 1 > MAX_SPAN_DAYS:
            raise ValueError(f"the span is longer than {MAX_SPAN_DAYS} days; split the cost")
        return self

    @property
    def fen(self) -> int:
        if self.cost_fen is not None:
            return self.cost_fen
        assert self.cost_yuan is not None
        return int(self.cost_yuan * 100)


class CostFilter(BaseModel):
    """Which entries ``costs.list`` shows (all by default)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dimension: Dimension | None = None
    key: str | None = None
    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")


def add(runtime: Runtime, actor: str = "api", **body: Any) -> dict[str, Any]:
    """Record a cost (operation ``costs.add``); returns the stored entry. ``actor`` is who
    entered it (the service passes the signed-in user, never the request body).

    Example body: ``{"dimension": "channel", "key": "qr_bookfair", "from": "2024-05-01",
    "to": "2024-05-31", "cost_yuan": "8000", "note": "书展展位"}``.
    """
    entry: CostEntry = parse_request(CostEntry, {**body, "actor": actor})
    now = datetime.now(UTC).replace(tzinfo=None)
    with runtime.warehouse.transaction() as cur:
        row = cost_store.insert_cost(
            cur,
            cost_id=f"cost_{uuid.uuid4().hex[:12]}",
            dimension=entry.dimension,
            key=entry.key,
            day_from=entry.date_from,
            day_to=entry.date_to,
            cost_fen=entry.fen,
            note=entry.note,
            entered_at=now,
            entered_by=entry.actor,
        )
        known = cost_store.key_is_known(cur, entry.dimension, entry.key)
    answer = _public(row)
    answer["known"] = known
    if not known:
        answer["warning"] = (
            f"no channel in the channels table has {entry.dimension} {entry.key!r}; the cost "
            "counts only where touches name it exactly"
        )
    return answer


def list_costs(runtime: Runtime, **body: Any) -> dict[str, Any]:
    """Entries (operation ``costs.list``), newest span first, with their total."""
    wanted: CostFilter = parse_request(CostFilter, body)
    rows = cost_store.list_costs(
        runtime.warehouse.cursor(),
        dimension=wanted.dimension,
        key=wanted.key,
        day_from=wanted.date_from,
        day_to=wanted.date_to,
    )
    return {"costs": [_public(r) for r in rows], "total_fen": sum(r["cost_fen"] for r in rows)}


def remove(runtime: Runtime, cost_id: str) -> dict[str, Any]:
    """Delete entry ``cost_id`` (operation ``costs.remove``); returns what was removed."""
    if not isinstance(cost_id, str) or not cost_id.strip():
        raise InvalidRequest("cost_id", "give the id of the entry, as `costs list` shows it")
    with runtime.warehouse.transaction() as cur:
        removed = cost_store.delete_cost(cur, cost_id)
    if removed is None:
        raise NotFound(f"no cost entry {cost_id!r}; `siyu attribution costs list` shows the ids")
    return {"removed": _public(removed)}


def costs_by_key(
    ctx: Context, dimension: str, first: date, last: date, *, roll_up_channels: bool = True
) -> dict[str, float]:
    """Fen spent per key of ``dimension`` on local days ``first``..``last``.

    Each entry counts in proportion to the days of its span inside the range. For
    ``campaign``, entries on channel codes also count for their code's campaign in the
    ``channels`` table (unless ``roll_up_channels`` is false).

    Example:
        >>> _prorate(30_000, date(2024, 5, 1), date(2024, 5, 30), date(2024, 5, 21),
        ...          date(2024, 6, 9))
        10000.0
    """
    if dimension not in COST_DIMENSIONS:
        return {}
    kinds = ["channel", "campaign"] if dimension == "campaign" and roll_up_channels else [dimension]
    entries = _entries(ctx, kinds, first, last)
    campaign_of: Mapping[str, str] = {}
    if any(e["dimension"] != dimension for e in entries):
        campaign_of = _campaigns(ctx)
    out: dict[str, float] = defaultdict(float)
    for e in entries:
        key = e["key"] if e["dimension"] == dimension else campaign_of.get(e["key"])
        if key is not None:
            out[key] += _share(e, first, last)
    return dict(out)


def cost_of(ctx: Context, key: str, first: date, last: date) -> float | None:
    """Fen spent on ``key`` on local days ``first``..``last``: entries on the campaign
    ``key``, on the channel code ``key``, and on the channel codes whose campaign is
    ``key`` — each entry once. None when no entry names it."""
    entries = _entries(ctx, list(COST_DIMENSIONS), first, last)
    campaign_of = _campaigns(ctx) if any(e["dimension"] == "channel" for e in entries) else {}
    mine = [
        e
        for e in entries
        if e["key"] == key or (e["dimension"] == "channel" and campaign_of.get(e["key"]) == key)
    ]
    return sum(_share(e, first, last) for e in mine) if mine else None


def _entries(ctx: Context, kinds: list[str], first: date, last: date) -> list[dict[str, Any]]:
    """Cost entries of ``kinds`` overlapping ``first``..``last``."""
    costs = ctx.table("marketing_costs")
    costs = costs.filter(costs.dimension.isin(kinds), costs.day_to >= first, costs.day_from <= last)
    rows = costs.select("dimension", "key", "day_from", "day_to", "cost_fen").to_pyarrow()
    entries: list[dict[str, Any]] = rows.to_pylist()
    return entries


def _share(entry: Mapping[str, Any], first: date, last: date) -> float:
    return _prorate(entry["cost_fen"], _day(entry["day_from"]), _day(entry["day_to"]), first, last)


def _prorate(cost_fen: int, day_from: date, day_to: date, first: date, last: date) -> float:
    inside = (min(day_to, last) - max(day_from, first)).days + 1
    span = (day_to - day_from).days + 1
    return cost_fen * max(inside, 0) / span


def _campaigns(ctx: Context) -> dict[str, str]:
    channels = ctx.table("channels")
    named = channels.filter(channels.campaign.notnull() & (channels.campaign != ""))
    return {
        r["code"]: r["campaign"] for r in named.select("code", "campaign").to_pyarrow().to_pylist()
    }


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value  # type: ignore[no-any-return]


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["from"] = out.pop("day_from")
    out["to"] = out.pop("day_to")
    out["cost_yuan"] = round(row["cost_fen"] / 100, 2)
    return out
