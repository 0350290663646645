"""Model settings: defaults, overrides from plain dicts, and errors naming the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from siyu.segments.exceptions import InvalidDefinition
from siyu.segments.models import DEFAULT_CONFIG, ModelsConfig, load_models_config

DOCS = Path(__file__).parents[3] / "docs" / "models.md"


def test_defaults() -> None:
    config = load_models_config(None)
    assert config == DEFAULT_CONFIG == ModelsConfig()
    assert (config.lifecycle.new_days, config.lifecycle.churn_days) == (7, 30)
    assert (config.rfm.window_days, config.rfm.scoring, config.rfm.split) == (
        365,
        "quantile",
        "mean",
    )
    assert config.interests.half_life_days == 30
    assert "profile_*" in config.activity.ignored_types


def test_overrides_keep_the_other_defaults() -> None:
    config = load_models_config({"lifecycle": {"churn_days": 60}, "roles": {"window_days": None}})
    assert (config.lifecycle.churn_days, config.lifecycle.active_days) == (60, 7)
    assert config.roles.window_days is None
    with pytest.raises(ValueError, match="frozen"):
        config.lifecycle.new_days = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"rfm": {"window_dayz": 30}}, "rfm.window_dayz", "Extra inputs"),
        ({"lifecycle": {"new_days": 0}}, "lifecycle.new_days", "greater than or equal to 1"),
        ({"lifecycle": {"new_days": "a week"}}, "lifecycle.new_days", "integer"),
        ({"interests": {"event_weights": {"view_item": "x"}}},
         "interests.event_weights.view_item", "number"),
        ({"rfm": {"scoring": "ntile"}}, "rfm.scoring", "'quantile' or 'cuts'"),
        ({"rfm": {"scoring": "cuts", "recency_cuts": [1, 2, 3, 4]}}, "rfm", "frequency_cuts"),
        ({"rfm": {"frequency_cuts": [1, 3, 2, 4]}}, "rfm", "frequency_cuts must increase"),
        ({"rfm": {"monetary_cuts": [1, 2]}}, "rfm.monetary_cuts", "at least 4 items"),
        ({"lifecycle": {"churn_days": 7}}, "lifecycle", "churn_days must be greater"),
        ({"segments": {}}, "segments", "Extra inputs"),
        ({"interests": {"item_key": "item.id"}}, "interests.item_key", "should match pattern"),
        ({"roles": {"referrer_keys": []}}, "roles.referrer_keys", "at least 1 item"),
    ],
)  # fmt: skip
def test_errors_name_the_field(data: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        load_models_config(data)
    assert caught.value.path == path
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ")


def test_the_documented_example_loads() -> None:
    yaml = pytest.importorskip("yaml")
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "docs/models.md has a yaml example"
    config = load_models_config(yaml.safe_load(block.group(1)))
    assert config != DEFAULT_CONFIG
