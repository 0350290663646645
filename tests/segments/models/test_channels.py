"""Channel tags: first and latest channel, campaign and launch scene per person."""

from __future__ import annotations

from typing import Any

from siyu.segments.dialect import DUCKDB
from siyu.segments.models import channel_tags, load_models_config
from siyu.segments.models.config import ModelsConfig
from tests.segments.models.cases import CHANNEL_EVENTS, CHANNELS
from tests.segments.models.warehouse import build, rows, tables


def tags(config: ModelsConfig | None = None, *, with_channels: bool = True) -> dict[str, Any]:
    wh = build(CHANNEL_EVENTS, channels=CHANNELS)
    try:
        t = tables(wh.ibis())
        expr = channel_tags(
            t["events"], t["channels"] if with_channels else None,
            config=config or ModelsConfig(), dialect=DUCKDB,
        )  # fmt: skip
        return {r.pop("person_id"): r for r in rows(expr)}
    finally:
        wh.close()


def test_first_and_latest_channel_campaign_and_scene() -> None:
    found = tags()
    assert found["u1"] == {
        "first_channel": "qr_package",
        "first_campaign": "包裹卡",  # from the channels table: the event names none
        "latest_channel": "newsletter",
        "latest_campaign": "spring",
        "first_scene": "1047",
        "latest_scene": "1001",
    }
    assert (found["u2"]["first_channel"], found["u2"]["latest_channel"]) == (
        "wc_store_guide",
        "wc_after_sale",
    )
    assert found["u2"]["first_campaign"] is None and found["u2"]["first_scene"] is None
    assert "u3" not in found


def test_without_channel_campaigns() -> None:
    assert tags(with_channels=False)["u1"]["first_campaign"] == "共读计划"
    off = load_models_config({"channels": {"use_channel_campaign": False}})
    assert tags(off)["u1"]["first_campaign"] == "共读计划"
