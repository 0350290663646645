"""Identity types and their merge rules: priority and how many values one person may hold.

An identity is ``(type, value)``. Per-app types carry the app id in the type:
``mp_openid:wx1234`` and ``oa_openid:wx5678`` follow the rule of ``mp_openid`` /
``oa_openid`` but count separately, so a person holds one openid *per app*.

Priority decides which identity of an event is its actor (the anchor the others link to)
and is the order in which an event's links are tried, so the strongest id merges first.
A limit of ``None`` means unlimited (anonymous, cookie and device ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from siyu.config import Settings
from siyu.identity.exceptions import InvalidIdentity

#: Types whose values are personal data: normalised, sealed at rest, masked on display.
PII_TYPES: Final = frozenset({"phone", "email"})

#: Types whose identity type carries the WeChat app id (``mp_openid:<appid>``).
PER_APP_TYPES: Final = frozenset({"mp_openid", "oa_openid"})

#: What an event's plain columns are, as identity types.
USER_ID_TYPE: Final = "login_id"
ANONYMOUS_ID_TYPE: Final = "anonymous_id"

#: Persons a value of an unlimited type may link before it counts as junk (a shop's
#: shared tablet, a test device): its links are then refused.
DEFAULT_MAX_FANOUT: Final = 50


@dataclass(frozen=True)
class IdentityRule:
    """How one identity type merges."""

    name: str
    priority: int
    limit: int | None
    label: str = ""

    def __post_init__(self) -> None:
        if self.limit is not None and not 1 <= self.limit <= 250:
            raise InvalidIdentity(
                f"identity type {self.name!r}: limit must be 1..250 or null (unlimited), "
                f"got {self.limit}"
            )
        if not 0 <= self.priority <= 1000:
            raise InvalidIdentity(
                f"identity type {self.name!r}: priority must be 0..1000, got {self.priority}"
            )


DEFAULT_RULES: Final = (
    IdentityRule("member_id", 100, 1, "会员号"),
    IdentityRule("login_id", 90, 1, "登录 ID"),
    IdentityRule("unionid", 80, 1, "UnionID"),
    IdentityRule("phone", 70, 1, "手机号"),
    IdentityRule("email", 60, 1, "邮箱"),
    IdentityRule("wecom_external_userid", 55, 1, "企业微信外部联系人"),
    IdentityRule("oa_openid", 50, 1, "公众号 OpenID"),
    IdentityRule("mp_openid", 50, 1, "小程序 OpenID"),
    IdentityRule("mp_id", 45, 1, "小程序 ID"),
    IdentityRule("device_id", 20, None, "设备 ID"),
    IdentityRule("cookie_id", 15, None, "Cookie ID"),
    IdentityRule("anonymous_id", 10, None, "匿名 ID"),
)

#: The rule of a type nobody declared (ids on public platforms and the like).
UNDECLARED_PRIORITY: Final = 30


@dataclass(frozen=True)
class IdentityRules:
    """The declared identity types, with defaults for undeclared ones."""

    rules: Mapping[str, IdentityRule] = field(
        default_factory=lambda: {rule.name: rule for rule in DEFAULT_RULES}
    )
    max_fanout: int = DEFAULT_MAX_FANOUT

    @classmethod
    def with_overrides(
        cls, overrides: Mapping[str, Mapping[str, object]], max_fanout: int = DEFAULT_MAX_FANOUT
    ) -> IdentityRules:
        """Defaults updated by ``{type: {"priority": .., "limit": .., "label": ..}}``."""
        rules = {rule.name: rule for rule in DEFAULT_RULES}
        for name, spec in overrides.items():
            check_type_name(name)
            unknown = set(spec) - {"priority", "limit", "label"}
            if unknown:
                raise InvalidIdentity(
                    f"identity type {name!r}: unknown keys {sorted(unknown)}; "
                    "use priority, limit and label"
                )
            base = rules.get(name, IdentityRule(name, UNDECLARED_PRIORITY, None))
            priority = spec.get("priority", base.priority)
            limit = spec.get("limit", base.limit)
            label = spec.get("label", base.label)
            if not isinstance(priority, int) or isinstance(priority, bool):
                raise InvalidIdentity(f"identity type {name!r}: priority must be an integer")
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
                raise InvalidIdentity(f"identity type {name!r}: limit must be an integer or null")
            rules[name] = IdentityRule(name, priority, limit, str(label))
        if max_fanout < 2:
            raise InvalidIdentity(f"identity max fan-out must be at least 2, got {max_fanout}")
        return cls(rules, max_fanout)

    def rule(self, id_type: str) -> IdentityRule:
        """The rule of ``id_type``; ``mp_openid:wx1`` follows ``mp_openid``."""
        base = base_type(id_type)
        found = self.rules.get(base)
        if found is None:
            return IdentityRule(base, UNDECLARED_PRIORITY, None)
        return found

    def fingerprint(self) -> str:
        """A stable text of the rules; a change means the graph must be rebuilt."""
        parts = [f"{r.name}={r.priority}/{r.limit}" for r in sorted(self.rules.values(), key=_name)]
        return ";".join([*parts, f"fanout={self.max_fanout}"])


def _name(rule: IdentityRule) -> str:
    return rule.name


def base_type(id_type: str) -> str:
    """``mp_openid:wx1`` -> ``mp_openid``."""
    return id_type.split(":", 1)[0]


def check_type_name(name: str) -> None:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "_-" for c in name):
        raise InvalidIdentity(f"identity type {name!r} must be 1-64 letters, digits, '_' or '-'")


def typed(id_type: str, app_id: str | None) -> str:
    """The stored type of an id of ``id_type`` seen in app ``app_id``."""
    if id_type in PER_APP_TYPES and app_id:
        return f"{id_type}:{app_id}"
    return id_type


def rules_from_settings(settings: Settings) -> IdentityRules:
    """The rules of ``settings`` (``SIYU_IDENTITY_TYPES``, ``SIYU_IDENTITY_MAX_FANOUT``)."""
    return IdentityRules.with_overrides(settings.identity_types, settings.identity_max_fanout)
