"""The built-in layers (分层) of one compute run: model tables and the sets they fill.

Each model (docs/models.md) gives a per-person Ibis table; `layer_tables` builds them all
from one `Facts`, and `layer_sets` turns their rows into memberships of the named sets
segments read: ``lifecycle:<stage>``, ``paying``, ``rfm:<class>``, ``value:<tier>``,
``role:<role>``, ``interest:<tag>`` (weighted) and ``channel:<first-touch code>``.
"""

from __future__ import annotations

from typing import Final

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from siyu.segments.definition import LIFECYCLE_STAGES, RFM_CLASSES, ROLES, VALUE_TIERS
from siyu.segments.facts import Facts
from siyu.segments.models.channels import channel_tags
from siyu.segments.models.config import ModelsConfig
from siyu.segments.models.interests import interests
from siyu.segments.models.lifecycle import lifecycle
from siyu.segments.models.rfm import rfm
from siyu.segments.models.value import roles, value_tiers

#: Sets whose every key is known in advance: they are applied (maybe empty) every run.
FIXED_SETS: Final = (
    *(f"lifecycle:{s}" for s in LIFECYCLE_STAGES),
    "paying",
    *(f"rfm:{c}" for c in RFM_CLASSES),
    *(f"value:{t}" for t in VALUE_TIERS),
    *(f"role:{r}" for r in ROLES),
)
#: Prefixes of sets named after data (interest tags, channel codes, manual tags).
OPEN_PREFIXES: Final = ("interest:", "channel:", "tag:")
MEMBER_SCHEMA: Final = pa.schema(
    [("set_key", pa.string()), ("person_id", pa.string()), ("weight", pa.float64())]
)


def layer_tables(
    facts: Facts, items: ir.Table, channels: ir.Table, config: ModelsConfig
) -> dict[str, ir.Table]:
    """Model name -> its per-person table, as Ibis expressions over ``facts``."""
    ev, orders, dialect = facts.events, facts.orders, facts.dialect
    today, tz = facts.today, facts.tz
    return {
        "lifecycle": lifecycle(ev, orders, today=today, tz=tz, config=config, dialect=dialect),
        "rfm": rfm(orders, today=today, tz=tz, config=config),
        "value": value_tiers(ev, orders, today=today, tz=tz, config=config),
        "roles": roles(ev, orders, items, today=today, tz=tz, config=config, dialect=dialect),
        "interests": interests(
            ev, orders, items, today=today, tz=tz, config=config, dialect=dialect
        ),
        "channels": channel_tags(ev, channels, config=config, dialect=dialect),
    }


def layer_sets(tables: dict[str, pa.Table]) -> pa.Table:
    """Membership rows (set_key, person_id, weight) from the computed model tables."""
    parts: list[pa.Table] = []

    def add(prefix: str, table: pa.Table, column: str, weight: str | None = None) -> None:
        values = table[column]
        keep = pc.is_valid(values)
        rows = table.filter(keep)
        keys = pc.binary_join_element_wise(prefix, rows[column].cast(pa.string()), "")
        weights = rows[weight] if weight else pa.nulls(rows.num_rows, pa.float64())
        parts.append(
            pa.table([keys, rows["person_id"], weights.cast(pa.float64())], schema=MEMBER_SCHEMA)
        )

    stages = tables["lifecycle"]
    add("lifecycle:", stages, "stage")
    paying = stages.filter(pc.fill_null(stages["paying"], False))
    parts.append(
        pa.table(
            [
                pa.array(["paying"] * paying.num_rows, pa.string()),
                paying["person_id"],
                pa.nulls(paying.num_rows, pa.float64()),
            ],
            schema=MEMBER_SCHEMA,
        )
    )
    add("rfm:", tables["rfm"], "rfm_class")
    add("value:", tables["value"], "value_tier")
    add("role:", tables["roles"], "role")
    add("interest:", tables["interests"], "tag", "weight")
    add("channel:", tables["channels"], "first_channel")
    return pa.concat_tables(parts) if parts else MEMBER_SCHEMA.empty_table()


def execute(tables: dict[str, ir.Table]) -> dict[str, pa.Table]:
    """Run each model; Arrow tables by name."""
    return {name: expr.to_pyarrow() for name, expr in tables.items()}
