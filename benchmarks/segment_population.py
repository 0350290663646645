"""A synthetic shop for `bench_segments`: persons, events, orders, items and channels.

Written by DuckDB SQL straight into a fresh warehouse (setup, not timed), as the tables
look after collection and identity resolution: each person has one member id, every event
and order has its ``node`` row in ``identity_links``, ``identities`` maps member ids to
persons. Activity is skewed (a few heavy users, a long tail), spread over ``days`` local
days ending ``today``; event names and properties follow the demo (mini-program launches
and screens, item views with item ids and prices, favourites, shares, carts, checkouts,
paid orders, follows, WeCom adds, group joins, invites). Deterministic for a seed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

import duckdb

from siyu.storage.identity_store import attach_actors

#: (event, share of events, carrier)
EVENT_MIX: Final = (
    ("$MPLaunch", 0.18, "mp"),
    ("$MPViewScreen", 0.24, "mp"),
    ("view_item", 0.20, "mp"),
    ("read_article", 0.08, "oa"),
    ("$AppStart", 0.06, "app"),
    ("favorite", 0.03, "mp"),
    ("share", 0.03, "mp"),
    ("add_to_cart", 0.05, "mp"),
    ("checkout", 0.025, "mp"),
    ("order_paid", 0.015, "mp"),
    ("receive_coupon", 0.02, "mp"),
    ("subscribe", 0.012, "oa"),
    ("unsubscribe", 0.003, "oa"),
    ("add_external_contact", 0.008, "wecom"),
    ("join_group", 0.005, "wecom"),
    ("invite_accepted", 0.007, "mp"),
)
CHANNELS: Final = tuple(f"ch_{i:02d}" for i in range(20))
TAGS: Final = ("童书", "绘本", "科普", "文学", "历史", "外语", "考试", "亲子", "漫画", "传记")
ITEMS: Final = 5_000
APP_ID: Final = "wx5e1f0a2b3c4d5e6f"


def populate(
    con: duckdb.DuckDBPyConnection,
    *,
    persons: int,
    events: int,
    days: int,
    today: date,
    seed: int = 7,
    chunk: int = 10_000_000,
) -> None:
    """Fill the warehouse tables (already migrated) on ``con``.

    The events' unique index is dropped while loading and built once at the end.
    """
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    con.execute("DROP INDEX IF EXISTS events_event_key")
    start = datetime(today.year, today.month, today.day) - timedelta(days=days - 1, hours=8)
    span = days * 86_400
    cumulative, acc = [], 0.0
    for name, share, carrier in EVENT_MIX:
        acc += share
        cumulative.append((name, acc, carrier))
    total = acc
    name_case = (
        " ".join(f"WHEN u < {c / total:.6f} THEN '{n}'" for n, c, _ in cumulative[:-1])
        + f" ELSE '{cumulative[-1][0]}'"
    )
    carrier_case = " ".join(f"WHEN event = '{n}' THEN '{c}'" for n, _, c in EVENT_MIX)
    channels = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    for offset in range(0, events, chunk):
        n = min(chunk, events - offset)
        con.execute(
            f"""
            INSERT INTO events BY NAME
            WITH raw AS (
                SELECT i + 1 AS seq,
                       -- skewed activity: person = P * v^2 (many light, few heavy users)
                       CAST(floor({persons} * pow(hash(i * 7 + {seed}) % 1000003 / 1000003.0, 2))
                            AS BIGINT) AS p,
                       hash(i * 13 + {seed}) % 1000000 / 1000000.0 AS u,
                       CAST(hash(i * 17 + {seed}) % {span} AS BIGINT) AS t,
                       CAST(hash(i * 19 + {seed}) % {ITEMS} AS BIGINT) AS item
                FROM range({offset}, {offset + n}) r(i)
            ), named AS (
                SELECT *, CASE {name_case} END AS event FROM raw
            )
            SELECT seq, 'e' || seq AS event_id, 'track' AS type, event,
                   TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_seconds(t) AS event_time,
                   TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_seconds(t) AS received_at,
                   'm' || p AS user_id, 'bench' AS source_id, 'import' AS protocol,
                   CASE {carrier_case} ELSE 'mp' END AS carrier,
                   '{APP_ID}' AS app_id, 'import' AS method,
                   CASE
                     WHEN event IN ('view_item', 'favorite', 'share', 'add_to_cart')
                       THEN '{{"item_id":"i' || item || '","price_fen":' || (item % 97 + 1) * 100
                            || '}}'
                     WHEN event = 'order_paid'
                       THEN '{{"amount_fen":' || (item % 50 + 1) * 1000 || ',"item_id":"i'
                            || item || '"}}'
                     WHEN event IN ('subscribe', 'add_external_contact')
                       THEN '{{"scene":"' || {channels}[item % 20 + 1] || '","staff_userid":"s'
                            || item % 30 || '"}}'
                     WHEN event = 'join_group' THEN '{{"chat_id":"g' || item % 200 || '"}}'
                     WHEN event = 'invite_accepted'
                       THEN '{{"inviter":"m' || (p * 31 + item) % {persons} || '"}}'
                     WHEN event = '$MPLaunch' AND item % 10 = 0
                       THEN '{{"$scene":1047,"channel":"' || {channels}[item % 20 + 1] || '"}}'
                     ELSE '{{}}'
                   END AS properties,
                   '{{}}' AS context, md5_number('e' || seq) AS event_key
            FROM named
            """
        )
    con.execute(
        """
        INSERT INTO identity_link_rows
        SELECT seq, 0, 'node', 'member_id', user_id, NULL, NULL, 'event', event_id, event_time
        FROM events
        """
    )
    con.execute(
        f"""
        INSERT INTO identities
        SELECT 'member_id', 'm' || i, 'p' || i, 'p' || i, i, TIMESTAMP '{start:%Y-%m-%d}', false
        FROM range({persons}) r(i)
        """
    )
    # Orders: one per order_paid event; 6% fully and 4% partly refunded.
    con.execute(
        f"""
        INSERT INTO orders BY NAME
        SELECT 'o' || seq AS order_id, user_id AS member_id,
               event_time AS paid_at,
               CAST(json_extract_string(properties, '$.amount_fen') AS BIGINT) AS amount_fen,
               CASE WHEN seq % 50 < 3 THEN CAST(json_extract_string(properties, '$.amount_fen')
                                                AS BIGINT)
                    WHEN seq % 50 < 5 THEN 500 ELSE 0 END AS refund_fen,
               CASE WHEN seq % 50 < 3 THEN 'refunded' ELSE 'paid' END AS status,
               '[{{"item_id":"' || json_extract_string(properties, '$.item_id')
                 || '","quantity":1}}]' AS items,
               {channels}[seq % 20 + 1] AS channel, 'mp' AS carrier, '{{}}' AS properties,
               'bench' AS source_id, event_time AS loaded_at, {events} + seq AS seq
        FROM events WHERE event = 'order_paid'
        """
    )
    con.execute(
        """
        INSERT INTO identity_link_rows
        SELECT seq, 0, 'node', 'member_id', member_id, NULL, NULL, 'order', order_id, paid_at
        FROM orders
        """
    )
    tags = "[" + ", ".join(f"'{t}'" for t in TAGS) + "]"
    con.execute(
        f"""
        INSERT INTO items
        SELECT 'book', 'i' || i,
               '{{"tags":["' || {tags}[i % 10 + 1] || '","' || {tags}[(i // 10) % 10 + 1]
               || '"]}}', false, TIMESTAMP '{start:%Y-%m-%d}'
        FROM range({ITEMS}) r(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO channels (code, name, kind, campaign, carrier, cost_fen, created_at)
        SELECT c, 'channel ' || c, 'qr', 'camp_' || (i % 4), 'mp', 100000,
               TIMESTAMP '{start:%Y-%m-%d}'
        FROM (SELECT unnest({channels}) AS c, generate_subscripts({channels}, 1) AS i)
        """
    )
    # Each event and order names its actor identity, as identity resolution would.
    attach_actors(con)
    con.execute("CREATE UNIQUE INDEX events_event_key ON events (event_key)")
    con.execute("CHECKPOINT")
