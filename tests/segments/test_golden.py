"""Golden files: each node type's definition -> the SQL its compiled expression prints."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pytest
import yaml

from siyu.segments.compile import members
from siyu.segments.definition import parse_definition
from siyu.segments.dialect import DUCKDB
from siyu.segments.facts import facts_over
from siyu.storage import Warehouse

GOLDEN = Path(__file__).parent / "golden"
CASES: dict[str, Any] = yaml.safe_load((GOLDEN / "cases.yaml").read_text(encoding="utf-8"))
SEGMENTS = {
    "buyers": parse_definition({"key": "buyers", "rule": {"event": {"name": "order_paid"}}})
}


@pytest.fixture(scope="module")
def schemas() -> dict[str, ibis.Schema]:
    warehouse = Warehouse.in_memory()
    try:
        con = warehouse.ibis()
        return {name: con.table(name).schema() for name in warehouse.table_names()}
    finally:
        warehouse.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_sql(name: str, schemas: dict[str, ibis.Schema]) -> None:
    facts = facts_over(
        lambda table: ibis.table(schemas[table], name=table),
        DUCKDB,
        today=date(2024, 6, 30),
        tz="Asia/Shanghai",
    )
    definition = parse_definition({"key": name.replace("_", "-"), "rule": CASES[name]})
    sql = ibis.to_sql(members(facts, definition, SEGMENTS), dialect="duckdb") + "\n"
    # Python UDFs are numbered per process (identity.profiles.json_entries): not the rule.
    sql = re.sub(r"\b(ENTRIES_OF)_\d+\(", r"\1_N(", sql)
    # ... and Ibis names unnested columns at random.
    sql = re.sub(r"\b(ibis_\w+?_)[a-z0-9]{26}\b", r"\1X", sql)
    # ... and lists the columns of an EXCLUDE in set order (hash-seeded): sort them.
    sql = re.sub(
        r"EXCLUDE \(([^)]*)\)",
        lambda m: "EXCLUDE (" + ", ".join(sorted(m.group(1).split(", "))) + ")",
        sql,
    )
    path = GOLDEN / f"{name}.sql"
    if os.environ.get("SIYU_UPDATE_GOLDEN") == "1":
        path.write_text(sql, encoding="utf-8")
    assert sql == path.read_text(encoding="utf-8"), f"{name}: compiled SQL changed"


def test_a_cycle_between_segments_names_the_node(schemas: dict[str, ibis.Schema]) -> None:
    from siyu.segments.compile import RuleCompiler
    from siyu.segments.exceptions import InvalidDefinition

    facts = facts_over(
        lambda table: ibis.table(schemas[table], name=table),
        DUCKDB,
        today=date(2024, 6, 30),
        tz="Asia/Shanghai",
    )
    a = parse_definition({"key": "a", "rule": {"all": [{"tag": "x"}, {"segment": "b"}]}})
    b = parse_definition({"key": "b", "rule": {"not": {"segment": "a"}}})
    compiler = RuleCompiler(facts, {"a": a, "b": b})
    with pytest.raises(InvalidDefinition, match="cycle: a -> b -> a") as caught:
        compiler.add("a", a.rule, key="a")
    assert caught.value.path.endswith("not.segment")
    with pytest.raises(InvalidDefinition, match=r"rule\.segment: no segment 'c2'"):
        compiler.add("c", parse_definition({"key": "c", "rule": {"segment": "c2"}}).rule)
