"""Field normalisers shared by every protocol: ids, times, identities, sizes.

Each raises `RecordRejected` with a reason that names the field and says how to fix it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from siyu.ingest.exceptions import RecordRejected

#: 2000-01-01T00:00:00Z in microseconds: nothing before it is a real client event.
MIN_TIME_US: Final = 946_684_800_000_000
#: How far past the receive time (after skew correction) a timestamp may lie.
MAX_FUTURE_US: Final = 24 * 3600 * 1_000_000
MAX_ID_LENGTH: Final = 255
MAX_EVENT_NAME_LENGTH: Final = 100

#: Junk values clients send in place of a missing id; never treated as an identifier.
JUNK_IDS: Final = frozenset(
    {"", "null", "none", "undefined", "nil", "nan", "0", "-1", "[object object]"}
)

#: Identity-type aliases seen in the wild, mapped to siyu's type names.
IDENTITY_ALIASES: Final = {
    # Sensors ID-Mapping 3 keys (without the ``$identity_`` prefix)
    "login_id": "login_id",
    "anonymous_id": "anonymous_id",
    "mobile": "phone",
    "phone": "phone",
    "email": "email",
    "mp_openid": "mp_openid",
    "mp_unionid": "unionid",
    "unionid": "unionid",
    "mp_id": "mp_id",
    "android_id": "device_id",
    "android_uuid": "device_id",
    "idfv": "device_id",
    "device_id": "device_id",
    "cookie_id": "cookie_id",
    # siyu's own and Segment externalIds types
    "oa_openid": "oa_openid",
    "openid": "oa_openid",
    "wecom_external_userid": "wecom_external_userid",
    "external_userid": "wecom_external_userid",
    "member_id": "member_id",
    "user_id": "login_id",
}


def now_us() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def clean_id(value: Any, field: str, *, required: bool = False) -> str | None:
    """A client-supplied id as a trimmed string, or None when absent.

    Integers are accepted and written in decimal (the official SDKs stringify them too);
    objects, arrays, booleans and fractional numbers are rejected.
    """
    if value is None:
        if required:
            raise RecordRejected(f"{field} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordRejected(
            f"{field} must be a string, got {type(value).__name__} {_preview(value)}"
        )
    text = value.strip() if isinstance(value, str) else str(value)
    if len(text) > MAX_ID_LENGTH:
        raise RecordRejected(f"{field} is {len(text)} characters; the limit is {MAX_ID_LENGTH}")
    if text.lower() in JUNK_IDS:
        if required:
            raise RecordRejected(f"{field} is {value!r}, which is not a usable id")
        return None
    return text


def clean_event_name(value: Any, field: str = "event") -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordRejected(f"{field} must be a non-empty string, got {_preview(value)}")
    name = value.strip()
    if len(name) > MAX_EVENT_NAME_LENGTH:
        raise RecordRejected(
            f"{field} is {len(name)} characters; the limit is {MAX_EVENT_NAME_LENGTH}"
        )
    return name


def parse_time(value: Any, field: str) -> int | None:
    """A client timestamp as µs since the epoch, UTC; None when absent.

    Accepts ISO-8601 strings (a missing offset means UTC) and epoch numbers in seconds
    (10 digits) or milliseconds (13 digits), as Sensors SDKs send both.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordRejected(f"{field} must be a time, got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise RecordRejected(f"{field} must be a finite number")
        seconds = value / 1000 if abs(value) >= 1e11 else float(value)
        return int(seconds * 1_000_000)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_time(int(text), field)
        try:
            if text.endswith("z"):
                text = text[:-1] + "Z"
            parsed = datetime.fromisoformat(text)  # Python 3.11 reads "Z" and most ISO forms
        except ValueError:
            raise RecordRejected(
                f"{field} {_preview(value)} is not an ISO-8601 time such as "
                "2026-11-01T08:30:00.000Z"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1_000_000)
    raise RecordRejected(f"{field} must be a time string or number, got {type(value).__name__}")


def event_time(client_time: int | None, sent_at: int | None, received_at: int) -> int:
    """Client time corrected for clock skew, validated.

    With ``sent_at`` the client's clock offset is removed:
    ``received_at - (sent_at - client_time)`` (Segment's rule). Times before 2000 or more
    than a day ahead of the receive time are rejected.
    """
    if client_time is None:
        return received_at
    if client_time < MIN_TIME_US:
        raise RecordRejected(
            f"timestamp {_iso(client_time)} is before 2000-01-01; check the client's clock"
        )
    corrected = client_time
    if sent_at is not None:
        if sent_at < MIN_TIME_US:
            raise RecordRejected(f"sentAt {_iso(sent_at)} is before 2000-01-01")
        corrected = received_at - (sent_at - client_time)
        if corrected < MIN_TIME_US:
            raise RecordRejected(
                f"timestamp {_iso(client_time)} lies {(sent_at - client_time) // 86_400_000_000}"
                " days before sentAt; it is too old to be a real event"
            )
    if corrected > received_at + MAX_FUTURE_US:
        raise RecordRejected(
            f"timestamp {_iso(client_time)} is more than a day in the future; "
            "check the client's clock or send sentAt so siyu can correct it"
        )
    return corrected


def normalise_identities(raw: Any, field: str = "identities") -> dict[str, str]:
    """Typed identities from a ``{type: value}`` object; junk values are dropped."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RecordRejected(f"{field} must be an object of type -> id, got {_preview(raw)}")
    out: dict[str, str] = {}
    for key, value in raw.items():
        id_type = identity_type(str(key))
        cleaned = clean_id(value, f"{field}.{key}")
        if cleaned is not None:
            out[id_type] = cleaned
    return out


#: Property keys that hold a phone number or an email: moved to the sealed identities
#: map rather than stored in plain text (PIPL; see docs/privacy.md).
PII_PROPERTY_KEYS: Final = {
    "phone": "phone",
    "mobile": "phone",
    "$phone": "phone",
    "$mobile": "phone",
    "phone_number": "phone",
    "phonenumber": "phone",
    "手机号": "phone",
    "email": "email",
    "$email": "email",
    "邮箱": "email",
}


def move_pii(properties: Any, identities: dict[str, str]) -> Any:
    """``properties`` without phone/email values, which are added to ``identities``.

    Looks at the top level and at PostHog's ``$set`` / ``$set_once`` and Segment's
    ``traits`` objects. Explicit identities win over values found in properties.
    """
    if not isinstance(properties, dict):
        return properties
    out: dict[str, Any] | None = None
    for key, value in properties.items():
        kind = PII_PROPERTY_KEYS.get(key.lower()) if isinstance(key, str) else None
        if kind is not None and isinstance(value, str):
            out = dict(properties) if out is None else out
            del out[key]
            cleaned = clean_id(value, key) if len(value) <= MAX_ID_LENGTH else None
            if cleaned is not None:
                identities.setdefault(kind, cleaned)
        elif key in ("$set", "$set_once", "traits") and isinstance(value, dict):
            inner = move_pii(value, identities)
            if inner is not value:
                out = dict(properties) if out is None else out
                out[key] = inner
    return properties if out is None else out


def identity_type(key: str) -> str:
    """siyu's name for an identity type key (``$identity_mobile`` -> ``phone``)."""
    bare = key.removeprefix("$identity_").strip().lower()
    if not bare or len(bare) > 64:
        raise RecordRejected(f"identity type {key!r} must be 1-64 characters")
    return IDENTITY_ALIASES.get(bare, bare)


def dump_json(value: Any, field: str, limit: int) -> str:
    """``value`` as compact JSON text, rejecting anything that is not an object."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise RecordRejected(f"{field} must be a JSON object, got {_preview(value)}")
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise RecordRejected(f"{field} cannot be stored as JSON: {exc}") from None
    if len(text) > limit:
        raise RecordRejected(f"{field} is {len(text):,} bytes; the limit is {limit:,}")
    return text


def _iso(us: int) -> str:
    try:
        return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return str(us)


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
