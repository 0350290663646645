"""Segment HTTP Tracking API: payloads to canonical records.

Routes ``/v1/{track,identify,page,screen,group,alias,batch}``; see spec section 1. Pure:
takes the decoded JSON and the source, returns records and rejections.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

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
    normalise_identities,
    parse_time,
)
from siyu.ingest.parsing import Parsed
from siyu.ingest.sources import Source, authenticate

MAX_MESSAGE_BYTES: Final = 32 * 1024
MAX_BATCH_BYTES: Final = 500 * 1024
MAX_BATCH_MESSAGES: Final = 2_500
MAX_MESSAGE_ID: Final = 100

#: Segment call type -> (siyu type, fixed event name or None for ``track``).
_TYPES: Final[dict[str, tuple[str, str | None]]] = {
    "track": ("track", None),
    "page": ("page", "$pageview"),
    "screen": ("screen", "$screen"),
    "identify": ("identify", "$identify"),
    "group": ("group", "$groupidentify"),
    "alias": ("alias", "$create_alias"),
}
ROUTES: Final = frozenset({*_TYPES, "batch"})

#: Trait keys that are identifiers, copied into ``identities`` as well as kept as traits.
_IDENTITY_TRAITS: Final = frozenset(
    {
        "phone",
        "mobile",
        "email",
        "unionid",
        "mp_openid",
        "oa_openid",
        "openid",
        "wecom_external_userid",
        "external_userid",
        "member_id",
    }
)


def decode(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or `RequestRejected`."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected("malformed", f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise RequestRejected("malformed", "the body must be a JSON object")
    return payload


def write_key(payload: dict[str, Any], authorization: str | None) -> str | None:
    """The write key from Basic auth, a Bearer token, or the body's ``writeKey``."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise RequestRejected(
                    "unauthorized", "the Basic Authorization header is not valid base64"
                ) from None
            return user.partition(":")[0]
        if scheme.lower() == "bearer":
            # siyu runs no OAuth server: the bearer token is the write key itself, and a
            # writeKey in the body, when present, must name the same key.
            token = value.strip()
            body_key = payload.get("writeKey")
            if isinstance(body_key, str) and body_key and body_key != token:
                return None
            return token
    key = payload.get("writeKey")
    return key if isinstance(key, str) else None


def handle(
    body: bytes,
    route: str,
    authorization: str | None,
    sources: Mapping[str, Source],
    received_at: int,
) -> Parsed:
    """A whole request: decode, authenticate, parse (runs in a parser process)."""
    payload = decode(body)
    source = authenticate(sources, write_key(payload, authorization))
    records, rejections = parse(payload, route, source, received_at, body_bytes=len(body))
    return Parsed(source, records_to_arrow(records), rejections)


def parse(
    payload: dict[str, Any],
    route: str,
    source: Source,
    received_at: int,
    *,
    body_bytes: int | None = None,
) -> tuple[list[EventRecord], list[Rejection]]:
    """Records and rejections for one request to ``/v1/<route>``.

    ``body_bytes``, the request's size, lets the per-message size check be skipped when
    the whole body is within the per-message limit.
    """
    check_size = body_bytes is None or body_bytes > MAX_MESSAGE_BYTES
    if route == "batch":
        items = payload.get("batch")
        if not isinstance(items, list):
            raise RequestRejected("malformed", "a batch request needs a `batch` array")
        if len(items) > MAX_BATCH_MESSAGES:
            raise RequestRejected(
                "too_large",
                f"the batch has {len(items):,} messages; the limit is {MAX_BATCH_MESSAGES:,}",
            )
        shared_context = payload.get("context")
        sent_at_raw = payload.get("sentAt")
    else:
        items = [{**payload, "type": route}]
        shared_context = None
        sent_at_raw = None

    # The batch's sentAt is one value: parsed once, not once per message (a tenth of a
    # message's parsing). If it is bad, messages without a sentAt of their own are
    # rejected with its reason, as before.
    batch_sent_at: int | RecordRejected | None
    try:
        batch_sent_at = parse_time(sent_at_raw, "sentAt")
    except RecordRejected as exc:
        batch_sent_at = exc
    records: list[EventRecord] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise RecordRejected(f"batch item {index} is not a JSON object")
            records.append(
                _record(item, shared_context, batch_sent_at, source, received_at, check_size)
            )
        except RecordRejected as exc:
            rejections.append(Rejection(exc.reason, raw_payload(item), index))
    return records, rejections


def _record(
    item: dict[str, Any],
    shared_context: Any,
    batch_sent_at: int | RecordRejected | None,
    source: Source,
    received_at: int,
    check_size: bool = True,
) -> EventRecord:
    raw = item.get("type")
    if raw not in _TYPES:
        raise RecordRejected(f"type {raw!r} is not one of: {', '.join(_TYPES)}")
    record_type, fixed_name = _TYPES[raw]
    size = len(orjson.dumps(item)) if check_size else 0
    if size > MAX_MESSAGE_BYTES:
        raise RecordRejected(
            f"the message is {size:,} bytes; Segment's limit is {MAX_MESSAGE_BYTES:,} per message"
        )

    user_id = clean_id(item.get("userId"), "userId")
    anonymous_id = clean_id(item.get("anonymousId"), "anonymousId")
    if user_id is None and anonymous_id is None:
        raise RecordRejected("every message needs a userId or an anonymousId")
    message_id = clean_id(item.get("messageId"), "messageId")
    if message_id is not None and len(message_id) >= MAX_MESSAGE_ID:
        raise RecordRejected(f"messageId must be shorter than {MAX_MESSAGE_ID} characters")

    context = item.get("context")
    if shared_context is not None or context is not None:
        if context is not None and not isinstance(context, dict):
            raise RecordRejected("context must be a JSON object")
        merged = dict(shared_context) if isinstance(shared_context, dict) else {}
        merged.update(context or {})
        context = merged

    client_time = parse_time(item.get("timestamp") or item.get("originalTimestamp"), "timestamp")
    own_sent_at = item.get("sentAt")
    if own_sent_at:
        sent_at = parse_time(own_sent_at, "sentAt")
    elif isinstance(batch_sent_at, RecordRejected):
        raise RecordRejected(batch_sent_at.reason)
    else:
        sent_at = batch_sent_at
    when = event_time(client_time, sent_at, received_at)

    previous_id = None
    if record_type == "track":
        name = clean_event_name(item.get("event"))
        properties = item.get("properties")
    elif record_type in ("page", "screen"):
        name = fixed_name or ""
        properties = _named_properties(item)
    elif record_type == "identify":
        name = fixed_name or ""
        properties = item.get("traits")
    elif record_type == "group":
        name = fixed_name or ""
        group_id = clean_id(item.get("groupId"), "groupId", required=True)
        properties = {"group_id": group_id, "traits": item.get("traits") or {}}
    else:  # alias
        name = fixed_name or ""
        previous_id = clean_id(item.get("previousId"), "previousId", required=True)
        if user_id is None:
            raise RecordRejected("alias needs userId (the new id) as well as previousId")
        properties = {}

    identities = _identities(record_type, properties, context)
    library = context.get("library") if isinstance(context, dict) else None
    lib_name = library.get("name") if isinstance(library, dict) else None
    lib_version = library.get("version") if isinstance(library, dict) else None
    return EventRecord(
        event_id=message_id or content_event_id(item),
        type=record_type,
        event=name,
        event_time=when,
        received_at=received_at,
        source_id=source.source_id,
        protocol="segment",
        carrier=source.carrier,
        client_time=client_time,
        sent_at=sent_at,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        identities=identities,
        app_id=source.app_id,
        library=str(lib_name) if lib_name is not None else None,
        library_version=str(lib_version) if lib_version is not None else None,
        method="code",
        properties=dump_json(move_pii(properties, identities), "properties", MAX_MESSAGE_BYTES),
        context=dump_json(move_pii(context, identities), "context", MAX_MESSAGE_BYTES),
    )


def _named_properties(item: dict[str, Any]) -> dict[str, Any]:
    properties = item.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise RecordRejected("properties must be a JSON object")
    out = dict(properties or {})
    for key in ("name", "category"):
        if item.get(key) is not None:
            out.setdefault(key, item[key])
    return out


def _identities(record_type: str, properties: Any, context: Any) -> dict[str, str]:
    """Typed ids: ``context.externalIds``, siyu's ``context.identities``, id-like traits."""
    found: dict[str, str] = {}
    if isinstance(context, dict):
        external = context.get("externalIds")
        if isinstance(external, list):
            for entry in external:
                if isinstance(entry, dict) and entry.get("type") and entry.get("id"):
                    found.update(normalise_identities({entry["type"]: entry["id"]}))
        found.update(normalise_identities(context.get("identities"), "context.identities"))
        traits = context.get("traits")
        if isinstance(traits, dict):
            found.update(_trait_identities(traits))
    if record_type == "identify" and isinstance(properties, dict):
        found.update(_trait_identities(properties))
    return found


def _trait_identities(traits: dict[str, Any]) -> dict[str, str]:
    picked = {k: v for k, v in traits.items() if k in _IDENTITY_TRAITS and isinstance(v, str)}
    try:
        return normalise_identities(picked) if picked else {}
    except RecordRejected:
        return {}
