"""The referral page's tree chart: nodes and links of the analysis as one nested ECharts
tree, without a browser."""

from __future__ import annotations

from siyu.accounts.service import Principal
from siyu.console.frame import Page
from siyu.console.i18n import Formats, Texts
from siyu.console.pages.referral import tree_chart


def _node(node_id: str, generation: int, below: int, paying: bool = False) -> dict[str, object]:
    return {
        "id": node_id,
        "name": node_id.upper(),
        "generation": generation,
        "invitees": below,
        "descendants": below,
        "paying": paying,
        "revenue_fen": 1200.0 if paying else 0.0,
        "arrived": "2024-05-05T07:39:33",
    }


PAGE = Page(Principal("ana", "analyst"), Texts("zh-CN"), Formats("zh-CN"))


def test_several_seeds_hang_under_the_campaign() -> None:
    tree = {
        "nodes": [
            _node("a", 0, 2),
            _node("b", 1, 0, paying=True),
            _node("c", 1, 0),
            _node("d", 0, 0),
        ],
        "links": [{"source": "a", "target": "b"}, {"source": "a", "target": "c"}],
    }
    options = tree_chart(PAGE, tree, "共读计划")
    centre = options["series"][0]["data"][0]
    assert centre["name"] == "共读计划"
    assert [c["name"] for c in centre["children"]] == ["A", "D"]
    first = centre["children"][0]
    assert [c["name"] for c in first["children"]] == ["B", "C"]
    assert first["label"]["show"] and not first["children"][0]["label"]["show"]
    # Paying persons are green; sizes grow with everyone below.
    assert first["children"][0]["itemStyle"]["color"] == "#07c160"
    assert first["symbolSize"] > first["children"][0]["symbolSize"]
    assert "¥12.00" in first["children"][0]["tooltip"]["formatter"]


def test_one_root_is_the_centre_and_links_outside_the_cap_are_dropped() -> None:
    tree = {
        "nodes": [_node("a", 0, 1), _node("b", 1, 1)],
        "links": [{"source": "a", "target": "b"}, {"source": "b", "target": "not-shown"}],
    }
    centre = tree_chart(PAGE, tree, None)["series"][0]["data"][0]
    assert centre["name"] == "A" and centre["children"][0]["children"] == []
