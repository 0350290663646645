"""Channel tags (渠道标签): first and latest channel code, campaign and launch scene.

The same fields as the touches of `siyu.identity.profiles` (its ``CHANNEL_KEYS`` and
``CAMPAIGN_KEYS``, first non-empty key wins), read natively through the dialect: this
runs over every event. One regular expression over the text picks the events that may
hold a field before any JSON is parsed; one grouped pass then takes first and latest by
(event_time, seq).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from siyu.identity.profiles import CAMPAIGN_KEYS, CHANNEL_KEYS
from siyu.segments.dialect import Dialect
from siyu.segments.models.config import DEFAULT_CONFIG, ModelsConfig

#: Keys under Segment's ``context.campaign`` object rather than in ``properties``.
_CONTEXT_PREFIX = "context.campaign."


def channel_tags(
    events: ir.Table,
    channels: ir.Table | None = None,
    *,
    config: ModelsConfig = DEFAULT_CONFIG,
    dialect: Dialect,
) -> ir.Table:
    """person_id, first_channel, first_campaign, latest_channel, latest_campaign,
    first_scene, latest_scene: one row per person with at least one of them.

    Each column is the first or latest non-empty value over the person's events (a
    campaign from the ``channels`` row of the event's channel code when the event
    names none); scenes are the mini-program launch scene (场景值, ``$scene``).
    """
    rules = config.channels
    keys = [*CHANNEL_KEYS, *CAMPAIGN_KEYS, *rules.scene_keys]
    own = [k for k in keys if not k.startswith(_CONTEXT_PREFIX)]
    # One regular expression reads each text once; a test per key reads it per key.
    named = "|".join(_literal(k) for k in dict.fromkeys(own))
    touches = events.filter(events.properties.re_search(f'"({named})"') | _segment_campaign(events))

    def first_text(names: tuple[str, ...]) -> ir.StringValue:
        texts = [_read(touches, name, dialect).nullif("") for name in names]
        picked: ir.StringValue = ibis.coalesce(*texts)
        return picked

    touches = touches.select(
        "person_id",
        "event_time",
        "seq",
        channel=first_text(CHANNEL_KEYS),
        campaign=first_text(CAMPAIGN_KEYS),
        scene=first_text(rules.scene_keys),
    )
    if channels is not None and rules.use_channel_campaign:
        codes = channels.select(code=channels.code, code_campaign=channels.campaign)
        touches = touches.left_join(codes, touches.channel == codes.code)
        touches = touches.mutate(campaign=ibis.coalesce(touches.campaign, touches.code_campaign))
    order = ibis.struct({"t": touches.event_time, "s": touches.seq})
    out = touches.group_by("person_id").aggregate(
        first_channel=touches.channel.argmin(order, where=touches.channel.notnull()),
        first_campaign=touches.campaign.argmin(order, where=touches.campaign.notnull()),
        latest_channel=touches.channel.argmax(order, where=touches.channel.notnull()),
        latest_campaign=touches.campaign.argmax(order, where=touches.campaign.notnull()),
        first_scene=touches.scene.argmin(order, where=touches.scene.notnull()),
        latest_scene=touches.scene.argmax(order, where=touches.scene.notnull()),
    )
    return out.filter(
        out.first_channel.notnull() | out.first_campaign.notnull() | out.first_scene.notnull()
    )


def _read(touches: ir.Table, name: str, dialect: Dialect) -> ir.StringValue:
    """A field as text: a top-level member of ``properties``, or for Segment's
    ``context.campaign.<key>`` a member of that object in ``context``. JSON is parsed
    only where the text mentions the key (most candidates mention one or two)."""
    if name.startswith(_CONTEXT_PREFIX):
        campaign = dialect.json_text(touches.context, "campaign")
        text = dialect.json_text(campaign, name.removeprefix(_CONTEXT_PREFIX))
        mentioned = _segment_campaign(touches)
    else:
        text = dialect.json_text(touches.properties, name)
        mentioned = touches.properties.contains(f'"{name}"')
    value: ir.StringValue = ibis.cases((mentioned, text), else_=ibis.null(dt.string))
    return value


def _segment_campaign(events: ir.Table) -> ir.BooleanValue:
    """Whether a Segment record's context may hold the ``campaign`` (UTM) object."""
    found: ir.BooleanValue = (events.protocol == "segment") & events.context.contains('"campaign"')
    return found


def _literal(key: str) -> str:
    """A property key as a regular expression matching itself, without backslashes
    (string literals treat them differently on the two engines).

    Example:
        >>> _literal("$utm_source")
        '[$]utm_source'
    """
    return "".join(f"[{c}]" if c in "$-" else c for c in key)
