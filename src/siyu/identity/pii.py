"""Personal identity values: phone and email normalised for matching, masked for display.

Pure functions, no keys and no I/O: they run in parser processes and at the warehouse
boundary alike. Sealing (encryption at rest) is `siyu.storage.sealing`.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers

from siyu.identity.exceptions import InvalidIdentity
from siyu.identity.rules import base_type

#: Region of numbers written without ``+``: mainland China.
DEFAULT_REGION: Final = "CN"

#: A mainland mobile number: the shape outlives the range tables a library ships with.
_CN_MOBILE: Final = re.compile(r"1[3-9]\d{9}")
#: The two spellings most stored numbers have: ``13912345678`` and ``+8613912345678``,
#: once spaces and dashes are taken out (``+86 139 1234 5678``, ``139-1234-5678``). They
#: normalise without the phone library, which costs 11-43 µs a number (measured; the
#: spaced spelling is the slow one).
_CN_MOBILE_PLAIN: Final = re.compile(r"(?:\+86)?(1[3-9]\d{9})")
#: What people put between the digits of a mobile: removed before the match above.
PHONE_SEPARATORS: Final = "[ -]"
_PHONE_SEPARATORS: Final = re.compile(PHONE_SEPARATORS)
_MAX_PHONE_CHARS: Final = 40
_MAX_EMAIL_CHARS: Final = 254
_EMAIL: Final = re.compile(
    r"(?P<local>[^@\s\"(),:;<>\[\\\]]{1,64})@"
    r"(?P<domain>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_](?:[\w-]{0,61}[^\W_])?)"
)


def normalise_phone(raw: str) -> str:
    """A phone number in E.164; without ``+`` it is read as a mainland number.

    Example:
        >>> normalise_phone("138 0013 8000")
        '+8613800138000'
        >>> normalise_phone("+1 415-555-2671")
        '+14155552671'
    """
    text = raw.strip()
    plain = _CN_MOBILE_PLAIN.fullmatch(_PHONE_SEPARATORS.sub("", text))
    if plain is not None:
        return "+86" + plain.group(1)
    if not text or len(text) > _MAX_PHONE_CHARS:
        raise InvalidIdentity(
            f"phone must be 1-{_MAX_PHONE_CHARS} characters, such as 13912345678 or +8613912345678"
        )
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidIdentity(
            "phone is not a phone number; send digits such as 13912345678, "
            "or +<country code><number> for numbers outside mainland China"
        ) from None
    national = str(number.national_number)
    mobile_shape = number.country_code == 86 and _CN_MOBILE.fullmatch(national) is not None
    if not (mobile_shape or phonenumbers.is_valid_number(number)):
        raise InvalidIdentity(
            f"phone is not a valid number for country code +{number.country_code}; "
            "check the digits (mainland mobiles have 11 digits starting 13-19)"
        )
    return f"+{number.country_code}{national}"


def normalise_email(raw: str) -> str:
    """An email address trimmed and lower-cased; it must look like ``name@domain.tld``.

    Example:
        >>> normalise_email("  Zhang.San@Example.COM ")
        'zhang.san@example.com'
    """
    text = raw.strip().lower()
    if len(text) > _MAX_EMAIL_CHARS or _EMAIL.fullmatch(text) is None:
        raise InvalidIdentity(
            "email must look like name@example.com (one @, a domain with a dot, no spaces)"
        )
    return text


def normalise_value(id_type: str, raw: str) -> str:
    """``raw`` normalised for its identity type; other types are only trimmed."""
    kind = base_type(id_type)
    if kind == "phone":
        return normalise_phone(raw)
    if kind == "email":
        return normalise_email(raw)
    return raw.strip()


def mask(id_type: str, plaintext: str) -> str:
    """How a personal value is shown by default: ``+86 138****8000``, ``z***@example.com``.

    Values of other identity types are returned as they are.
    """
    kind = base_type(id_type)
    if kind == "phone":
        return _mask_phone(plaintext)
    if kind == "email":
        return _mask_email(plaintext)
    return plaintext


def _mask_phone(text: str) -> str:
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return _mask_middle(text)
    return f"+{number.country_code} {_mask_middle(str(number.national_number))}"


def _mask_middle(digits: str) -> str:
    """Keep 3 leading and 4 trailing characters of long values, fewer of short ones."""
    n = len(digits)
    if n >= 9:
        head, tail = 3, 4
    elif n >= 5:
        head, tail = 1, 2
    else:
        head, tail = 0, 0
    return digits[:head] + "*" * (n - head - tail) + digits[n - tail :] if n else ""


def _mask_email(text: str) -> str:
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return _mask_middle(text)
    return f"{local[0]}***@{domain}"
