"""Interest tags (兴趣标签): weights per tag from behaviour on tagged content items.

Each view, click, favourite, share (events naming an item) and each line of a net order
adds its weight, halved every ``half_life_days`` of age, to every tag of the item.
Weights are summed in integer millionths, so both engines rank and cut identically.
The item -> tags table is small and parsed by a Python UDF; events and orders are read
natively (docs/models.md, "Interest tags").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import orjson

from siyu.segments.dialect import Dialect
from siyu.segments.models.activity import net_orders, stack
from siyu.segments.models.config import DEFAULT_CONFIG, InterestsConfig, ModelsConfig
from siyu.segments.models.days import day_number, day_of, end_of, last_days_start

#: Weights are summed as integers in units of 1 / SCALE.
SCALE: Final = 1_000_000


def interests(
    events: ir.Table,
    orders: ir.Table,
    items: ir.Table,
    *,
    today: date,
    tz: str = "Asia/Shanghai",
    config: ModelsConfig = DEFAULT_CONFIG,
    dialect: Dialect,
) -> ir.Table:
    """person_id, tag, weight: at most ``top_n`` tags per person with weight at least
    ``min_weight``, from the window's events and net orders up to the end of ``today``.

    ``weight`` is a float with six decimals; ties in the top N go to the smaller tag.
    """
    rules = config.interests
    until = end_of(today, tz)
    since = last_days_start(today, rules.window_days, tz)
    now = day_number(today)

    acted = events.filter(
        events.event.isin(list(rules.event_weights)),
        events.event_time >= ibis.literal(since),
        events.event_time < ibis.literal(until),
    )
    touches = acted.select(
        "person_id",
        item_id=dialect.json_text(acted.properties, rules.item_key),
        age=now - day_of(acted.event_time, tz),
        points=acted.event.substitute(rules.event_weights, else_=ibis.null(dt.float64)),
    )
    paid = net_orders(orders, config.orders, until, since)
    lines = paid.select(
        "person_id", age=now - day_of(paid.paid_at, tz), line=dialect.json_items(paid.items)
    ).unnest("line")
    bought = lines.select(
        "person_id",
        item_id=dialect.json_text(lines.line, rules.item_key),
        age=lines.age,
        points=ibis.literal(rules.purchase_weight, type=dt.float64),
    )
    both = stack(touches, bought)
    both = both.filter(both.item_id.notnull() & (both.item_id != ""))
    # Doubles throughout: Spark reads a literal like 30.0 as a decimal and would round
    # the exponent to its scale. Each record's weight is rounded to whole units first,
    # so the sums are exact integers on every engine.
    half_lives = both.age.cast(dt.float64) / ibis.literal(rules.half_life_days, dt.float64)
    decayed = both.points * ibis.literal(0.5, dt.float64) ** half_lives
    both = both.mutate(units=(decayed * SCALE).round().cast(dt.int64))
    per_item = both.group_by(["person_id", "item_id"]).aggregate(units=both.units.sum())

    tags = item_tags(items, rules)
    tagged = per_item.join(tags, per_item.item_id == tags.tag_item_id)
    per_tag = tagged.group_by(["person_id", "tag"]).aggregate(units=tagged.units.sum())
    per_tag = per_tag.filter(per_tag.units >= round(rules.min_weight * SCALE))
    place = ibis.row_number().over(
        group_by="person_id", order_by=[ibis.desc(per_tag.units), per_tag.tag]
    )
    per_tag = per_tag.mutate(place=place)
    top = per_tag.filter(per_tag.place < rules.top_n)
    return top.select("person_id", "tag", weight=top.units.cast(dt.float64) / SCALE)


def item_tags(items: ir.Table, rules: InterestsConfig) -> ir.Table:
    """tag_item_id, tag: the tags of each live item, from ``tag_keys`` of its properties
    (a list of strings or one string each)."""
    live = items.filter(~items.deleted)
    keys = tuple(rules.tag_keys)

    def tags_of(doc: str | None) -> list[str]:
        return tags_in(doc, keys)

    udf = ibis.udf.scalar.python(signature=((dt.string,), dt.Array(dt.string)))(tags_of)
    rows = live.select(tag_item_id=live.item_id, tag=udf(live.properties)).unnest("tag")
    return rows.distinct()


def tags_in(doc: str | None, keys: Sequence[str]) -> list[str]:
    """The tags a JSON object holds under ``keys``: strings (or numbers) in a list or
    alone, trimmed, without empties or repeats, in order.

    Example:
        >>> tags_in('{"tags": ["童书", " 亲子 ", ""], "category": "童书"}', ["tags", "category"])
        ['童书', '亲子']
    """
    try:
        parsed: Any = orjson.loads(doc) if doc else None
    except orjson.JSONDecodeError:
        return []
    if not isinstance(parsed, dict):
        return []
    found: list[str] = []
    for key in keys:
        value = parsed.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                continue
            text = item.strip() if isinstance(item, str) else orjson.dumps(item).decode()
            if text and text not in found:
                found.append(text)
    return found
