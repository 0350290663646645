"""Mini-program and app sessions: visits, page views, autotrack and the shopping funnel.

Visits are drawn as a persons x days matrix (day 1 by the segment's next-day return
rate, later days by its fading visit rate and the weekday rhythm); each visit becomes a
session whose page views, clicks and funnel steps are drawn column-wise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from siyu.demo import scenario as sc
from siyu.demo.events import EventSink, choose, concat_text
from siyu.demo.population import Calendar, Population, sample_seconds


@dataclass(frozen=True)
class Names:
    """Autotrack event names of one carrier (Sensors presets)."""

    view: str
    start: str
    show: str | None
    screen: str
    click: str
    share: str | None
    end: str
    pages: tuple[tuple[str, str], ...]
    path_key: str


MP_NAMES = Names(
    "mp", "$MPLaunch", "$MPShow", "$MPViewScreen", "$MPClick", "$MPShare", "$MPHide",
    sc.MP_PAGES, "$url_path",
)  # fmt: skip
APP_NAMES = Names(
    "app", "$AppStart", None, "$AppViewScreen", "$AppClick", None, "$AppEnd",
    sc.APP_SCREENS, "$screen_name",
)  # fmt: skip


@dataclass(frozen=True)
class Purchases:
    """Paid checkouts, turned into orders by `siyu.demo.orders`."""

    view: str
    person: np.ndarray
    time: np.ndarray
    book: np.ndarray


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def book_props() -> list[str]:
    out = []
    for k, (title, author, price) in enumerate(sc.BOOKS):
        category = sc.CATEGORIES[k // sc.BOOKS_PER_CATEGORY]
        out.append(
            _json(
                {
                    "item_id": f"B{k + 1:03d}",
                    "item_type": "book",
                    "title": title,
                    "author": author,
                    "category": category,
                    "price_fen": price,
                }
            )
        )
    return out


def article_props() -> list[str]:
    out = []
    for k, (title, tags) in enumerate(sc.ARTICLES):
        category = sc.CATEGORIES[k // sc.ARTICLES_PER_CATEGORY]
        item = {"item_id": f"A{k + 1:03d}", "item_type": "article", "title": title}
        out.append(_json({**item, "tags": [category, *tags.split(",")]}))
    return out


def pick_in_category(
    rng: np.random.Generator, interest: np.ndarray, per_category: int, loyalty: float = 0.65
) -> np.ndarray:
    """Item indexes: mostly from the person's interest, popular titles more often."""
    n = len(interest)
    own = rng.random(n) < loyalty
    category = np.where(own, interest, rng.integers(0, len(sc.CATEGORIES), n))
    weights = 1.0 / np.arange(1, per_category + 1) ** 0.9
    rank = rng.choice(per_category, size=n, p=weights / weights.sum())
    return category * per_category + rank


def visits(
    rng: np.random.Generator, pop: Population, cal: Calendar, carrier: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person, day, age in days) of every day a person opens ``carrier``."""
    people = np.flatnonzero(pop.first_day[carrier] >= 0)
    first = pop.first_day[carrier][people]
    seg = pop.segment[people]
    day1 = np.array([getattr(s, f"day1_{carrier}") for s in sc.SEGMENTS])[seg]
    rate = np.array([s.rate for s in sc.SEGMENTS])[seg]
    fade = np.array([s.fade_days for s in sc.SEGMENTS])[seg]
    age = np.arange(cal.days)[None, :]
    day = first[:, None] + age
    inside = day < cal.days
    weekday = cal.weekday_factor[np.minimum(day, cal.days - 1)]
    later = rate[:, None] * np.exp(-(age - 1) / fade[:, None])
    p = np.where(age == 1, day1[:, None], later) * weekday
    p = np.where(age == 0, 1.0, np.minimum(p, 0.95))
    active = inside & (rng.random(p.shape) < p)
    rows, ages = np.nonzero(active)
    return people[rows], first[rows] + ages, ages


def sessions(
    rng: np.random.Generator, pop: Population, cal: Calendar, sink: EventSink, names: Names
) -> Purchases:
    """Emit the sessions of one carrier into ``sink``; return its paid checkouts."""
    person, day, age = visits(rng, pop, cal, names.view)
    per_day = 1 + rng.poisson(np.where(pop.segment[person] == 0, 0.5, 0.2))
    person, day, age = (np.repeat(a, per_day) for a in (person, day, age))
    first_slot = np.concatenate([[True], np.diff(person) != 0]) | np.concatenate(
        [[True], np.diff(day) != 0]
    )
    is_first = (age == 0) & first_slot
    on_acq_day = is_first & (day == pop.acq_day[person])
    second = np.where(
        on_acq_day,
        np.minimum(pop.acq_second[person] + 30.0, 86_390.0),
        sample_seconds(rng, len(person)),
    )
    start = cal.at(day, second)
    seg = pop.segment[person]
    n_s = len(person)
    view = names.view

    launch = _launch_props(rng, pop, person, is_first & on_acq_day, names)
    sink.add(view, person, start, names.start, launch, method="autotrack")
    if names.show:
        sink.add(view, person, start + 300_000, names.show, "{}", method="autotrack")
    if view == "app":
        installs = is_first & (pop.acq_carrier[person] == 2) & on_acq_day
        vocab = [_json({"$utm_source": c.code}) for c in _acq_channels()]
        props = choose(vocab, pop.channel[person[installs]])
        sink.add(view, person[installs], start[installs] + 100_000, "$AppInstall", props)
    signup = is_first & pop.registered[person]
    sink.add(view, person[signup], start[signup] + 20_000_000, "$SignUp", type="signup",
             previous=True)  # fmt: skip

    # Page views: the first shows home, the rest follow the page mix.
    n_views = 1 + rng.poisson(np.array([s.views for s in sc.SEGMENTS])[seg])
    sess = np.repeat(np.arange(n_s), n_views)
    v_person = person[sess]
    heads = np.concatenate([[0], np.cumsum(n_views)[:-1]])
    kind = rng.choice(len(sc.PAGE_KINDS), size=len(sess), p=np.array(sc.PAGE_WEIGHTS))
    kind[heads] = 0
    gaps = rng.exponential(25.0, len(sess)) + 1.0
    cum = np.cumsum(gaps)
    offset = cum - np.repeat(cum[heads] - gaps[heads], n_views) + 1.0
    v_time = start[sess] + (offset * 1e6).astype(np.int64)
    screens = [_json({names.path_key: p, "$title": t}) for p, t in names.pages]
    sink.add(view, v_person, v_time, names.screen, choose(screens, kind), method="autotrack")
    click = rng.random(len(sess)) < 0.55
    clicks = [
        _json({"$element_content": text, "$element_type": "button", names.path_key: p})
        for text, (p, _) in zip(sc.CLICK_TEXTS, names.pages, strict=True)
    ]
    sink.add(view, v_person[click], v_time[click] + 4_000_000, names.click,
             choose(clicks, kind[click]), method="autotrack")  # fmt: skip

    books = book_props()
    is_book = kind == 2
    book = pick_in_category(rng, pop.interest[v_person], sc.BOOKS_PER_CATEGORY)
    sink.add(view, v_person[is_book], v_time[is_book] + 500_000, "view_item",
             choose(books, book[is_book]))  # fmt: skip
    fav = is_book & (rng.random(len(sess)) < 0.05)
    sink.add(view, v_person[fav], v_time[fav] + 6_000_000, "favorite", choose(books, book[fav]))
    is_article = kind == 3
    article = pick_in_category(rng, pop.interest[v_person], sc.ARTICLES_PER_CATEGORY, 0.75)
    sink.add(view, v_person[is_article], v_time[is_article] + 1_000_000, "read_article",
             choose(article_props(), article[is_article]))  # fmt: skip

    # Funnel: the session's first book view may go to the cart, checkout and payment.
    book_rows = np.flatnonzero(is_book)
    s_with_book, first_idx = np.unique(sess[book_rows], return_index=True)
    cart_row = book_rows[first_idx]
    p_cart = np.array([s.cart for s in sc.SEGMENTS])[seg[s_with_book]]
    cart = rng.random(len(s_with_book)) < p_cart
    c_sess, c_row = s_with_book[cart], cart_row[cart]
    sink.add(view, person[c_sess], v_time[c_row] + 12_000_000, "add_to_cart",
             choose(books, book[c_row]))  # fmt: skip
    last = np.cumsum(n_views) - 1
    end = v_time[last] + 20_000_000
    checkout = rng.random(len(c_sess)) < sc.CHECKOUT_RATE
    k_sess, k_row = c_sess[checkout], c_row[checkout]
    sink.add(view, person[k_sess], end[k_sess], "checkout", choose(books, book[k_row]))
    paid = pop.registered[person[k_sess]] & (rng.random(len(k_sess)) < sc.PAY_RATE)
    p_sess, p_row = k_sess[paid], k_row[paid]
    inside = end[p_sess] + 45_000_000 < cal.midnight_us[-1]
    p_sess, p_row = p_sess[inside], p_row[inside]
    purchases = Purchases(view, person[p_sess], end[p_sess] + 45_000_000, book[p_row])

    _coupons_and_shares(rng, pop, sink, names, person, start, is_first, v_person, v_time,
                        is_book, book)  # fmt: skip
    sink.add(view, person, end + 90_000_000, names.end, "{}", method="autotrack")
    return purchases


def _acq_channels() -> tuple[sc.Channel, ...]:
    return (*sc.CHANNELS, sc.POSTER)


def _launch_props(
    rng: np.random.Generator,
    pop: Population,
    person: np.ndarray,
    acquired: np.ndarray,
    names: Names,
) -> pa.Array:
    """Launch scene: ads and posters on the acquisition visit, else everyday entries."""
    if names.view == "app":
        vocab = [_json({"$is_first_time": True}), _json({"$is_first_time": False})]
        return choose(vocab, np.where(acquired, 0, 1))
    everyday = (1089, 1001, 1007, 1008, 1035, 1043, 1053)
    vocab = [_json({"$scene": s, "$url_path": "pages/index/index"}) for s in everyday]
    vocab.append(_json({"$scene": 1045, "$utm_source": "ad_moments_mp"}))
    vocab.append(_json({"$scene": 1047, "$url_path": "pages/invite/index"}))
    w = np.array([0.3, 0.15, 0.15, 0.12, 0.12, 0.1, 0.06])
    code = rng.choice(len(everyday), size=len(person), p=w / w.sum())
    channel = np.array([c.code for c in _acq_channels()])[pop.channel[person]]
    code = np.where(acquired & (channel == "ad_moments_mp"), len(everyday), code)
    code = np.where(acquired & (channel == sc.POSTER.code), len(everyday) + 1, code)
    return choose(vocab, code)


def _coupons_and_shares(
    rng: np.random.Generator,
    pop: Population,
    sink: EventSink,
    names: Names,
    person: np.ndarray,
    start: np.ndarray,
    is_first: np.ndarray,
    v_person: np.ndarray,
    v_time: np.ndarray,
    is_book: np.ndarray,
    book: np.ndarray,
) -> None:
    view = names.view
    coupon_vocab = [_json({"coupon_code": c, "coupon_name": n}) for c, n, _, _ in sc.COUPONS]
    welcome = is_first & pop.registered[person] & (rng.random(len(person)) < 0.6)
    other = ~is_first & (rng.random(len(person)) < 0.03)
    code = np.where(welcome, 0, rng.integers(1, len(sc.COUPONS), len(person)))
    got = welcome | other
    sink.add(view, person[got], start[got] + 40_000_000, "receive_coupon",
             choose(coupon_vocab, code[got]))  # fmt: skip
    shares = is_book & pop.sharer[v_person] & (rng.random(len(v_person)) < 0.12)
    s_person, s_time = v_person[shares], v_time[shares] + 8_000_000
    poster = rng.random(len(s_person)) < 0.5
    if names.share:
        sink.add(view, s_person, s_time, names.share,
                 _json({names.path_key: names.pages[2][0]}), method="autotrack")  # fmt: skip
    item = concat_text('{"share_type":"item","item_id":"B', _pad(book[shares] + 1), '"}')
    kind = pa.array(poster).cast(pa.bool_())
    poster_props = _json({"share_type": "poster", "campaign": sc.POSTER.campaign})
    props = pc.if_else(kind, pa.scalar(poster_props), item)
    sink.add(view, s_person, s_time + 1_000_000, "share", props)


def _pad(number: np.ndarray) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(number), pa.string()), 3, "0")
