"""Hand-made rows shared by the model tests and the DuckDB/Spark conformance test."""

from __future__ import annotations

from typing import Any

from tests.segments.models.warehouse import Ev, Order

#: RFM, as of 2024-03-31.
RFM_ORDERS = [
    Order("a", "2024-03-30 10:00", 10_000),
    Order("a", "2024-03-01 10:00", 5_000),
    Order("a", "2024-02-01 10:00", 5_000),
    Order("b", "2024-03-31 23:59", 30_000),  # 15:59 UTC: still today
    Order("c", "2024-03-01 10:00", 5_000),
    Order("c", "2024-03-30 10:00", 9_000, refund=9_000),  # fully refunded: not counted
    Order("d", "2024-03-20 10:00", 8_000, refund=3_000),  # partial: 5000 net
    Order("d", "2024-01-01 10:00", 5_000),
    Order("e", "2023-04-02 00:00", 7_000),  # the first of the 365 days (2024 is leap)
    Order("e", "2023-04-01 23:59", 9_000),  # the day before: outside
    Order("f", "2024-03-30 10:00", 5_000, status="cancelled"),
    Order("g", "2024-04-01 00:00", 5_000),  # tomorrow
    Order("h", "2024-03-30 10:00", 5_000, refund=100, status="Refunded"),
]

#: Interest tags: tagged items, behaviour on them and orders of them.
INTEREST_ITEMS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("book", "B1", {"title": "小王子", "category": "童书"}, False),
    ("article", "A1", {"tags": ["亲子", "书单"]}, False),
    ("article", "D1", {"tags": ["书单", "", " 书单 "]}, False),
    ("book", "C1", {"tags": ["gone"]}, True),
]
INTEREST_EVENTS = [
    Ev("p1", "2024-03-31 10:00", "view_item", {"item_id": "B1"}),
    Ev("p1", "2024-03-01 10:00", "favorite", {"item_id": "B1"}),  # 30 days: half
    Ev("p1", "2024-01-31 10:00", "view_item", {"item_id": "A1"}),  # 60 days: a quarter
    Ev("p1", "2024-03-31 10:00", "share", {"item_id": "D1", "share_type": "item"}),
    Ev("p1", "2024-03-31 10:00", "view_item", {"item_id": "C1"}),  # deleted item
    Ev("p1", "2024-03-31 10:00", "view_item", {"title": "no id"}),
    Ev("p1", "2023-03-01 10:00", "view_item", {"item_id": "A1"}),  # outside the window
    Ev("p1", "2024-03-31 10:00", "$MPClick", {"item_id": "B1"}),  # not weighted
    Ev("p1", "2024-04-01 00:00", "view_item", {"item_id": "B1"}),  # tomorrow
    Ev("p2", "2024-03-16 10:00", "view_item", {"item_id": "A1"}),  # 15 days: 2 ** -0.5
]
INTEREST_ORDERS = [
    Order("p1", "2024-03-31 23:59", 5_000, items=("A1", "B1")),
    Order("p1", "2024-03-30 10:00", 5_000, refund=5_000, items=("D1",)),
    Order("p3", "2024-03-31 10:00", 5_000, items=({"item_id": "B1", "qty": 2}, {"title": "x"})),
]

#: Channel tags: touches through every kind of channel field, and channel codes.
CHANNEL_EVENTS = [
    Ev("u1", "2024-03-01 09:00", "$MPLaunch", {"$scene": 1047, "$url_path": "pages/invite"}),
    Ev("u1", "2024-03-01 10:00", "subscribe", {"event_key": "qrscene_qr_package",
                                               "scene": "qr_package"}, carrier="oa"),
    Ev("u1", "2024-03-02 10:00", "invite_accepted", {"scene": "poster:M1", "campaign": "共读计划"}),
    Ev("u1", "2024-03-03 10:00", "SCAN", {"event_key": "qr_store_sh", "scene": "qr_store_sh"}),
    Ev("u1", "2024-03-04 10:00", "$pageview", type="page", carrier="web", protocol="segment",
       context={"campaign": {"source": "newsletter", "name": "spring"}}),
    Ev("u1", "2024-03-05 09:00", "$pageview", type="page", carrier="web",  # not Segment
       context={"campaign": {"source": "ignored", "name": "ignored"}}),
    Ev("u1", "2024-03-05 10:00", "$MPLaunch", {"$scene": 1001}),
    Ev("u1", "2024-03-06 10:00", "$AppInstall", {"$utm_source": ""}, carrier="app"),
    # Same time: seq (the list order) decides.
    Ev("u2", "2024-03-01 10:00", "add_external_contact", {"state": "wc_store_guide"}),
    Ev("u2", "2024-03-01 10:00", "add_external_contact", {"State": "wc_after_sale"}),
    Ev("u3", "2024-03-01 10:00", "view_item", {"item_id": "B1"}),
]  # fmt: skip
CHANNELS: list[tuple[str, str | None]] = [
    ("qr_package", "包裹卡"),
    ("qr_store_sh", "门店引流"),
    ("wc_after_sale", None),
]
