"""PostHog capture API: request bodies to canonical records.

Spec section 2. Routes ``/capture``, ``/e``, ``/i/v0/e``, ``/track`` (one event or a
list) and ``/batch``. Pure: `decode` turns the body into JSON, `events` finds the events
and `parse` turns them into records and rejections.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from siyu.ingest.exceptions import RecordRejected, RequestRejected
from siyu.ingest.model import (
    EventRecord,
    Rejection,
    content_event_id,
    raw_payload,
    records_to_arrow,
)
from siyu.ingest.normalize import (
    clean_event_name,
    clean_id,
    dump_json,
    event_time,
    move_pii,
    parse_time,
)
from siyu.ingest.parsing import Parsed
from siyu.ingest.sources import Source, authenticate

MAX_SINGLE_BYTES: Final = 2 * 1024 * 1024
MAX_BATCH_BYTES: Final = 20 * 1024 * 1024
MAX_EVENT_BYTES: Final = 1024 * 1024
MAX_BATCH_EVENTS: Final = 10_000

#: PostHog event name -> siyu type; anything else is ``track``.
_TYPES: Final = {
    "$identify": "identify",
    "$create_alias": "alias",
    "$set": "profile_set",
    "$set_once": "profile_set_once",
    "$pageview": "page",
    "$screen": "screen",
    "$groupidentify": "group",
}

#: ``$lib`` values (lower case) that say which carrier sent the event.
_LIB_CARRIERS: Final = {
    "web": "web",
    "posthog-js": "web",
    "posthog-js-lite": "web",
    "ios": "app",
    "posthog-ios": "app",
    "android": "app",
    "posthog-android": "app",
    "posthog-react-native": "app",
    "posthog-flutter": "app",
}

_AUTOTRACK_EVENTS: Final = frozenset({"$autocapture", "$rageclick", "$dead_click"})


def decode(body: bytes, *, form: bool = False) -> Any:
    """The JSON value of a body: plain JSON, or posthog-js's ``data=<base64 JSON>`` form.

    Example:
        >>> decode(b"data=eyJldmVudCI6IngifQ%3D%3D", form=True)
        {'event': 'x'}
    """
    if not body.strip():
        raise RequestRejected("malformed", "the body is empty; send a JSON event or batch")
    if form or body[:5] == b"data=":
        fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        if "data" not in fields:
            raise RequestRejected("malformed", "the form body has no `data` field")
        return decode_base64(fields["data"])
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected("malformed", f"the body is not valid JSON: {exc}") from None


def decode_base64(text: str) -> Any:
    """JSON from base64 text (the ``data`` field of posthog-js's form and GET requests)."""
    text = text.strip().replace(" ", "+")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestRejected("malformed", "the `data` field is not valid base64") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected("malformed", f"the `data` field is not base64 JSON: {exc}") from None


def events(payload: Any) -> tuple[list[Any], Any]:
    """(events, batch-level ``sent_at``) of a decoded payload.

    A payload is one event, a list of events, or ``{"batch": [...]}``.
    """
    if isinstance(payload, list):
        found, sent_at = payload, None
    elif isinstance(payload, dict):
        if "batch" in payload:
            found = payload["batch"]
            if not isinstance(found, list):
                raise RequestRejected("malformed", "`batch` must be a JSON array of events")
        elif "data" in payload and isinstance(payload["data"], (list, dict)):
            return events(payload["data"])
        else:
            found = [payload]
        sent_at = payload.get("sent_at")
    else:
        raise RequestRejected("malformed", "the body must be a JSON object or array")
    if len(found) > MAX_BATCH_EVENTS:
        raise RequestRejected(
            "too_large", f"the batch has {len(found):,} events; the limit is {MAX_BATCH_EVENTS:,}"
        )
    return found, sent_at


def api_key(payload: Any, items: list[Any], authorization: str | None) -> str | None:
    """The project key: body ``api_key``/``token``, an event's ``properties.token``, Bearer."""
    holders = [payload] if isinstance(payload, dict) else []
    holders += [item for item in items[:1] if isinstance(item, dict)]
    for holder in holders:
        for name in ("api_key", "token"):
            if isinstance(holder.get(name), str) and holder[name]:
                return str(holder[name])
        properties = holder.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get("token"), str):
            return str(properties["token"])
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


def handle(
    payload: bytes | Any,
    form: bool,
    authorization: str | None,
    sources: Mapping[str, Source],
    received_at: int,
) -> Parsed:
    """A whole request: decode (when given bytes), authenticate, parse.

    Pure, so big bodies can run in a parser process; ``payload`` is the (inflated) body,
    or an already-decoded JSON value (the ``GET ?data=`` form).
    """
    if isinstance(payload, bytes):
        payload = decode(payload, form=form)
    items, sent_at = events(payload)
    source = authenticate(sources, api_key(payload, items, authorization))
    records, rejections = parse(items, source, received_at, sent_at=sent_at)
    return Parsed(source, records_to_arrow(records), rejections)


def parse(
    items: list[Any], source: Source, received_at: int, *, sent_at: Any = None
) -> tuple[list[EventRecord], list[Rejection]]:
    """Records and rejections for the events of one request."""
    records: list[EventRecord] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise RecordRejected(f"event {index} is not a JSON object")
            records.append(_record(item, source, received_at, sent_at))
        except RecordRejected as exc:
            rejections.append(Rejection(exc.reason, raw_payload(item), index))
    return records, rejections


def _record(
    item: dict[str, Any], source: Source, received_at: int, batch_sent_at: Any
) -> EventRecord:
    name = clean_event_name(item.get("event"))
    record_type = _TYPES.get(name, "track")
    properties = item.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise RecordRejected("properties must be a JSON object")
    size = len(raw_payload(item))
    if size > MAX_EVENT_BYTES:
        raise RecordRejected(
            f"the event is {size:,} bytes; the limit is {MAX_EVENT_BYTES:,} per event"
        )
    for key in ("$set", "$set_once"):
        if key in item:
            value = item[key]
            if not isinstance(value, dict):
                raise RecordRejected(f"{key} must be a JSON object")
            existing = properties.get(key)
            merged = {**existing, **value} if isinstance(existing, dict) else value
            properties = {**properties, key: merged}

    raw_id = item.get("distinct_id")
    if raw_id is None:
        raw_id = properties.get("distinct_id")
    distinct_id = clean_id(raw_id, "distinct_id", required=True) or ""
    anon_id = clean_id(properties.get("$anon_distinct_id"), "properties.$anon_distinct_id")
    user_id = anonymous_id = previous_id = None
    if record_type == "alias":
        previous_id = distinct_id
        user_id = clean_id(properties.get("alias"), "properties.alias", required=True)
    elif record_type == "identify" or _identified(distinct_id, properties):
        user_id = distinct_id
        anonymous_id = anon_id if anon_id != distinct_id else None
    else:
        anonymous_id = distinct_id

    client_time, sent_at = _times(item, batch_sent_at, received_at)
    when = event_time(client_time, sent_at, received_at)

    lib_name = properties.get("$lib")
    lib_version = properties.get("$lib_version")
    library = {"name": lib_name, "version": lib_version} if lib_name is not None else None
    context: dict[str, Any] = {"library": library} if library else {}
    for key in ("ip", "historical_migration"):
        if item.get(key) is not None:
            context[key] = item[key]
    event_id = clean_id(item.get("uuid"), "uuid") or content_event_id(item)
    identities: dict[str, str] = {}
    properties = move_pii(properties, identities)
    return EventRecord(
        event_id=event_id,
        type=record_type,
        event=name,
        event_time=when,
        received_at=received_at,
        source_id=source.source_id,
        protocol="posthog",
        carrier=_carrier(lib_name, source.carrier),
        client_time=client_time,
        sent_at=sent_at,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        identities=identities,
        app_id=source.app_id,
        library=str(lib_name) if lib_name is not None else None,
        library_version=str(lib_version) if lib_version is not None else None,
        method="autotrack" if name in _AUTOTRACK_EVENTS else "code",
        properties=dump_json(properties, "properties", MAX_EVENT_BYTES),
        context=dump_json(context, "context", MAX_EVENT_BYTES),
    )


def _identified(distinct_id: str, properties: dict[str, Any]) -> bool:
    """Whether ``distinct_id`` names a known user rather than a device or session.

    posthog-js marks this with ``$user_state``; server SDKs send user ids, except for
    personless events (``$process_person_profile: false``).
    """
    state = properties.get("$user_state")
    if state is not None:
        return bool(state == "identified")
    if properties.get("$process_person_profile") is False:
        return False
    return distinct_id != properties.get("$device_id")


def _times(
    item: dict[str, Any], batch_sent_at: Any, received_at: int
) -> tuple[int | None, int | None]:
    """(client time, sent_at) in µs; ``offset`` (ms before sending) stands in for both."""
    offset = item.get("offset")
    if offset is not None and item.get("timestamp") is None:
        if (
            isinstance(offset, bool)
            or not isinstance(offset, (int, float))
            or not 0 <= offset < 10**12
        ):
            raise RecordRejected(f"offset must be a non-negative number of ms, got {offset!r}")
        return received_at - int(offset * 1000), received_at
    client_time = parse_time(item.get("timestamp"), "timestamp")
    sent_at = parse_time(item.get("sent_at") or batch_sent_at, "sent_at")
    return client_time, sent_at


def _carrier(lib_name: Any, default: str) -> str:
    if isinstance(lib_name, str):
        return _LIB_CARRIERS.get(lib_name.strip().lower(), default)
    return default
