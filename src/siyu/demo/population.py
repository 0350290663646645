"""The demo's persons: segments, channels of origin, carriers, ids and invite chains.

Everything is drawn column-wise with numpy, one array per attribute, so 50,000 persons
cost milliseconds. Index ``i`` in every array is the same person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.demo import scenario as sc

CARRIERS = ("oa", "mp", "app", "wecom")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_HEX = "0123456789ABCDEF"
NO_DAY = -1

#: Acquisition channels in index order; the referral poster comes last.
ACQ_CHANNELS = (*sc.CHANNELS, sc.POSTER)
POSTER_INDEX = len(sc.CHANNELS)


@dataclass(frozen=True)
class Calendar:
    """Local days of the demo period as UTC microseconds and weekday factors."""

    start: date
    days: int
    midnight_us: np.ndarray  # days + 1 local midnights, UTC µs
    weekday_factor: np.ndarray

    @classmethod
    def build(cls, start: date, days: int, tz: str = sc.TIMEZONE) -> Calendar:
        zone = ZoneInfo(tz)
        mids = []
        for k in range(days + 1):
            d = start + timedelta(days=k)
            local = datetime(d.year, d.month, d.day, tzinfo=zone)
            mids.append(int(local.timestamp()) * 1_000_000)
        factors = [sc.WEEKDAY_FACTOR[(start + timedelta(days=k)).weekday()] for k in range(days)]
        return cls(start, days, np.array(mids, np.int64), np.array(factors))

    def at(self, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """UTC µs of ``seconds`` after local midnight of ``day``."""
        out: np.ndarray = self.midnight_us[day] + (seconds * 1_000_000).astype(np.int64)
        return out


@dataclass
class Population:
    """Column arrays describing every demo person."""

    n: int
    segment: np.ndarray
    interest: np.ndarray
    channel: np.ndarray
    acq_carrier: np.ndarray
    acq_day: np.ndarray
    acq_second: np.ndarray
    first_day: dict[str, np.ndarray]
    matrix_day: np.ndarray
    registered: np.ndarray
    sharer: np.ndarray
    has_unionid: np.ndarray
    has_phone: np.ndarray
    inviter: np.ndarray
    depth: np.ndarray
    device: np.ndarray
    staff: np.ndarray
    ids: dict[str, pa.Array]

    def has(self, carrier: str) -> np.ndarray:
        return self.first_day[carrier] >= 0


def sample_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after local midnight following the lunch and evening peaks."""
    weights = np.array(sc.HOUR_WEIGHTS)
    hours = rng.choice(24, size=n, p=weights / weights.sum())
    return hours * 3600.0 + rng.random(n) * 3600.0


def random_ids(
    rng: np.random.Generator, mask: np.ndarray, prefix: str, length: int, alphabet: str = _B64
) -> pa.Array:
    """Random ids like WeChat's (``prefix`` + ``length`` chars) where ``mask``, else null."""
    n = len(mask)
    table = np.frombuffer(alphabet.encode(), np.uint8)
    chars = table[rng.integers(0, len(table), size=(n, length))]
    head = np.broadcast_to(np.frombuffer(prefix.encode(), np.uint8), (n, len(prefix)))
    raw = np.ascontiguousarray(np.concatenate([head, chars], axis=1))
    text = pa.array(raw.view(f"S{raw.shape[1]}").ravel()).cast(pa.string())
    return pc.if_else(pa.array(mask), text, pa.scalar(None, pa.string()))


def _numbered_ids(mask: np.ndarray, prefix: str, digits: int, mult: int, add: int) -> pa.Array:
    """Unique digit ids (an affine bijection of the person index), null where not ``mask``."""
    modulus = 10**digits
    num = (np.arange(len(mask), dtype=np.int64) * mult + add) % modulus + modulus
    text = pc.utf8_slice_codeunits(pc.cast(pa.array(num), pa.string()), 1)
    ids = pc.binary_join_element_wise(prefix, text, "")
    return pc.if_else(pa.array(mask), ids, pa.scalar(None, pa.string()))


def _delay(rng: np.random.Generator, n: int, p_same_day: float, mean_days: float) -> np.ndarray:
    later = rng.random(n) >= p_same_day
    return np.where(later, 1 + rng.geometric(1.0 / mean_days, n) - 1, 0).astype(np.int64)


def build_population(rng: np.random.Generator, users: int, cal: Calendar) -> Population:
    """Draw ``users`` persons over the calendar's days."""
    n, days = users, cal.days
    seg_share = np.array([s.share for s in sc.SEGMENTS])
    segment = rng.choice(len(sc.SEGMENTS), size=n, p=seg_share / seg_share.sum())
    interest = rng.integers(0, len(sc.CATEGORIES), n)

    # Acquisition day: weekly rhythm; two poster waves bring most invitees.
    invited = rng.random(n) < sc.REFERRAL_SHARE
    base = cal.weekday_factor.copy()
    waves = np.ones(days)
    for lo in (int(days * 0.15), int(days * 0.55)):
        waves[lo : lo + 7] = 3.0
    day_p = base / base.sum()
    wave_p = base * waves / (base * waves).sum()
    acq_day = np.where(
        invited, rng.choice(days, size=n, p=wave_p), rng.choice(days, size=n, p=day_p)
    ).astype(np.int64)

    shares = np.array([c.share for c in sc.CHANNELS])
    channel = rng.choice(len(sc.CHANNELS), size=n, p=shares / shares.sum())
    channel = np.where(invited, POSTER_INDEX, channel)
    carrier_index = np.array([CARRIERS.index(c.first_carrier) for c in ACQ_CHANNELS])
    poster_mp = invited & (rng.random(n) < 0.4)
    acq_carrier = np.where(poster_mp, CARRIERS.index("mp"), carrier_index[channel])

    seg = [sc.SEGMENTS[k] for k in range(len(sc.SEGMENTS))]
    p_app = np.array([s.app for s in seg])[segment]
    p_wecom = np.array([s.wecom for s in seg])[segment]
    u = rng.random((4, n))
    first_is = {c: acq_carrier == k for k, c in enumerate(CARRIERS)}
    has = {
        "oa": first_is["oa"] | (u[0] < np.where(first_is["app"], 0.2, 0.4)),
        "mp": first_is["mp"] | (u[1] < np.where(first_is["app"], 0.3, 0.78)),
        "app": first_is["app"] | (u[2] < p_app),
        "wecom": first_is["wecom"] | (u[3] < p_wecom),
    }
    first_day: dict[str, np.ndarray] = {}
    for carrier in CARRIERS:
        delay = _delay(rng, n, 0.55 if carrier == "mp" else 0.35, 6.0 if carrier != "app" else 12.0)
        day = np.where(first_is[carrier], acq_day, acq_day + delay)
        ok = has[carrier] & (day < days)
        first_day[carrier] = np.where(ok, day, NO_DAY)
    oa = first_day["oa"] >= 0
    matrix = oa & (rng.random(n) < np.where(interest == 0, 0.45, 0.08))
    matrix_day = np.where(matrix, first_day["oa"] + _delay(rng, n, 0.3, 5.0), NO_DAY)
    matrix_day = np.where(matrix_day < days, matrix_day, NO_DAY)

    # Members sign up in the mini-program or app; sharers (who invite) are members.
    can_register = (first_day["mp"] >= 0) | (first_day["app"] >= 0)
    registered = can_register & (rng.random(n) < np.array([s.registered for s in seg])[segment])
    p_share = np.array([s.sharer / s.registered for s in seg])[segment]
    sharer = registered & (rng.random(n) < p_share)
    inviter, depth = _invite_chains(rng, invited, sharer, acq_day)
    lost = invited & (inviter < 0)  # nobody earlier to invite them: they came organically
    channel = np.where(lost, 0, channel)

    wechat = oa | (first_day["mp"] >= 0) | (first_day["wecom"] >= 0)
    has_unionid = wechat & (rng.random(n) < 0.78)
    has_phone = registered & (rng.random(n) < 0.8)
    ids = {
        "mp_openid": random_ids(rng, first_day["mp"] >= 0, "oRq5", 24),
        "oa_openid": random_ids(rng, oa, "o6_b", 24),
        "oa_matrix_openid": random_ids(rng, matrix_day >= 0, "oK2x", 24),
        "unionid": random_ids(rng, has_unionid, "oU", 26),
        "phone": _numbered_ids(has_phone, "13", 9, 7_919_003, 351_234_567),
        "member_id": _numbered_ids(registered, "M", 8, 4_999_963, 10_338_773),
        "device_id": random_ids(rng, first_day["app"] >= 0, "", 32, _HEX),
        "wecom_external_userid": random_ids(rng, first_day["wecom"] >= 0, "wmQ8", 28),
    }
    dev_w = np.array(sc.DEVICE_WEIGHTS)
    return Population(
        n=n,
        segment=segment,
        interest=interest,
        channel=channel,
        acq_carrier=acq_carrier,
        acq_day=acq_day,
        acq_second=sample_seconds(rng, n),
        first_day=first_day,
        matrix_day=matrix_day,
        registered=registered,
        sharer=sharer,
        has_unionid=has_unionid,
        has_phone=has_phone,
        inviter=inviter,
        depth=depth,
        device=rng.choice(len(dev_w), size=n, p=dev_w / dev_w.sum()),
        staff=rng.integers(0, len(sc.STAFF), n),
        ids=ids,
    )


def _invite_chains(
    rng: np.random.Generator, invited: np.ndarray, sharer: np.ndarray, acq_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each invitee's inviter (a sharer who arrived on an earlier day) and chain depth.

    Inviters are drawn with heavy-tailed weights so a few KOCs bring many friends.
    """
    n = len(invited)
    sharers = np.flatnonzero(sharer)
    order = sharers[np.argsort(acq_day[sharers], kind="stable")]
    weights = rng.pareto(1.2, len(order)) + 0.2
    cum = np.cumsum(weights)
    inviter = np.full(n, -1, np.int64)
    targets = np.flatnonzero(invited)
    count = np.searchsorted(acq_day[order], acq_day[targets], side="left")
    ok = count > 0
    t, c = targets[ok], count[ok]
    pick = np.searchsorted(cum, rng.random(len(t)) * cum[c - 1], side="right")
    inviter[t] = order[np.minimum(pick, c - 1)]
    depth = np.zeros(n, np.int64)
    has_inviter = inviter >= 0
    for _ in range(n):
        nxt = np.where(has_inviter, depth[np.maximum(inviter, 0)] + 1, 0)
        if np.array_equal(nxt, depth):
            break
        depth = nxt
    return inviter, depth
