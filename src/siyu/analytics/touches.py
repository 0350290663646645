"""Channel touches (触点): the moments an event names a channel, campaign, scene or content.

A touch is one event of a person that carries a value of the chosen dimension:

- ``channel``: the channel code — the first non-empty of
  `siyu.identity.profiles.CHANNEL_KEYS` (QR ``scene``, WeCom ``state``, ``channel``,
  ``utm_source`` and Segment's ``context.campaign.source``). Referral scenes that name
  one inviter each (``poster:<member id>``) count as one channel, ``poster:*``.
- ``campaign``: the first of `CAMPAIGN_KEYS` (``campaign``, ``utm_campaign``, Segment's
  ``context.campaign.name``), else the campaign of the event's channel code in the
  ``channels`` table.
- ``scene``: the mini-program launch scene (场景值, ``$scene``: 1047 = scanned a
  mini-program code, 1045 = Moments ad ...).
- ``content``: the item an event of ``content_events`` is about,
  ``<item_type>:<item_id>`` (``article:A001``, ``book:B012``), or the bare ``item_id``.

Everything is an Ibis expression: JSON is parsed only where the text mentions a key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from siyu.analytics.scope import Context
from siyu.identity.profiles import CAMPAIGN_KEYS, CHANNEL_KEYS
from siyu.identity.resolution import actors
from siyu.segments.dialect import Dialect

#: The touch dimensions.
DIMENSIONS: Final = ("channel", "campaign", "scene", "content")
#: Launch-scene keys (Sensors' mini-program SDK).
SCENE_KEYS: Final = ("$scene",)
#: Events whose ``item_id`` is content a person looked at, when a request names none.
CONTENT_EVENTS: Final = ("read_article", "view_item", "view_content", "play_video")
#: Item keys of content events.
ITEM_KEY: Final = "item_id"
ITEM_TYPE_KEY: Final = "item_type"
#: Scene prefixes that name an inviter (``poster:<member id>``), when a request names none.
REFERRAL_PREFIXES: Final = ("poster:",)

#: Keys under Segment's ``context.campaign`` object rather than in ``properties``.
_CONTEXT_PREFIX: Final = "context.campaign."

#: Names of common mini-program launch scenes (场景值), from WeChat's documentation.
SCENE_NAMES: Final = {
    "1001": "发现栏小程序主入口",
    "1005": "微信首页顶部搜索",
    "1006": "发现栏小程序搜索",
    "1007": "单人聊天小程序卡片",
    "1008": "群聊小程序卡片",
    "1011": "扫描二维码",
    "1012": "长按识别二维码",
    "1013": "相册选取二维码",
    "1035": "公众号自定义菜单",
    "1036": "App 分享消息卡片",
    "1037": "小程序打开小程序",
    "1038": "从另一个小程序返回",
    "1043": "公众号模板消息",
    "1044": "带 shareTicket 的卡片",
    "1045": "朋友圈广告",
    "1046": "朋友圈广告详情页",
    "1047": "扫描小程序码",
    "1048": "长按识别小程序码",
    "1049": "相册选取小程序码",
    "1053": "搜一搜结果页",
    "1058": "公众号文章",
    "1067": "公众号文章广告",
    "1074": "公众号会话小程序卡片",
    "1089": "聊天主界面下拉",
}


def touches(
    events: ir.Table,
    dimension: str,
    *,
    dialect: Dialect,
    actors: ir.Table,
    channels: ir.Table | None = None,
    content_events: Sequence[str] = CONTENT_EVENTS,
    referral_prefixes: Sequence[str] = REFERRAL_PREFIXES,
) -> ir.Table:
    """person_id, touch_time, touch_seq, value: one row per event carrying ``dimension``.

    ``events`` are warehouse events without their person: the few that may carry a
    touch are picked by their text first, then joined to their person through
    ``actors`` (`siyu.identity.resolution.actors`) — joining every event first costs
    several times more.

    Example:
        >>> t = ibis.table({"event": "string", "seq": "int64", "event_time": "timestamp",
        ...     "properties": "string", "context": "string", "protocol": "string",
        ...     "actor": "int64"}, name="events")
        >>> who = ibis.table({"actor_key": "int64", "person_id": "string"}, name="actors")
        >>> from siyu.segments.dialect import DUCKDB
        >>> touches(t, "scene", dialect=DUCKDB, actors=who).columns
        ('person_id', 'touch_time', 'touch_seq', 'value')
    """
    if dimension == "channel":
        found = _keyed(events, CHANNEL_KEYS, dialect)
        value = _collapse(found.value, referral_prefixes)
    elif dimension == "campaign":
        found = _keyed(events, (*CAMPAIGN_KEYS, *CHANNEL_KEYS), dialect)
        named = first_text(found, CAMPAIGN_KEYS, dialect)
        found = found.mutate(value=named, code=first_text(found, CHANNEL_KEYS, dialect))
        if channels is not None:
            codes = channels.select(c_code=channels.code, c_campaign=channels.campaign)
            found = found.left_join(codes, found.code == codes.c_code)
            found = found.mutate(value=ibis.coalesce(found.value, found.c_campaign.nullif("")))
        value = found.value
    elif dimension == "scene":
        found = _keyed(events, SCENE_KEYS, dialect)
        value = found.value
    elif dimension == "content":
        found = events.filter(
            events.event.isin(list(content_events)),
            events.properties.contains(f'"{ITEM_KEY}"'),
        )
        item = dialect.json_text(found.properties, ITEM_KEY).nullif("")
        kind = _mentioned(found.properties, ITEM_TYPE_KEY, dialect).nullif("")
        value = ibis.cases((kind.notnull(), kind.concat(":", item)), else_=item)
    else:
        raise ValueError(f"unknown touch dimension {dimension!r}; use one of {DIMENSIONS}")
    out = found.select(
        touch_time=found.event_time, touch_seq=found.seq, actor=found.actor, value=value
    )
    out = with_person(out.filter(out.value.notnull()), actors)
    return out.select("person_id", "touch_time", "touch_seq", "value")


def with_person(events: ir.Table, actors: ir.Table) -> ir.Table:
    """``events`` plus the ``person_id`` of each one's actor (rows without one dropped),
    matched on column ``actor``: the same person as `siyu.segments.facts.Facts.events`."""
    joined = events.join(actors, events.actor == actors.actor_key)
    return joined.drop("actor_key")


def actors_of(ctx: Context) -> ir.Table:
    """actor_key, person_id: the person of every identity records name as ``actor``."""
    return actors(ctx.table("identities"))


def labels_for(
    ctx: Context, dimension: str, values: Sequence[str], referral_prefixes: Sequence[str]
) -> dict[str, str]:
    """Readable names of touch values: a channel code's name in ``channels``, a scene's
    WeChat name, a content item's title in ``items``; values without one are absent."""
    wanted = [v for v in values if v]
    labels: dict[str, str] = {f"{p}*": "referral codes, one per inviter" for p in referral_prefixes}
    if dimension == "channel" and wanted:
        channels = ctx.table("channels")
        named = channels.filter(channels.code.isin(wanted)).select("code", "name")
        labels |= {r["code"]: r["name"] for r in named.to_pyarrow().to_pylist()}
    elif dimension == "scene":
        labels |= {v: f"{v} {SCENE_NAMES[v]}" for v in wanted if v in SCENE_NAMES}
    elif dimension == "content" and wanted:
        items = ctx.table("items")
        key = items.item_type.concat(":", items.item_id)
        found = items.filter(key.isin(wanted) | items.item_id.isin(wanted))
        title = ctx.facts.dialect.json_text(found.properties, "title")
        rows = found.select("item_type", "item_id", title=title).to_pyarrow().to_pylist()
        for r in rows:
            if r["title"]:
                labels[f"{r['item_type']}:{r['item_id']}"] = r["title"]
                labels.setdefault(r["item_id"], r["title"])
    return {v: labels[v] for v in values if v in labels}


def _keyed(events: ir.Table, keys: Sequence[str], dialect: Dialect) -> ir.Table:
    """Events whose text mentions one of ``keys``, with ``value``: the first non-empty."""
    own = [k for k in dict.fromkeys(keys) if not k.startswith(_CONTEXT_PREFIX)]
    test = events.properties.re_search('"(' + "|".join(literal_key(k) for k in own) + ')"')
    if any(k.startswith(_CONTEXT_PREFIX) for k in keys):
        test |= _segment_campaign(events)
    found = events.filter(test)
    return found.mutate(value=first_text(found, keys, dialect))


def first_text(table: ir.Table, keys: Sequence[str], dialect: Dialect) -> ir.StringValue:
    """The first non-empty of ``keys`` (``context.campaign.*`` read from ``context``)."""
    texts = []
    for key in keys:
        if key.startswith(_CONTEXT_PREFIX):
            campaign = dialect.json_text(table.context, "campaign")
            text = dialect.json_text(campaign, key.removeprefix(_CONTEXT_PREFIX))
            texts.append(ibis.cases((_segment_campaign(table), text), else_=ibis.null(dt.string)))
        else:
            texts.append(_mentioned(table.properties, key, dialect))
    picked: ir.StringValue = ibis.coalesce(*(t.nullif("") for t in texts))
    return picked


def _mentioned(doc: ir.StringValue, key: str, dialect: Dialect) -> ir.StringValue:
    """Member ``key`` of JSON ``doc``, parsed only where the text mentions it."""
    value: ir.StringValue = ibis.cases(
        (doc.contains(f'"{key}"'), dialect.json_text(doc, key)), else_=ibis.null(dt.string)
    )
    return value


def _collapse(value: ir.StringValue, prefixes: Sequence[str]) -> ir.StringValue:
    """``poster:M123`` -> ``poster:*``: scenes naming one inviter each are one channel."""
    if not prefixes:
        return value
    cases = [(value.startswith(p), ibis.literal(f"{p}*")) for p in prefixes]
    collapsed: ir.StringValue = ibis.cases(*cases, else_=value)
    return collapsed


def _segment_campaign(events: ir.Table) -> ir.BooleanValue:
    """Whether a Segment record's context may hold the ``campaign`` (UTM) object."""
    found: ir.BooleanValue = (events.protocol == "segment") & events.context.contains('"campaign"')
    return found


def literal_key(key: str) -> str:
    """A property key as a regular expression matching itself, without backslashes.

    Example:
        >>> literal_key("$utm_source")
        '[$]utm_source'
    """
    return "".join(f"[{c}]" if c in "$-" else c for c in key)
