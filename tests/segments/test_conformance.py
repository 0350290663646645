"""Every node type gives the same members on DuckDB and on Spark (demo data)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import ibis
import pytest
import yaml

from siyu.demo.load import load_demo
from siyu.identity.graph import rebuild
from siyu.identity.rules import IdentityRules
from siyu.segments.compile import compile_rules
from siyu.segments.definition import parse_definition, parse_rule
from siyu.segments.facts import facts_from
from siyu.storage import Warehouse
from tests.conformance import BackendPair
from tests.segments.test_golden import CASES

pytestmark = [pytest.mark.spark, pytest.mark.slow]

START = date(2024, 5, 1)
TODAY = date(2024, 6, 9)
#: Rules on the demo's own events, so most leaves have members to disagree about.
DEMO_RULES: dict[str, Any] = yaml.safe_load(
    """
views: {event: {name: view_item, at_least: 2, window: {last_days: 14}}}
mp_views: {event: {name: view_item, where: [{name: carrier, op: eq, value: mp}]}}
quiet: {event: {name: $MPLaunch, at_most: 0, window: {last_days: 7}}}
spend: {aggregate: {fn: sum, source: orders, property: net_fen, op: gte, value: 5000}}
avg_price: {aggregate: {fn: avg, event: view_item, property: price_fen, op: gte, value: 3000}}
funnel: {sequence: {steps: [view_item, add_to_cart, checkout], within_days: 2}}
lapsed: {last_event: {name: $MPLaunch, more_than_days_ago: 10}}
recent: {last_event: {name: $MPLaunch, less_than_days_ago: 3, or_never: true}}
first_buy: {first_event: {name: checkout, window: {start: 2024-05-20, end: 2024-06-01}}}
channel: {property: {name: first_channel, op: in, value: [qr_bookfair, poster_reading]}}
seen: {property: {name: first_seen, op: more_than_days_ago, value: 20}}
active_days: {property: {name: active_days, op: gte, value: 5}}
follows: {follows: true}
wecom: {wecom_contact: true}
groups: {in_group: true}
tagged: {tag: vip}
interest: {interest: {value: 童书, min_weight: 2}}
mix: {any: [{all: [{follows: true}, {not: {event: {name: checkout}}}]}, {rfm: general_value}]}
at_risk: {clv: {field: churn_risk, op: gte, value: 0.5}}
valuable:
  all: [{clv: {field: clv_fen, op: gt, value: 3000}}, {clv: {field: p_alive, op: lt, value: 0.8}}]
"""
)


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Warehouse]:
    w = Warehouse.in_memory()
    load_demo(w, 400, 40, 11, start=START)
    rebuild(w, IdentityRules())
    # A few stored memberships, so set leaves have something to read.
    with w.transaction() as cur:
        cur.execute(
            """
            INSERT INTO memberships (set_key, person_id, entered_at, weight)
            SELECT CASE WHEN n % 3 = 0 THEN 'tag:vip' WHEN n % 3 = 1 THEN 'rfm:general_value'
                        ELSE 'interest:童书' END,
                   person_id, TIMESTAMP '2024-06-01', (n % 5)::DOUBLE
            FROM (SELECT person_id, row_number() OVER (ORDER BY person_id) AS n
                  FROM (SELECT DISTINCT person_id FROM identities) LIMIT 200)
            """
        )
        # ... and CLV scores for some persons, so the clv leaves split them.
        cur.execute(
            """
            INSERT INTO clv_scores
            SELECT person_id, 'fit-1', TIMESTAMP '2024-06-01', n % 4, n % 3, 10, 1000 * (n % 7),
                   (n % 10) / 10 + 0.05, (n % 6) / 2, 365, 1000 * (n % 9)
            FROM (SELECT person_id, row_number() OVER (ORDER BY person_id DESC) AS n
                  FROM (SELECT DISTINCT person_id FROM identities) LIMIT 150)
            """
        )
    yield w
    w.close()


def test_every_node_type_has_the_same_members(
    backend_pair: Callable[[Warehouse], BackendPair], warehouse: Warehouse
) -> None:
    pair = backend_pair(warehouse)
    rules = {f"g_{k}": parse_rule(v) for k, v in CASES.items()}
    rules |= {f"d_{k}": parse_rule(v) for k, v in DEMO_RULES.items()}
    buyers = parse_definition({"key": "buyers", "rule": {"event": {"name": "order_paid"}}})

    def build(con: ibis.BaseBackend) -> ibis.Table:
        facts = facts_from(con, today=TODAY, tz="Asia/Shanghai")
        return compile_rules(facts, rules, {"buyers": buyers})

    frame = pair.assert_same(build, order_by=["person_id"])
    sizes = {name: int(frame[name].sum()) for name in rules}
    # The demo rules are chosen to split the population: neither nobody nor everybody.
    for name in (n for n in rules if n.startswith("d_")):
        assert 0 < sizes[name] < len(frame), (name, sizes[name])
