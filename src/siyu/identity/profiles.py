"""Person profiles (用户画像): properties, activity, first and latest touch, reachability.

`person_profiles` turns the events, each carrying the ``person_id`` the identity graph
gave it, into one row per person: the facts segments and journeys read. See
docs/profiles.md for every column and the event names it reads.

Set-based replay of the profile operations (Sensors ``profile_*``, Segment ``identify``
traits, PostHog ``$set`` / ``$set_once`` / ``$unset``): JSON members become rows
(person, key, op, value) ordered by (event_time, seq, op rank). Windows per person and
per (person, key) drop what the last ``profile_delete`` or ``profile_unset`` forgot, keep
a ``set_once`` only when it is the key's first live op, and fold the increments and
appends that follow the key's last set.

Engine gap: Ibis 12 cannot list a JSON object's members on PySpark (``ToJSONMap`` and
``ToJSONArray`` have no PySpark rule) and ``JSONGetItem`` unquotes strings on Spark but
not on DuckDB. `json_entries`, a Python UDF both backends run, is therefore the one
non-native step; it only sees candidate rows, picked first with portable string tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import orjson

from siyu.pipeline.daily import local_day, utc_offsets

#: Sensors bookkeeping keys that ride in profile properties but are not properties.
RESERVED_KEYS: Final = (
    "$is_login_id",
    "$lib",
    "$lib_version",
    "$lib_method",
    "$lib_detail",
    "$app_id",
    "$project",
    "$token",
)
#: Record type -> profile operation applied to every member of ``properties``.
PROFILE_TYPES: Final = {
    "identify": "set",
    "profile_set": "set",
    "profile_set_once": "set_once",
    "profile_increment": "increment",
    "profile_append": "append",
    "profile_unset": "unset",
}
#: PostHog keys inside ``properties`` -> profile operation on their members.
POSTHOG_KEYS: Final = {"$set_once": "set_once", "$set": "set", "$unset": "unset"}

#: Fields read from ``properties``, first non-empty wins; ``context.campaign.*`` is
#: Segment's UTM object in ``context``.
CHANNEL_KEYS: Final = (
    "scene",
    "state",
    "State",
    "channel",
    "$utm_source",
    "utm_source",
    "context.campaign.source",
)
CAMPAIGN_KEYS: Final = ("campaign", "$utm_campaign", "utm_campaign", "context.campaign.name")
GROUP_KEYS: Final = ("chat_id", "ChatId", "group_id")
STAFF_KEYS: Final = ("staff_userid", "UserID")
CHANGE_KEYS: Final = ("change_type", "ChangeType")

#: Carrier events (PROTOCOLS.md sections 4-5).
OA_FOLLOW: Final = "subscribe"
OA_UNFOLLOW: Final = "unsubscribe"
WECOM_CHANGE: Final = "change_external_contact"
WECOM_ADD: Final = ("add_external_contact", "add_half_external_contact")
WECOM_REMOVE: Final = ("del_external_contact", "del_follow_user")
GROUP_JOIN: Final = ("join_group",)
GROUP_LEAVE: Final = ("leave_group", "quit_group")

_SET_OPS: Final = ("set", "set_once")
_OP_RANK: Final = {"set_once": 0, "set": 1, "increment": 1, "append": 1, "unset": 2}
_EVENT_COLUMNS: Final = (
    "person_id",
    "event_id",
    "seq",
    "event_time",
    "type",
    "event",
    "protocol",
    "carrier",
    "app_id",
)
_ZONE_SPAN: Final = (date(2000, 1, 1), date(2040, 12, 31))
_MAX_EXACT: Final = 2**53

ENTRIES: Final = dt.Array(
    dt.Struct(
        {
            "key": dt.string,
            "label": dt.string,
            "position": dt.int64,
            "value": dt.string,
            "text": dt.string,
            "number": dt.float64,
        }
    )
)


class Entry(NamedTuple):
    """One member of a JSON object or array (a tuple: DuckDB converts those ~7x faster)."""

    key: str
    label: str | None
    position: int
    value: str
    text: str | None
    number: float | None


def entries_of(doc: str | None) -> list[Entry]:
    """Members of a JSON object (or items of an array, keyed by index) as rows.

    ``label`` is the key as JSON, ``value`` the member as canonical JSON (sorted keys),
    ``text`` a string or the JSON text of a number or boolean, ``number`` a number.
    Anything but an object or array gives no rows.

    Example:
        >>> entries_of('{"a": [1]}')[0].value
        '[1]'
    """
    try:
        parsed = orjson.loads(doc) if doc else None
    except orjson.JSONDecodeError:
        return []
    pairs: list[tuple[str, Any, str | None]]
    if isinstance(parsed, dict):
        pairs = [(str(k), v, orjson.dumps(str(k)).decode()) for k, v in parsed.items()]
    elif isinstance(parsed, list):
        pairs = [(str(i), v, None) for i, v in enumerate(parsed)]
    else:
        return []
    rows = []
    for position, (key, value, label) in enumerate(pairs):
        scalar = value is not None and not isinstance(value, (dict, list))
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        text = value if isinstance(value, str) else _dumps(value) if scalar else None
        canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        rows.append(Entry(key, label, position, canonical, text, float(value) if numeric else None))
    return rows


def json_entries(doc: ir.StringValue) -> ir.ArrayValue:
    """`entries_of` over a column: a Python UDF that DuckDB and Spark both run.

    A fresh UDF (and function name) per call: DuckDB registers functions catalog-wide,
    but Ibis removes an old one only through the cursor that made it, so a name reused
    from another `Warehouse.ibis` cursor would clash.
    """
    udf = ibis.udf.scalar.python(signature=((dt.string,), ENTRIES))(entries_of)
    entries: ir.ArrayValue = udf(doc)
    return entries


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def person_profiles(
    events: ir.Table, tz: str = "Asia/Shanghai", *, channels: ir.Table | None = None
) -> ir.Table:
    """One row per ``person_id``: properties, activity, touches and carriers.

    ``events`` has the events columns plus ``person_id``; ``channels`` (optional, the
    channels table) fills a touch's campaign from its channel code when the event names
    none.
    """
    base = events.filter(events.person_id.notnull())
    fields = _fields(base)
    out = _activity(base, tz)
    for part in (
        _touches(fields, channels),
        _follows(base),
        _wecom(fields),
        _groups(fields),
        profile_properties(base),
    ):
        out = out.left_join(part, "person_id").drop("person_id_right")
    no_groups = ibis.literal([], type=dt.Array(dt.string))
    return out.select(
        "person_id",
        properties=ibis.coalesce(out.properties, ibis.literal("{}")),
        first_seen=out.first_seen,
        last_seen=out.last_seen,
        event_count=out.event_count,
        active_days=out.active_days,
        first_source_id=out.first_source_id,
        first_carrier=out.first_carrier,
        first_channel=out.first_channel,
        first_campaign=out.first_campaign,
        latest_source_id=out.latest_source_id,
        latest_carrier=out.latest_carrier,
        latest_channel=out.latest_channel,
        latest_campaign=out.latest_campaign,
        follows_oa=ibis.coalesce(out.follows_oa, False),
        wecom_contact=ibis.coalesce(out.wecom_contact, False),
        groups=ibis.coalesce(out.groups, no_groups),
        has_app=out.has_app,
        has_mp=out.has_mp,
        carriers=out.carriers,
    )


def _order(t: ir.Table) -> ir.StructValue:
    """The replay order of an event: (event_time, seq)."""
    return ibis.struct({"t": t.event_time, "s": t.seq})


def _mentions(column: ir.StringValue, keys: list[str]) -> ir.BooleanValue:
    """Whether JSON text may hold one of ``keys``: a cheap test before parsing."""
    hit: ir.BooleanValue = ibis.literal(False)
    for key in keys:
        hit |= column.contains(_dumps(key))
    return hit


def _entries(table: ir.Table, column: str, *keep: str) -> ir.Table:
    """Event columns (and ``keep``) with one row per member of the JSON in ``column``."""
    rows = table.select(*_EVENT_COLUMNS, *keep, e=json_entries(table[column]))
    return rows.unnest("e").unpack("e")


def _fields(base: ir.Table) -> ir.Table:
    """Events that may name a channel, campaign, group or staff member, with those fields.

    Carrier events come in whatever their properties; others only when their JSON text
    mentions one of the keys read (``context`` for Segment's ``campaign``).
    """
    keys = [*CHANNEL_KEYS, *CAMPAIGN_KEYS, *GROUP_KEYS, *STAFF_KEYS, *CHANGE_KEYS]
    carrier_events = [OA_FOLLOW, OA_UNFOLLOW, WECOM_CHANGE, *WECOM_ADD, *WECOM_REMOVE]
    utm = _mentions(base.context, ["campaign"])
    candidates = base.filter(
        base.event.isin([*carrier_events, *GROUP_JOIN, *GROUP_LEAVE])
        | (base.type == "group")
        | _mentions(base.properties, [k for k in keys if not k.startswith("context.")])
        | utm
    ).select(*_EVENT_COLUMNS, "properties", "context")
    members = _entries(candidates, "properties")
    context = _entries(candidates.filter(_mentions(candidates.context, ["campaign"])), "context")
    inner = _entries(context.filter(context.key == "campaign").rename(doc="value"), "doc")
    flat = members.select("event_id", "key", "text").union(
        inner.select("event_id", key="context.campaign." + inner.key, text=inner.text)
    )
    flat = flat.filter(flat.text.notnull() & (flat.text != ""))

    def first(keys: tuple[str, ...]) -> ir.StringValue:
        picked: ir.StringValue = ibis.coalesce(*(flat.text.max(where=flat.key == k) for k in keys))
        return picked

    picked = flat.group_by(flat.event_id.name("f_event_id")).aggregate(
        channel=first(CHANNEL_KEYS),
        campaign=first(CAMPAIGN_KEYS),
        group_id=first(GROUP_KEYS),
        staff=first(STAFF_KEYS),
        change_type=first(CHANGE_KEYS),
    )
    joined = candidates.left_join(picked, candidates.event_id == picked.f_event_id)
    return joined.select(*_EVENT_COLUMNS, "channel", "campaign", "group_id", "staff", "change_type")


def _activity(base: ir.Table, tz: str) -> ir.Table:
    """First and last seen, counts, first and latest source and carrier, carriers."""
    order = _order(base)
    day = local_day(base.event_time, zone_offsets(tz))
    return base.group_by("person_id").aggregate(
        first_seen=base.event_time.min(),
        last_seen=base.event_time.max(),
        event_count=base.count(),
        active_days=day.nunique(),
        first_source_id=base.source_id.argmin(order),
        first_carrier=base.carrier.argmin(order),
        latest_source_id=base.source_id.argmax(order),
        latest_carrier=base.carrier.argmax(order),
        has_app=(base.carrier == "app").any(),
        has_mp=(base.carrier == "mp").any(),
        carriers=base.carrier.collect(distinct=True).sort(),
    )


def _touches(fields: ir.Table, channels: ir.Table | None) -> ir.Table:
    """First and latest non-empty channel code and campaign per person."""
    touch = fields.select("person_id", "event_time", "seq", "channel", "campaign")
    if channels is not None:
        codes = channels.select(code=channels.code, code_campaign=channels.campaign)
        touch = touch.left_join(codes, touch.channel == codes.code)
        touch = touch.select(
            "person_id",
            "event_time",
            "seq",
            "channel",
            campaign=ibis.coalesce(touch.campaign, touch.code_campaign),
        )
    order = _order(touch)
    return touch.group_by("person_id").aggregate(
        first_channel=touch.channel.argmin(order, where=touch.channel.notnull()),
        first_campaign=touch.campaign.argmin(order, where=touch.campaign.notnull()),
        latest_channel=touch.channel.argmax(order, where=touch.channel.notnull()),
        latest_campaign=touch.campaign.argmax(order, where=touch.campaign.notnull()),
    )


def _follows(base: ir.Table) -> ir.Table:
    """Whether the person's latest follow event on some official account is a follow."""
    oa = base.filter(base.carrier == "oa", base.event.isin([OA_FOLLOW, OA_UNFOLLOW]))
    per_account = oa.group_by(["person_id", "app_id"]).aggregate(
        on=(oa.event == OA_FOLLOW).argmax(_order(oa))
    )
    return per_account.group_by("person_id").aggregate(follows_oa=per_account.on.any())


def _wecom(fields: ir.Table) -> ir.Table:
    """Whether the person is a contact of some staff member: the latest add or delete."""
    action = ibis.cases((fields.event == WECOM_CHANGE, fields.change_type), else_=fields.event)
    changes = fields.filter(fields.carrier == "wecom").mutate(action=action)
    changes = changes.filter(changes.action.isin([*WECOM_ADD, *WECOM_REMOVE]))
    per_staff = changes.group_by(["person_id", "staff"]).aggregate(
        on=changes.action.isin(WECOM_ADD).argmax(_order(changes))
    )
    return per_staff.group_by("person_id").aggregate(wecom_contact=per_staff.on.any())


def _groups(fields: ir.Table) -> ir.Table:
    """Sorted ids of the groups whose latest join/leave event for the person is a join."""
    moves = fields.filter(
        fields.group_id.notnull()
        & (fields.event.isin([*GROUP_JOIN, *GROUP_LEAVE]) | (fields.type == "group"))
    )
    latest = moves.group_by(["person_id", "group_id"]).aggregate(
        inside=(~moves.event.isin(GROUP_LEAVE)).argmax(_order(moves))
    )
    inside = latest.filter(latest.inside)
    return inside.group_by("person_id").aggregate(groups=inside.group_id.collect().sort())


def profile_operations(events: ir.Table) -> ir.Table:
    """Profile ops as rows: person_id, event_time, seq, rank, action, key, label, value, number.

    ``rank`` orders the ops of one event (PostHog ``$set_once`` before ``$set`` before
    ``$unset``); ``profile_delete`` is one row with a null key. Each event's JSON is
    parsed once: PostHog's objects are unnested from the same rows (``keep_empty``).
    """
    posthog = (events.protocol == "posthog") & _mentions(events.properties, list(POSTHOG_KEYS))
    own = (events.protocol != "posthog") & events.type.isin(list(PROFILE_TYPES))
    members = _entries(events.filter(posthog | own), "properties")
    nested = (members.protocol == "posthog") & members.key.isin(list(POSTHOG_KEYS))
    members = members.filter(
        nested | ((members.protocol != "posthog") & ~members.key.isin(RESERVED_KEYS))
    )
    doc = ibis.cases((nested, members.value), else_=ibis.null(dt.string))
    inner = members.select(
        "person_id", "event_time", "seq", "type", "protocol", "key", "label", "value", "number",
        e=json_entries(doc),
    ).unnest("e", keep_empty=True)  # fmt: skip
    is_posthog = inner.protocol == "posthog"
    unset = inner.key == "$unset"
    own_ops = inner.select(
        "person_id",
        "event_time",
        "seq",
        action=ibis.cases(
            (is_posthog, inner.key.substitute(POSTHOG_KEYS)),
            else_=inner.type.substitute(PROFILE_TYPES),
        ),
        key=ibis.cases(
            (is_posthog & unset, inner.e.text), (is_posthog, inner.e.key), else_=inner.key
        ),
        label=ibis.cases((is_posthog, inner.e.label), else_=inner.label),
        value=ibis.cases((is_posthog, inner.e.value), else_=inner.value),
        number=ibis.cases((is_posthog, inner.e.number), else_=inner.number),
    )
    deletes = events.filter(events.type == "profile_delete").select(
        "person_id",
        "event_time",
        "seq",
        action=ibis.literal("delete"),
        key=ibis.null(dt.string),
        label=ibis.null(dt.string),
        value=ibis.null(dt.string),
        number=ibis.null(dt.float64),
    )
    columns = ("person_id", "event_time", "seq", "action", "key", "label", "value", "number")
    ops = own_ops.select(*columns).union(deletes)
    ops = ops.filter(ops.key.notnull() | (ops.action == "delete"))
    ops = ops.filter((ops.action != "increment") | ops.number.notnull())
    return ops.mutate(rank=ops.action.substitute(_OP_RANK, else_=3))


def profile_properties(events: ir.Table) -> ir.Table:
    """person_id and ``properties``: the JSON object (sorted keys) the ops leave behind."""
    ops = profile_operations(events)
    ops = ops.mutate(
        m=ibis.row_number().over(group_by="person_id", order_by=["event_time", "seq", "rank"])
    )
    ops = ops.mutate(gone=ops.m.max(where=ops.action == "delete").over(group_by="person_id"))
    live = ops.filter(ops.action != "delete", ops.gone.isnull() | (ops.m > ops.gone))
    by_key = ibis.window(group_by=["person_id", "key"])
    live = live.mutate(unset=live.m.max(where=live.action == "unset").over(by_key))
    live = live.filter(live.action != "unset", live.unset.isnull() | (live.m > live.unset))
    live = live.mutate(first=live.m.min().over(by_key))
    live = live.filter((live.action != "set_once") | (live.m == live.first))
    live = live.mutate(base=live.m.max(where=live.action.isin(_SET_OPS)).over(by_key))
    live = live.filter(live.base.isnull() | (live.m >= live.base))

    is_set = live.action.isin(_SET_OPS)
    keys = live.group_by(["person_id", "key"]).aggregate(
        label=live.label.max(),
        base=live.value.max(where=is_set),
        base_number=live.number.max(where=is_set),
        inc=live.number.sum(where=live.action == "increment"),
        has_inc=(live.action == "increment").any(),
        has_append=(live.action == "append").any(),
    )
    lists = _appended_lists(live)
    keys = keys.left_join(lists, ["person_id", "key"]).drop("person_id_right", "key_right")
    value = ibis.cases(
        (keys.base.isnull() & keys.has_inc, _number_text(keys.inc)),
        (keys.base.isnull() & keys.has_append, keys.list_json),
        (keys.base_number.notnull() & keys.has_inc, _number_text(keys.base_number + keys.inc)),
        (keys.base.startswith("[") & keys.has_append, keys.list_json),
        else_=keys.base,
    )
    keys = keys.mutate(value=value).filter(lambda t: t.value.notnull())
    member = ibis.struct({"key": keys.key, "member": keys.label + ":" + keys.value})
    people = keys.group_by("person_id").aggregate(members=member.collect())
    body = people.members.sort().map(lambda s: s.member).join(",")
    return people.select("person_id", properties="{" + body + "}")


def _appended_lists(live: ir.Table) -> ir.Table:
    """person_id, key, ``list_json``: a list key's base items plus new appended items."""
    lists = live.filter(
        (live.action == "append") | (live.action.isin(_SET_OPS) & live.value.startswith("["))
    )
    arrays = lists.filter(lists.value.startswith("["))
    items = arrays.select("person_id", "key", "m", e=json_entries(arrays.value)).unnest("e")
    items = items.select("person_id", "key", "m", pos=items.e.position, item=items.e.value)
    scalars = lists.filter(~lists.value.startswith("[")).select(
        "person_id", "key", "m", pos=ibis.literal(0, type=dt.int64), item=lists.value
    )
    items = items.union(scalars)
    items = items.mutate(
        n=ibis.row_number().over(group_by=["person_id", "key", "item"], order_by=["m", "pos"])
    )
    items = items.filter(items.n == 0)
    entry = ibis.struct({"m": items.m, "pos": items.pos, "item": items.item})
    collected = items.group_by(["person_id", "key"]).aggregate(entries=entry.collect())
    body = collected.entries.sort().map(lambda s: s.item).join(",")
    return collected.select("person_id", "key", list_json="[" + body + "]")


def _number_text(x: ir.FloatingValue) -> ir.StringValue:
    """A number as JSON text: whole numbers without a fraction, the same on every engine."""
    whole = (x == x.floor()) & (x.abs() < _MAX_EXACT)
    text: ir.StringValue = ibis.cases(
        (whole, x.cast(dt.int64).cast(dt.string)), else_=x.cast(dt.string)
    )
    return text


@lru_cache(maxsize=16)
def zone_offsets(tz: str) -> tuple[tuple[datetime, int], ...]:
    """The UTC offsets of ``tz`` from 2000 to 2040 in the form `local_day` takes.

    Scans day by day and refines each change hour by hour with `utc_offsets`, so a zone
    with daylight saving costs ~15k look-ups once per process.

    Example:
        >>> zone_offsets("Asia/Shanghai")
        ((datetime.datetime(1999, 12, 31, 0, 0), 28800),)
    """
    zone = ZoneInfo(tz)
    start, end = _ZONE_SPAN
    found = list(utc_offsets(tz, start, start))[:1]
    day = datetime(start.year, start.month, start.day, tzinfo=UTC)
    last = datetime(end.year, end.month, end.day, tzinfo=UTC)
    previous = found[0][1]
    while day <= last:
        offset = day.astimezone(zone).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        if seconds != previous:
            near = (day - timedelta(days=1)).date()
            for when, value in utc_offsets(tz, near, near)[1:]:
                if value != found[-1][1]:
                    found.append((when, value))
            previous = seconds
        day += timedelta(days=1)
    return tuple(found)
