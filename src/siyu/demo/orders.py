"""Orders from paid checkouts: baskets, coupons, shipping, refunds, and their events.

Amounts are integer fen: book prices times quantities, minus the best coupon the basket
qualifies for, plus 6 yuan shipping under 99 yuan.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from siyu.demo import scenario as sc
from siyu.demo.events import EventSink, choose, concat_text, identity_map
from siyu.demo.population import ACQ_CHANNELS, Calendar, Population
from siyu.demo.sessions import Purchases, pick_in_category

_TS = pa.timestamp("us")

ORDER_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("member_id", pa.string()),
        ("user_id", pa.string()),
        ("identities", pa.map_(pa.string(), pa.string())),
        ("paid_at", _TS),
        ("amount_fen", pa.int64()),
        ("refund_fen", pa.int64()),
        ("status", pa.string()),
        ("items", pa.string()),
        ("coupon_code", pa.string()),
        ("channel", pa.string()),
        ("carrier", pa.string()),
        ("properties", pa.string()),
        ("source_id", pa.string()),
        ("import_id", pa.string()),
        ("loaded_at", _TS),
    ]
)


def build_orders(
    rng: np.random.Generator,
    pop: Population,
    cal: Calendar,
    sink: EventSink,
    purchases: list[Purchases],
    tag: str,
) -> pa.Table:
    """The orders table rows; also emits ``use_coupon`` and ``order_paid`` events."""
    views = [p.view for p in purchases]
    carrier = np.concatenate([np.full(len(p.person), k) for k, p in enumerate(purchases)])
    person = np.concatenate([p.person for p in purchases])
    time = np.concatenate([p.time for p in purchases])
    book = np.concatenate([p.book for p in purchases])
    order = np.argsort(time, kind="stable")
    carrier, person, time, book = carrier[order], person[order], time[order], book[order]
    m = len(person)

    # Baskets: the carted book plus a few more from the reader's interests.
    basket = np.array([s.basket for s in sc.SEGMENTS])[pop.segment[person]]
    lines = 1 + rng.poisson(basket)
    line_order = np.repeat(np.arange(m), lines)
    heads = np.concatenate([[0], np.cumsum(lines)[:-1]])
    line_book = pick_in_category(rng, pop.interest[person[line_order]], sc.BOOKS_PER_CATEGORY)
    line_book[heads] = book
    qty = 1 + (rng.random(len(line_order)) < 0.1).astype(np.int64)
    price = np.array([b[2] for b in sc.BOOKS], np.int64)[line_book]
    subtotal = np.bincount(line_order, weights=price * qty, minlength=m).astype(np.int64)

    discount = np.array([c[2] for c in sc.COUPONS], np.int64)
    minimum = np.array([c[3] for c in sc.COUPONS], np.int64)
    usable = subtotal[:, None] >= minimum[None, :]
    best = np.argmax(np.where(usable, discount[None, :], -1), axis=1)
    coupon = np.where(rng.random(m) < 0.3, best, -1)
    off = np.where(coupon >= 0, discount[np.maximum(coupon, 0)], 0)
    shipping = np.where(subtotal < 9900, 600, 0)
    amount = subtotal - off + shipping
    refunded = rng.random(m) < sc.REFUND_RATE

    day = np.searchsorted(cal.midnight_us, time, side="right") - 1
    dates = [(cal.start + timedelta(days=k)).strftime("%Y%m%d") for k in range(cal.days + 1)]
    seqno = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, m + 1)), pa.string()), 7, "0")
    order_id = concat_text("DD", choose(dates, day), tag, seqno)

    item_vocab = [
        orjson.dumps(
            {
                "item_id": f"B{b + 1:03d}",
                "title": sc.BOOKS[b][0],
                "qty": q,
                "price_fen": sc.BOOKS[b][2],
            }
        ).decode()
        for b in range(len(sc.BOOKS))
        for q in (1, 2)
    ]
    line_text = choose(item_vocab, line_book * 2 + qty - 1)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lines)]).astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, line_text), ",")
    items = concat_text("[", joined, "]")

    coupon_codes = choose([c[0] for c in sc.COUPONS], np.maximum(coupon, 0))
    coupon_code = pc.if_else(pa.array(coupon >= 0), coupon_codes, pa.scalar(None, pa.string()))
    city_of = rng.integers(0, len(sc.CITIES), pop.n)
    city = choose([orjson.dumps(c).decode() for c in sc.CITIES], city_of[person])
    properties = concat_text(
        '{"city":', city, ',"pay_method":"wxpay","shipping_fen":', shipping, "}"
    )
    codes = [c.code if c.kind != "organic" else None for c in ACQ_CHANNELS]
    channel = pa.array(codes, pa.string()).take(pa.array(pop.channel[person]))
    member = pop.ids["member_id"].take(pa.array(person))
    by_view = {
        "mp": identity_map(
            [("member_id", pop.ids["member_id"]), ("phone", pop.ids["phone"]),
             ("mp_openid", pop.ids["mp_openid"])]
        ),
        "app": identity_map(
            [("member_id", pop.ids["member_id"]), ("phone", pop.ids["phone"]),
             ("device_id", pop.ids["device_id"])]
        ),
    }  # fmt: skip
    ident = pa.concat_arrays([by_view[v] for v in views]).take(pa.array(carrier * pop.n + person))

    table = pa.table(
        {
            "order_id": order_id,
            "member_id": member,
            "user_id": member,
            "identities": ident,
            "paid_at": pa.array(time, _TS),
            "amount_fen": pa.array(amount),
            "refund_fen": pa.array(np.where(refunded, amount, 0)),
            "status": choose(["paid", "refunded"], refunded.astype(np.int64)),
            "items": items,
            "coupon_code": coupon_code,
            "channel": channel,
            "carrier": choose(views, carrier),
            "properties": properties,
            "source_id": pa.array(["demo-orders"] * m, pa.string()),
            "import_id": pa.nulls(m, pa.string()),
            "loaded_at": pa.array(np.full(m, cal.midnight_us[-1]), _TS),
        },
        schema=ORDER_SCHEMA,
    )

    for k, view in enumerate(views):
        mine = carrier == k
        used = mine & (coupon >= 0)
        used_props = concat_text('{"coupon_code":"', coupon_codes.filter(pa.array(used)), '"}')
        sink.add(view, person[used], time[used] - 5_000_000, "use_coupon", used_props)
        props = concat_text(
            '{"order_id":"', order_id.filter(pa.array(mine)), '","amount_fen":', amount[mine],
            ',"item_count":', lines[mine], "}",
        )  # fmt: skip
        sink.add(view, person[mine], time[mine], "order_paid", props)
    return table
