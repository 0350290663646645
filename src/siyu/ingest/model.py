"""The canonical event record every protocol and importer produces.

One row of the ``events`` table. Times are integer microseconds since the Unix epoch in
UTC (cheap to build into Arrow columns); JSON columns are text so every backend reads them.

``type`` says what kind of record it is; identity work reads ``identify``, ``alias``,
``signup``, ``bind``, ``unbind`` and the ``profile_*`` types in ``seq`` order.
"""

from __future__ import annotations

import hashlib
import operator
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import pyarrow as pa

#: Record types, the union of what Segment, Sensors and PostHog can express.
TYPES: Final = frozenset(
    {
        "track",
        "page",
        "screen",
        "identify",
        "alias",
        "group",
        "signup",
        "bind",
        "unbind",
        "profile_set",
        "profile_set_once",
        "profile_increment",
        "profile_append",
        "profile_unset",
        "profile_delete",
        "item_set",
        "item_delete",
    }
)

#: Carriers (载体): where in the WeChat ecosystem the record came from.
CARRIERS: Final = frozenset({"oa", "mp", "wecom", "app", "web", "server", "import"})

#: How the record was produced: code tracking (代码埋点), autotrack (无埋点), server or import.
METHODS: Final = frozenset({"code", "autotrack", "server", "import"})

PROTOCOLS: Final = frozenset({"segment", "sensors", "posthog", "wechat", "import", "demo"})


# Not frozen: a frozen dataclass sets each of its 20 fields through object.__setattr__,
# 2.5 µs per record against 0.6 µs, a tenth of parsing a Segment message. Records are
# built once by a parser and only read afterwards; nothing hashes them.
@dataclass(slots=True)
class EventRecord:
    """One canonical event; see docs/events.md for the meaning of every field."""

    event_id: str
    type: str
    event: str
    event_time: int
    received_at: int
    source_id: str
    protocol: str
    carrier: str
    client_time: int | None = None
    sent_at: int | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    previous_id: str | None = None
    identities: dict[str, str] = field(default_factory=dict)
    app_id: str | None = None
    library: str | None = None
    library_version: str | None = None
    method: str = "code"
    properties: str = "{}"
    context: str = "{}"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not accepted, kept in the quarantine with its reason."""

    reason: str
    payload: bytes
    index: int | None = None


def content_event_id(payload: Any, prefix: str = "h:") -> str:
    """A deterministic event id from a record's content, for clients that send none.

    Example:
        >>> content_event_id({"event": "x", "userId": "u1"})[:10]
        'h:bd50613a'
    """
    digest = hashlib.blake2b(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS),
        digest_size=16,
    )
    return prefix + digest.hexdigest()


def raw_payload(item: Any) -> bytes:
    """A rejected record as bytes for the quarantine, whatever JSON value it was."""
    try:
        return orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return repr(item).encode()


_TS = pa.timestamp("us")
_IDS = pa.map_(pa.string(), pa.string())

#: Column order and types of the events table as Arrow sees it (``seq`` added on write).
EVENT_SCHEMA: Final = pa.schema(
    [
        ("event_id", pa.string()),
        ("type", pa.string()),
        ("event", pa.string()),
        ("event_time", _TS),
        ("client_time", _TS),
        ("sent_at", _TS),
        ("received_at", _TS),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("previous_id", pa.string()),
        ("identities", _IDS),
        ("source_id", pa.string()),
        ("protocol", pa.string()),
        ("carrier", pa.string()),
        ("app_id", pa.string()),
        ("library", pa.string()),
        ("library_version", pa.string()),
        ("method", pa.string()),
        ("properties", pa.string()),
        ("context", pa.string()),
    ]
)


#: The plain (non-map) columns, and a getter returning them as a tuple in that order.
_PLAIN: Final = tuple(f.name for f in EVENT_SCHEMA if f.name != "identities")
_ROW: Final = operator.attrgetter(*_PLAIN)


def records_to_arrow(records: list[EventRecord]) -> pa.Table:
    """Columns of ``records`` as an Arrow table in ``EVENT_SCHEMA`` order.

    The identities map is built from flat offsets, keys and values: converting Python
    dicts or tuples into a MapArray one row at a time is an order of magnitude slower.
    """
    offsets = [0]
    keys: list[str] = []
    values: list[str] = []
    for record in records:
        ids = record.identities
        if ids:
            keys.extend(ids)
            values.extend(ids.values())
        offsets.append(len(keys))
    identities = pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()), pa.array(keys, pa.string()), pa.array(values, pa.string())
    )
    # One C-level getter per record, transposed by zip: a list comprehension of getattr
    # per column took half of this function's time on 100-record requests.
    by_column = list(zip(*map(_ROW, records), strict=True)) or [()] * len(_PLAIN)
    plain = dict(zip(_PLAIN, by_column, strict=True))
    columns = [
        identities if f.name == "identities" else pa.array(plain[f.name], type=f.type)
        for f in EVENT_SCHEMA
    ]
    return pa.table(columns, schema=EVENT_SCHEMA)
