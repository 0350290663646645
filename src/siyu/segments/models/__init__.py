"""Built-in layering models (分层分类): lifecycle, RFM, value tiers, roles, interests and
channel tags, as pure Ibis functions of the events, orders, items and channels tables.

Each takes Ibis tables and plain values and returns an Ibis table expression, the same
rows on DuckDB and Spark; docs/models.md gives every rule and default.
"""

from siyu.segments.models.channels import channel_tags
from siyu.segments.models.config import DEFAULT_CONFIG, ModelsConfig, load_models_config
from siyu.segments.models.interests import interests
from siyu.segments.models.lifecycle import STAGES, lifecycle
from siyu.segments.models.rfm import RFM_CLASSES, RfmClass, rfm
from siyu.segments.models.value import ROLES, VALUE_TIERS, roles, value_tiers

__all__ = [
    "DEFAULT_CONFIG",
    "RFM_CLASSES",
    "ROLES",
    "STAGES",
    "VALUE_TIERS",
    "ModelsConfig",
    "RfmClass",
    "channel_tags",
    "interests",
    "lifecycle",
    "load_models_config",
    "rfm",
    "roles",
    "value_tiers",
]
