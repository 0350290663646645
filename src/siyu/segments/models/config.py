"""Settings of the built-in layering models (分层分类), loadable from YAML or JSON.

Every field has a documented default (docs/models.md); a dict overrides any subset.
Unknown fields are errors, so a typo never silently keeps a default. Day counts are
local days in the project time zone, and "the last N days" counts today as day 1.

Example:
    >>> load_models_config({"rfm": {"window_days": 180}}).rfm.window_days
    180
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from siyu.segments.dialect import PROPERTY_KEY
from siyu.segments.exceptions import InvalidDefinition

#: A name list entry ending in ``*`` matches every name starting with what precedes it.
NamePatterns = tuple[str, ...]
#: A JSON property name the dialects can address (letters, digits, ``_``, ``$``, ``-``).
PropertyKey = Annotated[str, StringConstraints(pattern=PROPERTY_KEY.pattern)]
PropertyKeys = Annotated[tuple[PropertyKey, ...], Field(min_length=1)]
#: Four increasing cut points between the five scores.
Cuts = Annotated[tuple[float, ...], Field(min_length=4, max_length=4)]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActivityConfig(_Config):
    """Which records count as the person acting (活跃行为).

    Records of these types or names are bookkeeping, deliveries or departures, not the
    person doing something: profile and item records, leaving an account or group, and
    server-side marks. Paid orders always count as activity.
    """

    ignored_types: NamePatterns = ("profile_*", "item_*")
    ignored_events: NamePatterns = (
        "unsubscribe",
        "del_external_contact",
        "del_follow_user",
        "leave_group",
        "quit_group",
        "invite_reward",
        "segment_*",
        "$experiment_exposure",
        "TEMPLATESENDJOBFINISH",
        "MASSSENDJOBFINISH",
    )


class OrdersConfig(_Config):
    """Which orders count (有效订单) and which are fully refunded.

    An order counts unless its status is an unpaid one. It is fully refunded when its
    status says so or ``refund_fen >= amount_fen`` with a refund; a partial refund only
    lowers its net amount ``amount_fen - refund_fen``.
    """

    unpaid_statuses: tuple[str, ...] = (
        "unpaid",
        "pending",
        "created",
        "cancelled",
        "canceled",
        "closed",
        "failed",
    )
    refunded_statuses: tuple[str, ...] = ("refunded", "fully_refunded")


class LifecycleConfig(_Config):
    """Lifecycle stages (生命周期): new, active, silent, churned, returning; and paying."""

    new_days: int = Field(default=7, ge=1, description="new: first seen within the last N days")
    active_days: int = Field(default=7, ge=1, description="active: activity within the last N days")
    churn_days: int = Field(default=30, ge=2, description="churned: no activity in the last N days")
    return_gap_days: int = Field(
        default=30,
        ge=1,
        description="returning: back after more than N days between two activities",
    )
    paying_window_days: int | None = Field(
        default=None, ge=1, description="paying: a net order within the last N days (None: ever)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.churn_days <= self.active_days:
            raise ValueError("churn_days must be greater than active_days")
        if self.return_gap_days < self.active_days:
            raise ValueError("return_gap_days must be at least active_days")
        return self


class RfmConfig(_Config):
    """RFM scores and the eight classes (RFM 模型)."""

    window_days: int = Field(default=365, ge=1, description="net orders of the last N days")
    scoring: Literal["quantile", "cuts"] = "quantile"
    recency_cuts: Cuts | None = Field(default=None, description="days; 5 when <= the first cut")
    frequency_cuts: Cuts | None = Field(default=None, description="orders; 5 when >= the last cut")
    monetary_cuts: Cuts | None = Field(default=None, description="fen; 5 when >= the last cut")
    split: Literal["mean", "threshold"] = "mean"
    high_score: int = Field(default=4, ge=1, le=5, description="split=threshold: high when >= it")

    @model_validator(mode="after")
    def _cuts(self) -> Self:
        for name in ("recency_cuts", "frequency_cuts", "monetary_cuts"):
            cuts = getattr(self, name)
            if self.scoring == "cuts" and cuts is None:
                raise ValueError(f"scoring 'cuts' needs {name}: four increasing numbers")
            if cuts is not None and any(b <= a for a, b in pairwise(cuts)):
                raise ValueError(f"{name} must increase strictly, got {list(cuts)}")
        return self


class ValueConfig(_Config):
    """Value tiers (用户价值分层): loyal, high_quality, ordinary, low_frequency, churned."""

    window_days: int = Field(default=365, ge=1, description="orders and spend of the last N days")
    recent_days: int = Field(default=90, ge=1, description="a purchase within N days is recent")
    churn_days: int = Field(default=90, ge=1, description="churned: no activity in the last N days")
    loyal_min_orders: int = Field(default=4, ge=1)
    high_quality_min_orders: int = Field(default=2, ge=1)
    high_quality_min_fen: int = Field(default=30_000, ge=0)


class RolesConfig(_Config):
    """Roles (用户角色): ordinary, active, paying, ugc_author, koc."""

    window_days: int | None = Field(
        default=365, ge=1, description="content and referrals of the last N days (None: ever)"
    )
    ugc_events: tuple[str, ...] = (
        "publish_content",
        "post",
        "comment",
        "publish_note",
        "review",
    )
    ugc_item_keys: PropertyKeys = Field(
        default=("author_id", "creator_id"), description="item properties naming the author's id"
    )
    ugc_min_events: int = Field(default=1, ge=1, description="content events plus authored items")
    referral_events: tuple[str, ...] = ("invite_accepted", "$MPLaunch", "$AppStart")
    referrer_keys: PropertyKeys = ("inviter", "$share_distinct_id")
    koc_min_referrals: int = Field(default=3, ge=1, description="distinct persons brought in")


class InterestsConfig(_Config):
    """Interest tags (兴趣标签) from behaviour on tagged content items."""

    event_weights: dict[str, float] = Field(
        min_length=1,
        default_factory=lambda: {
            "view_item": 1.0,
            "read_article": 1.0,
            "click_item": 1.0,
            "favorite": 3.0,
            "collect": 3.0,
            "share": 4.0,
        },
    )
    purchase_weight: float = Field(default=5.0, ge=0, description="per line of a net order")
    item_key: PropertyKey = "item_id"
    tag_keys: tuple[str, ...] = Field(
        default=("tags", "category"), min_length=1, description="item properties holding tags"
    )
    half_life_days: float = Field(default=30.0, gt=0)
    window_days: int = Field(default=365, ge=1)
    min_weight: float = Field(default=1.0, ge=0)
    top_n: int = Field(default=10, ge=1)


class ChannelsConfig(_Config):
    """Channel tags (渠道标签): first and latest channel, campaign and launch scene."""

    scene_keys: PropertyKeys = ("$scene",)
    use_channel_campaign: bool = Field(
        default=True, description="a touch without a campaign takes its channel code's campaign"
    )


class ModelsConfig(_Config):
    """All model settings; each model reads its own part plus activity and orders."""

    activity: ActivityConfig = ActivityConfig()
    orders: OrdersConfig = OrdersConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    rfm: RfmConfig = RfmConfig()
    value: ValueConfig = ValueConfig()
    roles: RolesConfig = RolesConfig()
    interests: InterestsConfig = InterestsConfig()
    channels: ChannelsConfig = ChannelsConfig()


DEFAULT_CONFIG: ModelsConfig = ModelsConfig()


def load_models_config(data: Mapping[str, Any] | None) -> ModelsConfig:
    """A `ModelsConfig` from a plain dict (parsed YAML or JSON); None gives the defaults.

    Raises `InvalidDefinition` whose ``path`` names the first bad field, e.g.
    ``rfm.window_days``.
    """
    try:
        return ModelsConfig.model_validate(dict(data or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise InvalidDefinition(
            path, f"{message} (see docs/models.md for the fields and defaults)"
        ) from None
