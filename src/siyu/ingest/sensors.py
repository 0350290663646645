"""Sensors Data (神策) collector format: form fields to canonical records.

Spec section 3. Requests carry ``data`` (one record) or ``data_list`` (an array), base64
of JSON, gzip'd when ``gzip=1``; project and token come in the query string. Pure:
`form_fields` and `decode` turn the transport into JSON values, `parse` turns those into
records and rejections.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

import orjson

from siyu.ingest.exceptions import RecordRejected, RequestRejected
from siyu.ingest.gunzip import gunzip
from siyu.ingest.model import EventRecord, Rejection, content_event_id, raw_payload
from siyu.ingest.normalize import (
    clean_event_name,
    clean_id,
    dump_json,
    event_time,
    move_pii,
    normalise_identities,
    parse_time,
)
from siyu.ingest.sources import Source

MAX_RECORD_BYTES: Final = 1024 * 1024
MAX_BODY_BYTES: Final = 20 * 1024 * 1024
#: Inflated (gunzip'd) data may be larger than the body, but not without bound.
MAX_DECODED_BYTES: Final = 64 * 1024 * 1024
MAX_BATCH_RECORDS: Final = 10_000

#: Sensors record type -> (siyu type, fixed event name or None when the record names it).
_TYPES: Final[dict[str, tuple[str, str | None]]] = {
    "track": ("track", None),
    "track_signup": ("signup", "$SignUp"),
    "track_id_bind": ("bind", "$BindID"),
    "track_id_unbind": ("unbind", "$UnbindID"),
    "profile_set": ("profile_set", "$profile_set"),
    "profile_set_once": ("profile_set_once", "$profile_set_once"),
    "profile_increment": ("profile_increment", "$profile_increment"),
    "profile_append": ("profile_append", "$profile_append"),
    "profile_unset": ("profile_unset", "$profile_unset"),
    "profile_delete": ("profile_delete", "$profile_delete"),
    "item_set": ("item_set", "$item_set"),
    "item_delete": ("item_delete", "$item_delete"),
}

#: ``lib.$lib`` values (lower case) that say which carrier sent the record.
_LIB_CARRIERS: Final = {
    "miniprogram": "mp",
    "js": "web",
    "android": "app",
    "ios": "app",
}

_GZIP_MAGIC: Final = b"\x1f\x8b"


def form_fields(body: bytes) -> dict[str, str]:
    """The fields of a form-urlencoded body (the last value wins for a repeated name)."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
    return dict(parse_qsl(text, keep_blank_values=True))


def decode(fields: Mapping[str, str]) -> list[Any]:
    """The JSON records in ``data`` or ``data_list``, or `RequestRejected`.

    Example:
        >>> decode({"data": "eyJ0eXBlIjoidHJhY2sifQ=="})
        [{'type': 'track'}]
    """
    if "data_list" in fields:
        name, many = "data_list", True
    elif "data" in fields:
        name, many = "data", False
    else:
        raise RequestRejected(
            "malformed", "no `data` or `data_list` field: send data_list=<base64 JSON array>"
        )
    raw = _b64decode(fields[name], name)
    if raw[:2] == _GZIP_MAGIC:
        raw = gunzip(raw, MAX_DECODED_BYTES, name)
    elif fields.get("gzip") == "1":
        raise RequestRejected("malformed", f"{name} is marked gzip=1 but is not gzip data")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected("malformed", f"{name} is not base64 of JSON: {exc}") from None
    return as_records(value, name if many else None)


def as_records(value: Any, name: str | None = None) -> list[Any]:
    """A list of records from a decoded JSON value (an array, or one object)."""
    if isinstance(value, list):
        if len(value) > MAX_BATCH_RECORDS:
            raise RequestRejected(
                "too_large",
                f"the batch has {len(value):,} records; the limit is {MAX_BATCH_RECORDS:,}",
            )
        return value
    if name is not None and not isinstance(value, dict):
        raise RequestRejected("malformed", f"{name} must be a JSON array of records")
    return [value]


def record_token(items: list[Any]) -> str | None:
    """The ``token`` a record carries, for clients that do not put it in the query."""
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("token"), str):
            return str(item["token"])
    return None


def check_project(source: Source, project: str | None) -> None:
    """Refuse a request naming a project other than the source's own."""
    if project and source.project and project != source.project:
        raise RequestRejected(
            "unauthorized",
            f"project {project!r} does not match this token's project {source.project!r}; "
            f"use ?project={source.project}",
        )


def parse(
    items: list[Any], source: Source, received_at: int, *, project: str | None = None
) -> tuple[list[EventRecord], list[Rejection]]:
    """Records and rejections for decoded Sensors records."""
    records: list[EventRecord] = []
    rejections: list[Rejection] = []
    expected_project = source.project or project
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise RecordRejected(f"record {index} is not a JSON object")
            records.append(_record(item, source, received_at, expected_project))
        except RecordRejected as exc:
            rejections.append(Rejection(exc.reason, raw_payload(item), index))
    return records, rejections


def _record(
    item: dict[str, Any], source: Source, received_at: int, expected_project: str | None
) -> EventRecord:
    raw_type = item.get("type")
    if not isinstance(raw_type, str) or raw_type not in _TYPES:
        raise RecordRejected(f"type {raw_type!r} is not one of: {', '.join(_TYPES)}")
    record_type, fixed_name = _TYPES[raw_type]
    size = len(raw_payload(item))
    if size > MAX_RECORD_BYTES:
        raise RecordRejected(
            f"the record is {size:,} bytes; the limit is {MAX_RECORD_BYTES:,} per record"
        )
    record_project = item.get("project")
    if record_project and expected_project and record_project != expected_project:
        raise RecordRejected(
            f"project {record_project!r} does not match this token's project {expected_project!r}"
        )
    properties = item.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise RecordRejected("properties must be a JSON object")

    client_time = parse_time(item.get("time"), "time")
    sent_at = parse_time(item.get("_flush_time"), "_flush_time")
    when = event_time(client_time, sent_at, received_at)

    user_id = anonymous_id = previous_id = None
    identities = normalise_identities(item.get("identities"))
    if record_type in ("item_set", "item_delete"):
        name = fixed_name or ""
        properties = {
            "item_type": clean_id(item.get("item_type"), "item_type", required=True),
            "item_id": clean_id(item.get("item_id"), "item_id", required=True),
            "item_properties": properties,
        }
    else:
        if fixed_name is None:
            name = clean_event_name(item.get("event"))
        else:
            event = item.get("event")
            name = clean_event_name(event) if event else fixed_name
        user_id, anonymous_id = _user_ids(item, properties, identities)
        if record_type == "signup":
            previous_id = clean_id(item.get("original_id"), "original_id", required=True)
            if user_id is None:
                user_id = clean_id(item.get("distinct_id"), "distinct_id", required=True)
                anonymous_id = clean_id(item.get("anonymous_id"), "anonymous_id")
        if user_id is None and anonymous_id is None and not identities:
            raise RecordRejected(
                "every record needs a distinct_id, login_id, anonymous_id or identities"
            )

    lib = item.get("lib")
    if not isinstance(lib, dict):
        lib = {}
    lib_name = lib.get("$lib", properties.get("$lib"))
    lib_version = lib.get("$lib_version", properties.get("$lib_version"))
    lib_method = lib.get("$lib_method", properties.get("$lib_method"))
    context: dict[str, Any] = {"lib": lib}
    for key in ("project", "_track_id", "_flush_time", "time_free"):
        if item.get(key) is not None:
            context[key] = item[key]
    app_id = properties.get("$app_id")
    return EventRecord(
        event_id=_event_id(item),
        type=record_type,
        event=name,
        event_time=when,
        received_at=received_at,
        source_id=source.source_id,
        protocol="sensors",
        carrier=_carrier(lib_name, source.carrier),
        client_time=client_time,
        sent_at=sent_at,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        identities=identities,
        app_id=source.app_id or (app_id if isinstance(app_id, str) else None),
        library=str(lib_name) if lib_name is not None else None,
        library_version=str(lib_version) if lib_version is not None else None,
        method="autotrack" if str(lib_method).lower() == "autotrack" else "code",
        properties=dump_json(move_pii(properties, identities), "properties", MAX_RECORD_BYTES),
        context=dump_json(move_pii(context, identities), "context", MAX_RECORD_BYTES),
    )


def _user_ids(
    item: dict[str, Any], properties: dict[str, Any], identities: dict[str, str]
) -> tuple[str | None, str | None]:
    """(user_id, anonymous_id): login ids are users, any other distinct_id is anonymous."""
    distinct_id = clean_id(item.get("distinct_id"), "distinct_id")
    login_id = clean_id(item.get("login_id"), "login_id")
    anonymous_id = clean_id(item.get("anonymous_id"), "anonymous_id")
    if login_id is None and properties.get("$is_login_id") is True:
        login_id = distinct_id
    login_id = login_id or identities.get("login_id")
    # ID-Mapping 3 SDKs send "<identity key>+<value>" as distinct_id when there is no
    # login id; the identities object already carries that id.
    synthetic = distinct_id is not None and distinct_id.startswith("$identity_")
    if anonymous_id is None and distinct_id != login_id and not synthetic:
        anonymous_id = distinct_id
    anonymous_id = anonymous_id or identities.get("anonymous_id")
    return login_id, anonymous_id


def _event_id(item: dict[str, Any]) -> str:
    """``_track_id`` is a small random int, so it is only unique with the rest of the key."""
    track_id = item.get("_track_id")
    if track_id is None:
        return content_event_id(item)
    key = [item.get("distinct_id"), item.get("time"), track_id, item["type"], item.get("event")]
    return content_event_id(key, prefix="sa:")


def _carrier(lib_name: Any, default: str) -> str:
    if isinstance(lib_name, str):
        return _LIB_CARRIERS.get(lib_name.strip().lower(), default)
    return default


def _b64decode(text: str, name: str) -> bytes:
    if "%" in text:
        text = unquote(text)
    text = text.strip().replace(" ", "+")
    if "-" in text or "_" in text:
        text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestRejected("malformed", f"{name} is not valid base64") from None
