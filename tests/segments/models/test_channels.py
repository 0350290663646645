"""Channel tags: first and latest channel, campaign and launch scene per person."""

from __future__ import annotations

from typing import Any

from siyu.segments.dialect import DUCKDB
from siyu.segments.models import channel_tags, load_models_config
from siyu.segments.models.config import ModelsConfig
from tests.segments.models.warehouse import Ev, build, rows, tables

EVENTS = [
    Ev("u1", "2024-03-01 09:00", "$MPLaunch", {"$scene": 1047, "$url_path": "pages/invite"}),
    Ev("u1", "2024-03-01 10:00", "subscribe", {"event_key": "qrscene_qr_package",
                                               "scene": "qr_package"}, carrier="oa"),
    Ev("u1", "2024-03-02 10:00", "invite_accepted", {"scene": "poster:M1", "campaign": "共读计划"}),
    Ev("u1", "2024-03-03 10:00", "SCAN", {"event_key": "qr_store_sh", "scene": "qr_store_sh"}),
    Ev("u1", "2024-03-04 10:00", "$pageview", type="page", carrier="web", protocol="segment",
       context={"campaign": {"source": "newsletter", "name": "spring"}}),
    Ev("u1", "2024-03-05 09:00", "$pageview", type="page", carrier="web",  # not Segment
       context={"campaign": {"source": "ignored", "name": "ignored"}}),
    Ev("u1", "2024-03-05 10:00", "$MPLaunch", {"$scene": 1001}),
    Ev("u1", "2024-03-06 10:00", "$AppInstall", {"$utm_source": ""}, carrier="app"),
    # Same time: seq (the list order) decides.
    Ev("u2", "2024-03-01 10:00", "add_external_contact", {"state": "wc_store_guide"}),
    Ev("u2", "2024-03-01 10:00", "add_external_contact", {"State": "wc_after_sale"}),
    Ev("u3", "2024-03-01 10:00", "view_item", {"item_id": "B1"}),
]  # fmt: skip
CHANNELS = [("qr_package", "包裹卡"), ("qr_store_sh", "门店引流"), ("wc_after_sale", None)]


def tags(config: ModelsConfig | None = None, *, with_channels: bool = True) -> dict[str, Any]:
    wh = build(EVENTS, channels=CHANNELS)
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
