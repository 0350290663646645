"""The issue-4 work as straightforward pandas: what an analyst would write instead of siyu.

`load` pulls what the analyst needs out of the warehouse (events and orders with their
person, items, channels, the persons); `compute` is pandas only: the built-in models
(lifecycle stages and paying, RFM classes, value tiers, roles, interest tags, first-touch
channel) and the segments of a YAML file, returning the size of every set siyu
materialises (``lifecycle:<stage>``, ``paying``, ``rfm:<class>``, ``value:<tier>``,
``role:<role>``, ``interest:<tag>``, ``channel:<code>``, ``segment:<key>``).

It follows docs/segments.md and the models in ``src/siyu/segments/models`` rule by rule
(local days in the project time zone, what counts as activity, refunds, rank ties,
decay, ...) so `bench_segments` can check that both give the same set sizes. Idiomatic
vectorised pandas: boolean masks, ``groupby``, ``merge``, ``merge_asof``; JSON text is
parsed with ``json.loads`` once per event that has properties. Only the definition
parser and the model settings' defaults come from siyu, never its computing code.

Not covered (the benchmark's rules and data do not use them): profile ``property``
leaves, manual ``tag`` leaves, datetime conditions, Segment's ``context.campaign``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import yaml

from siyu.segments.definition import (
    Aggregate,
    All,
    AnyOf,
    Carrier,
    Condition,
    Event,
    FirstEvent,
    InSet,
    LastEvent,
    Not,
    RelativeDate,
    Sequence,
    Window,
    parse_definition,
)
from siyu.segments.models.config import ModelsConfig

TZ = "Asia/Shanghai"
EPOCH = pd.Timestamp("1970-01-01")
#: Event columns a `where` condition reads directly; other names are JSON properties.
EVENT_COLUMNS = ("carrier", "app_id", "source_id", "protocol", "type", "library")
#: Profile fields (same lists as siyu.identity.profiles): first non-empty key wins.
CHANNEL_KEYS = ("scene", "state", "State", "channel", "$utm_source", "utm_source")
GROUP_KEYS = ("chat_id", "ChatId", "group_id")
STAFF_KEYS = ("staff_userid", "UserID")
CHANGE_KEYS = ("change_type", "ChangeType")
OA_FOLLOW, OA_UNFOLLOW = "subscribe", "unsubscribe"
WECOM_CHANGE = "change_external_contact"
WECOM_ADD = ("add_external_contact", "add_half_external_contact")
WECOM_REMOVE = ("del_external_contact", "del_follow_user")
GROUP_JOIN, GROUP_LEAVE = ("join_group",), ("leave_group", "quit_group")
STAGES = ("new", "active", "silent", "churned", "returning")
RFM_CLASSES = {  # (r high, f high, m high) -> class
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_retain",
    (False, False, True): "important_recall",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_retain",
    (False, False, False): "general_recall",
}


# -- load ---------------------------------------------------------------------------------


def load(cur: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Events and orders with their person, items, channels and persons, as DataFrames."""
    actor = """
        JOIN identity_links l ON l.seq = {t}.seq AND l.kind = 'node' AND l.sub = 0
        JOIN identities i ON i.identity_type = l.a_type AND i.identity_value = l.a_value
    """
    events = cur.execute(
        f"""
        SELECT i.person_id, e.seq, e.event, e.event_time, e.carrier, e.app_id, e.type,
               e.user_id, e.anonymous_id, e.properties
        FROM events e {actor.format(t="e")}
        """
    ).df()
    orders = cur.execute(
        f"""
        SELECT i.person_id, o.order_id, o.paid_at, o.amount_fen, o.refund_fen, o.status,
               o.items, o.channel, o.carrier
        FROM orders o {actor.format(t="o")}
        """
    ).df()
    return {
        "events": events,
        "orders": orders,
        "items": cur.execute("SELECT item_type, item_id, properties, deleted FROM items").df(),
        "channels": cur.execute("SELECT code, campaign FROM channels").df(),
        "persons": cur.execute("SELECT DISTINCT person_id FROM identities WHERE NOT junk").df(),
    }


# -- small helpers ------------------------------------------------------------------------


def day_start(day: date) -> pd.Timestamp:
    """The UTC instant (naive, like the stored timestamps) at which local ``day`` starts."""
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TZ))
    return pd.Timestamp(local.astimezone(UTC).replace(tzinfo=None))


def last_days_start(today: date, days: int) -> pd.Timestamp:
    """Start of "the last ``days`` days", today being day 1."""
    return day_start(today - timedelta(days=days - 1))


def local_day(ts: pd.Series) -> pd.Series:
    """Local day number (days since 1970-01-01) of UTC timestamps."""
    local = ts.dt.tz_localize("UTC").dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()
    return (local - EPOCH).dt.days


def matches(column: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    """``column`` is one of ``patterns`` (``name*`` matches a prefix)."""
    hit = column.isin([p for p in patterns if not p.endswith("*")])
    for p in patterns:
        if p.endswith("*"):
            hit |= column.str.startswith(p[:-1]).fillna(False).astype(bool)
    return hit


def json_text(value: Any) -> Any:
    """A JSON member as text, like DuckDB's ``json_extract_string``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Props:
    """The parsed properties of the events that have any: one column per key."""

    def __init__(self, events: pd.DataFrame) -> None:
        has = events.loc[events.properties != "{}", "properties"].map(json.loads)
        self.frame = pd.DataFrame(has.tolist(), index=has.index, dtype=object)

    def text(self, index: pd.Index, *keys: str, blank_is_missing: bool = False) -> pd.Series:
        """The first of ``keys`` present, as text, for the events ``index``."""
        out = pd.Series(None, index=index, dtype=object)
        for key in keys:
            if key not in self.frame:
                continue
            value = self.frame[key].reindex(index).map(json_text, na_action="ignore")
            if blank_is_missing:
                value = value.where(value != "")
            out = out.where(out.notna(), value)
        return out

    def number(self, index: pd.Index, key: str) -> pd.Series:
        return pd.to_numeric(self.text(index, key), errors="coerce")


# -- orders and activity (shared by the models) ---------------------------------------------


def counted_orders(orders: pd.DataFrame, cfg: ModelsConfig, until: pd.Timestamp) -> pd.DataFrame:
    """Orders paid before ``until`` not left unpaid, with net_fen and refunded (fully)."""
    status = orders.status.str.lower()
    kept = orders[
        orders.person_id.notna() & (orders.paid_at < until)
        & ~status.isin(cfg.orders.unpaid_statuses)
    ].copy()  # fmt: skip
    refund = kept.refund_fen.fillna(0)
    kept["net_fen"] = kept.amount_fen - refund
    kept["refunded"] = kept.status.str.lower().isin(cfg.orders.refunded_statuses) | (
        (refund > 0) & (refund >= kept.amount_fen)
    )
    return kept


def net_orders(
    orders: pd.DataFrame, cfg: ModelsConfig, until: pd.Timestamp, since: pd.Timestamp | None
) -> pd.DataFrame:
    """Counted orders not fully refunded, paid in [since, until)."""
    counted = counted_orders(orders, cfg, until)
    kept = counted[~counted.refunded]
    return kept if since is None else kept[kept.paid_at >= since]


def is_acting(events: pd.DataFrame, cfg: ModelsConfig) -> pd.Series:
    ignored = matches(events.type, cfg.activity.ignored_types) | matches(
        events.event, cfg.activity.ignored_events
    )
    return ~ignored


def paying_ids(orders: pd.DataFrame, today: date, cfg: ModelsConfig) -> pd.Index:
    window = cfg.lifecycle.paying_window_days
    since = last_days_start(today, window) if window else None
    paid = net_orders(orders, cfg, day_start(today + timedelta(days=1)), since)
    return pd.Index(paid.person_id.unique())


# -- models -------------------------------------------------------------------------------


def lifecycle(
    ev: pd.DataFrame, orders: pd.DataFrame, today: date, cfg: ModelsConfig
) -> pd.DataFrame:
    """person_id, stage, paying: every person with activity up to the end of today."""
    rules = cfg.lifecycle
    until = day_start(today + timedelta(days=1))
    acting = ev[(ev.event_time < until) & is_acting(ev, cfg)]
    paid = counted_orders(orders, cfg, until)
    acts = pd.concat(
        [
            acting[["person_id", "event_time"]].rename(columns={"event_time": "at"}),
            paid[["person_id", "paid_at"]].rename(columns={"paid_at": "at"}),
        ]
    )
    acts["day"] = local_day(acts["at"])
    days = acts[["person_id", "day"]].drop_duplicates().sort_values(["person_id", "day"])
    days["gap"] = days.groupby("person_id").day.diff()
    days["entry"] = days.day.where(days.gap.isna() | (days.gap > rules.active_days))
    days["back"] = days.day.where(days.gap > rules.return_gap_days)
    people = days.groupby("person_id").agg(
        first_day=("day", "min"), last_day=("day", "max"), entry=("entry", "max"),
        back=("back", "max"),
    )  # fmt: skip
    now = (pd.Timestamp(today) - EPOCH).days
    age = now - people.last_day
    is_new = now - people.first_day < rules.new_days
    returning = people.back.notna() & (now - people.back < rules.active_days)
    people["stage"] = np.select(
        [is_new, returning, age < rules.active_days, age < rules.churn_days],
        ["new", "returning", "active", "silent"],
        default="churned",
    )
    people["paying"] = people.index.isin(paying_ids(orders, today, cfg))
    return people.reset_index()[["person_id", "stage", "paying"]]


def rfm(orders: pd.DataFrame, today: date, cfg: ModelsConfig) -> pd.DataFrame:
    """person_id, rfm_class for every buyer with a net order in the window."""
    rules = cfg.rfm
    paid = net_orders(
        orders, cfg, day_start(today + timedelta(days=1)), last_days_start(today, rules.window_days)
    )
    buyers = paid.groupby("person_id").agg(
        last_paid=("paid_at", "max"), frequency=("paid_at", "size"), monetary=("net_fen", "sum")
    )
    buyers["recency"] = (pd.Timestamp(today) - EPOCH).days - local_day(buyers.last_paid)
    n = len(buyers)
    if rules.scoring == "cuts":
        buyers["r"] = 5 - sum((buyers.recency > c).astype(int) for c in rules.recency_cuts)
        buyers["f"] = 1 + sum((buyers.frequency >= c).astype(int) for c in rules.frequency_cuts)
        buyers["m"] = 1 + sum((buyers.monetary >= c).astype(int) for c in rules.monetary_cuts)
    else:
        # 1 + floor(5 x buyers with a strictly worse value / buyers)
        worse_r = buyers.recency.rank(method="min", ascending=False) - 1
        worse_f = buyers.frequency.rank(method="min") - 1
        worse_m = buyers.monetary.rank(method="min") - 1
        buyers["r"] = 1 + (5 * worse_r.astype(int)) // n
        buyers["f"] = 1 + (5 * worse_f.astype(int)) // n
        buyers["m"] = 1 + (5 * worse_m.astype(int)) // n
    high = {}
    for key in ("r", "f", "m"):
        if rules.split == "threshold":
            high[key] = buyers[key] >= rules.high_score
        else:
            high[key] = buyers[key] * n > buyers[key].sum()
    buyers["rfm_class"] = [
        RFM_CLASSES[k] for k in zip(high["r"], high["f"], high["m"], strict=True)
    ]
    return buyers.reset_index()[["person_id", "rfm_class"]]


def people(
    ev: pd.DataFrame,
    orders: pd.DataFrame,
    today: date,
    cfg: ModelsConfig,
    ugc_events: tuple[str, ...] = (),
    since: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Index person_id; last_active (NaT: never acted) and ugc (content events since
    ``since``) for every person with an event or a counted order up to the end of today."""
    until = day_start(today + timedelta(days=1))
    seen = ev[ev.event_time < until]
    wrote = seen.event.isin(ugc_events)
    if since is not None:
        wrote &= seen.event_time >= since
    rows = pd.DataFrame(
        {
            "person_id": seen.person_id,
            "at": seen.event_time.where(is_acting(seen, cfg)),
            "ugc": wrote.astype(int),
        }
    )
    paid = counted_orders(orders, cfg, until)
    rows = pd.concat(
        [rows, pd.DataFrame({"person_id": paid.person_id, "at": paid.paid_at, "ugc": 0})]
    )
    return rows.groupby("person_id").agg(last_active=("at", "max"), ugc=("ugc", "sum"))


def value_tiers(
    ev: pd.DataFrame, orders: pd.DataFrame, today: date, cfg: ModelsConfig
) -> pd.DataFrame:
    rules = cfg.value
    until = day_start(today + timedelta(days=1))
    out = people(ev, orders, today, cfg)
    window = net_orders(orders, cfg, until, last_days_start(today, rules.window_days))
    bought = window.groupby("person_id").agg(
        orders_n=("paid_at", "size"), spent=("net_fen", "sum"), last_paid=("paid_at", "max")
    )
    out = out.join(bought)
    n = out.orders_n.fillna(0)
    recent = out.last_paid >= last_days_start(today, rules.recent_days)
    gone = out.last_active.isna() | (out.last_active < last_days_start(today, rules.churn_days))
    valuable = (n >= rules.high_quality_min_orders) | (
        out.spent.fillna(0) >= rules.high_quality_min_fen
    )
    out["value_tier"] = np.select(
        [gone, (n >= rules.loyal_min_orders) & recent, valuable & (n > 0) & recent, n > 0],
        ["churned", "loyal", "high_quality", "ordinary"],
        default="low_frequency",
    )
    return out.reset_index()[["person_id", "value_tier"]]


def roles(
    ev: pd.DataFrame,
    props: Props,
    orders: pd.DataFrame,
    items: pd.DataFrame,
    today: date,
    cfg: ModelsConfig,
) -> pd.DataFrame:
    """person_id, role: one row per role held (ordinary for whoever holds none)."""
    rules = cfg.roles
    until = day_start(today + timedelta(days=1))
    since = last_days_start(today, rules.window_days) if rules.window_days else None
    out = people(ev, orders, today, cfg, ugc_events=rules.ugc_events, since=since)

    # Referrals: who arrived through whom (a user id or anonymous id in the properties).
    ref = ev[ev.event.isin(rules.referral_events) & (ev.event_time < until)]
    if since is not None:
        ref = ref[ref.event_time >= since]
    referrals = pd.DataFrame(
        {
            "referred": ref.person_id,
            "referrer": props.text(ref.index, *rules.referrer_keys, blank_is_missing=True),
        }
    ).dropna(subset=["referrer"])
    # Content items naming their author.
    live = items[~items.deleted]
    item_props = live.properties.map(json.loads)
    author = pd.Series(None, index=live.index, dtype=object)
    for key in rules.ugc_item_keys:
        text = item_props.map(lambda d, k=key: json_text(d.get(k)) if isinstance(d, dict) else None)
        author = author.where(author.notna(), text.where(text != ""))
    authors = pd.DataFrame({"item": live.item_type + ":" + live.item_id, "author": author}).dropna(
        subset=["author"]
    )
    # Whose ids those are: persons whose events carry them as user id or anonymous id.
    named = set(referrals.referrer) | set(authors.author)
    owners = pd.concat(
        [
            ev.loc[ev[column].isin(named), [column, "person_id"]].set_axis(["rid", "owner"], axis=1)
            for column in ("user_id", "anonymous_id")
        ]
    ).drop_duplicates()
    brought = referrals.merge(owners, left_on="referrer", right_on="rid")
    brought = brought[brought.owner != brought.referred]
    per_owner = brought.groupby("owner").referred.nunique()
    koc = per_owner[per_owner >= rules.koc_min_referrals].index
    wrote = authors.merge(owners, left_on="author", right_on="rid")
    pieces = wrote.groupby("owner").item.nunique()

    content = out.ugc + pieces.reindex(out.index, fill_value=0)
    held = pd.DataFrame(
        {
            "active": out.last_active >= last_days_start(today, cfg.lifecycle.active_days),
            "paying": out.index.isin(paying_ids(orders, today, cfg)),
            "ugc_author": content >= rules.ugc_min_events,
            "koc": out.index.isin(koc),
        },
        index=out.index,
    )
    held["ordinary"] = ~held.any(axis=1)
    long = held.rename_axis("person_id").reset_index().melt("person_id", var_name="role")
    return long[long.value][["person_id", "role"]]


def item_tags(items: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """item_id, tag: the tags of each live item (a list of strings or one string per key)."""
    live = items[~items.deleted]
    parsed = live.properties.map(json.loads)
    parts = []
    for key in keys:
        values = parsed.map(lambda d, k=key: d.get(k) if isinstance(d, dict) else None)
        exploded = pd.DataFrame({"item_id": live.item_id, "tag": values}).explode("tag")
        exploded = exploded[
            exploded.tag.map(lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool))
        ]
        tag = exploded.tag.map(lambda v: v.strip() if isinstance(v, str) else json_text(v))
        parts.append(exploded.assign(tag=tag))
    tags = pd.concat(parts)
    return tags[tags.tag != ""].drop_duplicates()


def interests(
    ev: pd.DataFrame,
    props: Props,
    orders: pd.DataFrame,
    items: pd.DataFrame,
    today: date,
    cfg: ModelsConfig,
) -> pd.DataFrame:
    """person_id, tag, weight: the top tags per person by decayed weight."""
    rules = cfg.interests
    until = day_start(today + timedelta(days=1))
    since = last_days_start(today, rules.window_days)
    now = (pd.Timestamp(today) - EPOCH).days
    acted = ev[
        ev.event.isin(list(rules.event_weights)) & (ev.event_time >= since)
        & (ev.event_time < until)
    ]  # fmt: skip
    touches = pd.DataFrame(
        {
            "person_id": acted.person_id,
            "item_id": props.text(acted.index, rules.item_key),
            "age": now - local_day(acted.event_time),
            "points": acted.event.map(rules.event_weights).astype(float),
        }
    )
    paid = net_orders(orders, cfg, until, since)
    lines = pd.DataFrame(
        {
            "person_id": paid.person_id,
            "age": now - local_day(paid.paid_at),
            "line": paid["items"].map(json.loads),
        }
    ).explode("line")
    bought = pd.DataFrame(
        {
            "person_id": lines.person_id,
            "item_id": lines.line.map(
                lambda d: json_text(d.get(rules.item_key)) if isinstance(d, dict) else None
            ),
            "age": lines.age,
            "points": rules.purchase_weight,
        }
    )
    both = pd.concat([touches, bought], ignore_index=True)
    both = both[both.item_id.notna() & (both.item_id != "")]
    per_day = both.groupby(["person_id", "item_id", "age"], as_index=False).points.sum()
    decayed = per_day.points * 0.5 ** (per_day.age / rules.half_life_days) * 1_000_000
    # Weights in integer millionths, rounded half away from zero (as SQL ROUND does).
    per_day["units"] = np.where(
        decayed - np.floor(decayed) >= 0.5, np.ceil(decayed), np.floor(decayed)
    ).astype(np.int64)
    per_item = per_day.groupby(["person_id", "item_id"], as_index=False).units.sum()
    tagged = per_item.merge(item_tags(items, rules.tag_keys), on="item_id")
    per_tag = tagged.groupby(["person_id", "tag"], as_index=False).units.sum()
    per_tag = per_tag[per_tag.units >= round(rules.min_weight * 1_000_000)]
    per_tag = per_tag.sort_values(["person_id", "units", "tag"], ascending=[True, False, True])
    per_tag["place"] = per_tag.groupby("person_id").cumcount() + 1
    top = per_tag[per_tag.place <= rules.top_n]
    return top.assign(weight=top.units / 1_000_000)[["person_id", "tag", "weight"]]


def first_channels(ev: pd.DataFrame, props: Props) -> pd.DataFrame:
    """person_id, first_channel: the channel of the person's earliest touch naming one."""
    touches = props.frame.index
    channel = props.text(touches, *CHANNEL_KEYS, blank_is_missing=True).dropna()
    named = ev.loc[channel.index, ["person_id", "event_time", "seq"]].assign(channel=channel)
    first = named.sort_values(["event_time", "seq"]).groupby("person_id").channel.first()
    return first.rename("first_channel").reset_index()


# -- segments -----------------------------------------------------------------------------


class Segments:
    """Evaluates parsed rules to a boolean Series over the persons."""

    def __init__(
        self,
        frames: dict[str, pd.DataFrame],
        props: Props,
        sets: dict[str, pd.DataFrame],
        definitions: dict[str, Any],
        today: date,
    ) -> None:
        self.ev = frames["events"]
        self.orders = frames["orders"]
        self.persons = pd.Index(frames["persons"].person_id.unique())
        self.props = props
        self.sets = sets
        self.definitions = definitions
        self.today = today

    def rule(self, node: Any) -> pd.Series:
        match node:
            case All(children):
                out = self.rule(children[0])
                for child in children[1:]:
                    out = out & self.rule(child)
                return out
            case AnyOf(children):
                out = self.rule(children[0])
                for child in children[1:]:
                    out = out | self.rule(child)
                return out
            case Not(child):
                return ~self.rule(child)
            case InSet("segment", key):
                return self.rule(self.definitions[key].rule)
            case InSet(kind, value, min_weight):
                return self.member(kind, value, min_weight)
            case Event():
                return self.event(node)
            case Aggregate():
                return self.aggregate(node)
            case LastEvent():
                return self.last_event(node)
            case FirstEvent():
                return self.first_event(node)
            case Sequence():
                return self.sequence(node)
            case Carrier():
                return self.carrier(node)
        raise NotImplementedError(f"the pandas reference does not evaluate {node!r}")

    # window and conditions

    def bounds(self, window: Window | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        if window is None:
            return None, None
        if window.last_days is not None:
            return (
                last_days_start(self.today, window.last_days),
                day_start(self.today + timedelta(days=1)),
            )
        start, end = (
            self.today - timedelta(days=d.days_ago) if isinstance(d, RelativeDate) else d
            for d in (window.start, window.end)
        )
        lo = day_start(start) if start else None
        hi = day_start(end + timedelta(days=1)) if end else None
        return lo, hi

    def in_window(self, ts: pd.Series, window: Window | None) -> pd.Series:
        lo, hi = self.bounds(window)
        mask = pd.Series(True, index=ts.index)
        if lo is not None:
            mask &= ts >= lo
        if hi is not None:
            mask &= ts < hi
        return mask

    def where(self, rows: pd.DataFrame, conditions: tuple[Condition, ...]) -> pd.Series:
        mask = pd.Series(True, index=rows.index)
        for c in conditions:
            if c.name in EVENT_COLUMNS:
                column = rows[c.name]
            elif c.type == "number":
                column = self.props.number(rows.index, c.name)
            else:
                column = self.props.text(rows.index, c.name)
            mask &= compare(column, c)
        return mask

    def events_of(
        self, name: str, where: tuple[Condition, ...], window: Window | None
    ) -> pd.DataFrame:
        ev = self.ev
        rows = ev[(ev.event == name) & self.in_window(ev.event_time, window)]
        return rows[self.where(rows, where)] if where else rows

    def per_person(self, values: pd.Series, fill: Any) -> pd.Series:
        return values.reindex(self.persons, fill_value=fill)

    # leaves

    def event(self, node: Event) -> pd.Series:
        rows = self.events_of(node.name, node.where, node.window)
        count = self.per_person(rows.groupby("person_id").size(), 0)
        ok = pd.Series(True, index=self.persons)
        if node.at_least is not None:
            ok &= count >= node.at_least
        if node.at_most is not None:
            ok &= count <= node.at_most
        return ok

    def aggregate(self, node: Aggregate) -> pd.Series:
        if node.source == "events":
            rows = self.events_of(node.event, node.where, node.window)
            values = (
                self.props.number(rows.index, node.property)
                if node.property
                else pd.Series(1.0, index=rows.index)
            )
        else:
            o = self.orders
            rows = o[self.in_window(o.paid_at, node.window)]
            for c in node.where:
                rows = rows[compare(order_column(rows, c.name, c.type), c)]
            values = order_column(rows, node.property, "number") if node.property else None
        grouped = (
            rows.groupby("person_id").size()
            if node.fn == "count"
            else values.groupby(rows.person_id).agg({"avg": "mean"}.get(node.fn, node.fn))
        )
        if node.fn in ("count", "sum"):
            total = self.per_person(grouped.astype(float), 0.0)
        else:
            total = self.per_person(grouped.astype(float), np.nan)
        return compare(total, Condition(node.fn, node.op, node.value, "number"))

    def last_event(self, node: LastEvent) -> pd.Series:
        ev = self.ev
        times = ev[ev.event == node.name].groupby("person_id").event_time
        last = self.per_person(times.max(), pd.NaT)
        ok = last.notna()
        if node.more_than_days_ago is not None:
            ok &= last < day_start(self.today - timedelta(days=node.more_than_days_ago))
        if node.less_than_days_ago is not None:
            ok &= last >= day_start(self.today - timedelta(days=node.less_than_days_ago - 1))
        return (ok | last.isna()) if node.or_never else ok

    def first_event(self, node: FirstEvent) -> pd.Series:
        ev = self.ev
        times = ev[ev.event == node.name].groupby("person_id").event_time
        first = self.per_person(times.min(), pd.NaT)
        return first.notna() & self.in_window(first, node.window)

    def sequence(self, node: Sequence) -> pd.Series:
        """Steps strictly later each; for each step the latest start of a chain before it."""
        ev = self.ev
        window = ev[self.in_window(ev.event_time, node.window)]
        first = self.events_of_rows(window, node.steps[0])
        chain = first[["person_id", "event_time"]].assign(start=first.event_time)
        for step in node.steps[1:]:
            hits = self.events_of_rows(window, step)[["person_id", "event_time"]]
            best = (
                chain.groupby(["person_id", "event_time"], as_index=False).start.max()
                .sort_values("event_time")
            )  # fmt: skip
            best["start"] = best.groupby("person_id").start.cummax()
            chain = pd.merge_asof(
                hits.sort_values("event_time"),
                best,
                on="event_time",
                by="person_id",
                allow_exact_matches=False,
            ).dropna(subset=["start"])
        within = (chain.event_time - chain.start).dt.total_seconds() <= node.within_seconds
        return pd.Series(self.persons.isin(chain[within].person_id), index=self.persons)

    def events_of_rows(self, rows: pd.DataFrame, step: Any) -> pd.DataFrame:
        hit = rows[rows.event == step.name]
        return hit[self.where(hit, step.where)] if step.where else hit

    def carrier(self, node: Carrier) -> pd.Series:
        """The latest relevant event per (person, key) decides."""
        ev = self.ev
        if node.fact == "follows":
            moves = ev[ev.event.isin([OA_FOLLOW, OA_UNFOLLOW])]
            moves = moves.assign(k=moves.app_id.fillna(""), on=moves.event == OA_FOLLOW)
        elif node.fact == "wecom_contact":
            moves = ev[ev.event.isin([WECOM_CHANGE, *WECOM_ADD, *WECOM_REMOVE])]
            change = self.props.text(moves.index, *CHANGE_KEYS)
            action = change.where(moves.event == WECOM_CHANGE, moves.event)
            staff = self.props.text(moves.index, *STAFF_KEYS).fillna("")
            moves = moves.assign(action=action, k=staff)
            moves = moves[moves.action.isin([*WECOM_ADD, *WECOM_REMOVE])]
            moves = moves.assign(on=moves.action.isin(WECOM_ADD))
        else:
            moves = ev[ev.event.isin([*GROUP_JOIN, *GROUP_LEAVE]) | (ev.type == "group")]
            moves = moves.assign(k=self.props.text(moves.index, *GROUP_KEYS)).dropna(subset=["k"])
            moves = moves.assign(on=~moves.event.isin(GROUP_LEAVE))
        if node.target is not None:
            moves = moves[moves.k == node.target]
        latest = moves.sort_values(["event_time", "seq"]).groupby(["person_id", "k"]).on.last()
        return self.per_person(latest.groupby(level="person_id").any(), False).astype(bool)

    def member(self, kind: str, value: str, min_weight: float | None) -> pd.Series:
        prefix = {"lifecycle": "lifecycle:", "paying": "", "rfm": "rfm:", "value_tier": "value:",
                  "role": "role:", "interest": "interest:", "channel": "channel:"}  # fmt: skip
        if kind not in prefix:
            raise NotImplementedError(f"{kind} leaves")
        rows = self.sets.get(f"{prefix[kind]}{value}")
        if rows is None:
            return pd.Series(False, index=self.persons)
        if min_weight is not None:
            rows = rows[rows.weight >= min_weight]
        return pd.Series(self.persons.isin(rows.person_id), index=self.persons)


def order_column(orders: pd.DataFrame, name: str, kind: str) -> pd.Series:
    if name == "net_fen":
        return (orders.amount_fen - orders.refund_fen).astype(float)
    return orders[name].astype(float) if kind == "number" else orders[name]


def compare(column: pd.Series, cond: Condition) -> pd.Series:
    """``column op value``; a missing value matches only ``is_not_set``."""
    op, value, present = cond.op, cond.value, column.notna()
    if op == "is_set":
        return present
    if op == "is_not_set":
        return ~present
    if cond.type == "number":
        col = pd.to_numeric(column, errors="coerce")
        present = col.notna()
    elif cond.type == "boolean":
        col = column.astype(str).str.lower() == "true" if column.dtype != bool else column
        return present & (col if op == "is_true" else ~col)
    elif cond.type == "datetime":
        raise NotImplementedError("datetime conditions")
    else:
        col = column.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore")
    ops = {
        "eq": lambda: col == value,
        "ne": lambda: col != value,
        "gt": lambda: col > value,
        "gte": lambda: col >= value,
        "lt": lambda: col < value,
        "lte": lambda: col <= value,
        "between": lambda: (col >= value[0]) & (col <= value[1]),
        "in": lambda: col.isin(list(value)),
        "not_in": lambda: ~col.isin(list(value)),
        "contains": lambda: col.str.contains(value, regex=False),
        "not_contains": lambda: ~col.str.contains(value, regex=False),
        "starts_with": lambda: col.str.startswith(value),
        "ends_with": lambda: col.str.endswith(value),
    }
    return (present & ops[op]().fillna(False).astype(bool)).astype(bool)


# -- compute ------------------------------------------------------------------------------


def compute(frames: dict[str, pd.DataFrame], today: date, definitions_yaml: Path) -> dict[str, int]:
    """Set key -> size for every model set and every segment of ``definitions_yaml``."""
    cfg = ModelsConfig()
    ev, orders, items = frames["events"], frames["orders"], frames["items"]
    props = Props(ev)

    stages = lifecycle(ev, orders, today, cfg)
    tables = {
        "lifecycle:": (stages, "stage"),
        "rfm:": (rfm(orders, today, cfg), "rfm_class"),
        "value:": (value_tiers(ev, orders, today, cfg), "value_tier"),
        "role:": (roles(ev, props, orders, items, today, cfg), "role"),
        "interest:": (interests(ev, props, orders, items, today, cfg), "tag"),
        "channel:": (first_channels(ev, props), "first_channel"),
    }
    sets: dict[str, pd.DataFrame] = {"paying": stages[stages.paying]}
    for prefix, (table, column) in tables.items():
        for value, rows in table.groupby(column):
            sets[f"{prefix}{value}"] = rows
    sizes = {key: len(rows) for key, rows in sets.items()}
    for stage in STAGES:
        sizes.setdefault(f"lifecycle:{stage}", 0)

    raw = yaml.safe_load(Path(definitions_yaml).read_text(encoding="utf-8"))
    definitions = {d.key: d for d in map(parse_definition, raw if isinstance(raw, list) else [raw])}
    segments = Segments(frames, props, sets, definitions, today)
    for key, definition in definitions.items():
        sizes[f"segment:{key}"] = int(segments.rule(definition.rule).sum())
    return sizes
