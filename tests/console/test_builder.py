"""The segment builder's model: rows and groups to the rule language and back."""

from __future__ import annotations

import pytest

from siyu.console.builder import BuilderError, Condition, Group, from_rule, to_rule
from siyu.segments.definition import parse_definition


def test_groups_and_rows_become_a_valid_rule() -> None:
    group = Group(
        "all",
        items=[
            Condition(
                "event", event="add_to_cart", days=14, times=2, prop="price", op="gte", value="3000"
            ),
            Condition("no_event", event="order_paid", days=14),
            Group(
                "any",
                items=[
                    Condition("layer", layer="lifecycle", value="active"),
                    Condition("spend", value="300", days=90),
                ],
            ),
            Group("all", negate=True, items=[Condition("layer", layer="tag", value="黑名单")]),
            Condition("property", prop="city", op="in", value="上海, 北京"),
            Condition("last_event", event="$MPLaunch", days=10),
            Condition("layer", layer="paying", value="true"),
        ],
    )
    rule = to_rule(group)
    assert rule["all"][0] == {
        "event": {
            "name": "add_to_cart",
            "window": {"last_days": 14},
            "at_least": 2,
            "where": [{"name": "price", "op": "gte", "value": 3000}],
        }
    }
    assert rule["all"][2]["any"][1]["aggregate"]["value"] == 30000
    assert rule["all"][3] == {"not": {"tag": "黑名单"}}
    assert rule["all"][4]["property"]["value"] == ["上海", "北京"]
    assert rule["all"][6] == {"paying": True}
    # The rule language accepts what the builder makes, and the builder reopens it.
    parse_definition({"key": "draft", "rule": rule})
    assert to_rule(from_rule(rule)) == rule


@pytest.mark.parametrize(
    ("group", "words"),
    [
        (Group(), "rule: the group is empty"),
        (Group(items=[Condition("event")]), r"rule.all\[0\]: choose an event"),
        (Group(items=[Condition("property", prop="city", op="eq")]), "enter a value for city"),
        (Group(items=[Condition("spend", value="lots")]), "amount in yuan"),
        (Group(items=[Condition("layer", layer="rfm")]), "choose a value for rfm"),
    ],
)
def test_unfinished_rows_are_named(group: Group, words: str) -> None:
    with pytest.raises(BuilderError, match=words):
        to_rule(group)


def test_nodes_without_a_row_say_so() -> None:
    with pytest.raises(BuilderError, match="edit it as YAML"):
        from_rule({"sequence": {"steps": ["a", "b"], "within_days": 2}})


def test_fields_cleared_by_widgets_count_as_empty() -> None:
    row = Condition("event", event=None, prop=None, value=None)  # type: ignore[arg-type]
    with pytest.raises(BuilderError, match="choose an event"):
        to_rule(Group(items=[row]))
