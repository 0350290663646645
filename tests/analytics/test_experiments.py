"""Experiments through the operations, as a client and an operator use them: definitions
and their field-named errors, status changes, deterministic assignment, exposures the
identity graph attributes, and results on a simulated experiment with a known effect.

`run_experiment` (also used by the DuckDB/Spark conformance test) saves, starts and
assigns persons ``member_id:M…``, then simulates their behaviour: a spending propensity
drives orders before and after exposure (so CUPED has a covariate), variant ``b`` raises
it by ``lift``; persons with an order after exposure send ``order_paid``; some view
products.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pytest

from siyu.analytics import service
from siyu.analytics.exceptions import InvalidRequest, NotFound
from siyu.analytics.experiments import (
    EXPOSURE_EVENT,
    Variant,
    bounds,
    bucket_of,
    founded_person_id,
    variant_of,
)
from siyu.config import Settings
from siyu.identity.graph import apply_new
from siyu.identity.persons import find_person
from siyu.ingest.model import EventRecord, records_to_arrow
from siyu.runtime import Runtime
from siyu.storage import Warehouse

SHANGHAI: Final = timezone(timedelta(hours=8))
KEY: Final = "first_coupon"
#: Exposures are spread over five local days from this one (10:00 Shanghai).
FIRST_DAY: Final = datetime(2024, 5, 1, 10, tzinfo=SHANGHAI)
TODAY: Final = "2024-05-31"
DEFINITION: Final[dict[str, Any]] = {
    "key": KEY,
    "name": "首单券文案",
    "variants": [{"key": "control", "weight": 1}, {"key": "b", "weight": 1}],
    "metrics": [
        {"key": "ordered", "kind": "conversion", "event": "order_paid", "days": 7},
        {"key": "revenue", "kind": "mean", "source": "orders", "days": 14, "cuped": True},
        {
            "key": "product_views",
            "kind": "mean",
            "event": "view_item",
            "where": {"page": "product"},
            "days": 7,
        },
    ],
    "primary": "ordered",
}


def member(i: int) -> str:
    return f"member_id:M{i}"


def event(event_id: str, name: str, member_id: str, when: datetime, **props: Any) -> EventRecord:
    micros = round(when.timestamp() * 1_000_000)
    return EventRecord(
        event_id=event_id,
        type="track",
        event=name,
        event_time=micros,
        received_at=micros,
        source_id="app",
        protocol="segment",
        carrier="app",
        identities={"member_id": member_id},
        properties=json.dumps(props),
    )


def exposure_time(i: int) -> datetime:
    return FIRST_DAY + timedelta(days=i % 5, minutes=i % 7)


def run_experiment(
    rt: Runtime, persons: int = 2000, lift: float = 0.6, seed: int = 1
) -> dict[str, Any]:
    """Save, start and assign ``persons``; add their behaviour. The assign answers."""
    service.run(rt, "experiment.save", DEFINITION)
    service.run(rt, "experiment.start", {"key": KEY, "at": "2024-05-01T00:00"})
    assigned: list[dict[str, Any]] = []
    for day in range(5):  # one batch per exposure day
        refs = [member(i) for i in range(persons) if i % 5 == day]
        at = (FIRST_DAY + timedelta(days=day)).isoformat()
        assigned += service.run(rt, "experiment.assign", {"key": KEY, "refs": refs, "at": at})[
            "assignments"
        ]
    by_ref = {a["ref"]: a for a in assigned}
    rng = np.random.default_rng(seed)
    records: list[EventRecord] = []
    orders: list[dict[str, Any]] = []
    for i in range(persons):
        variant = by_ref[member(i)]["variant"]
        start = FIRST_DAY + timedelta(days=i % 5)
        propensity = rng.gamma(0.6, 0.5)
        for k in range(rng.poisson(propensity)):  # before exposure: the CUPED covariate
            orders.append(_order(f"pre{i}-{k}", i, start - timedelta(days=rng.uniform(1, 13))))
        after = rng.poisson(propensity * (1 + lift if variant == "b" else 1.0))
        for k in range(after):
            paid = start + timedelta(days=rng.uniform(0.1, 6))
            orders.append(_order(f"post{i}-{k}", i, paid))
            records.append(event(f"paid{i}-{k}", "order_paid", f"M{i}", paid, amount=50))
        for k in range(rng.poisson(1.0)):
            page = "product" if rng.random() < 0.7 else "home"
            when = start + timedelta(hours=rng.uniform(1, 100))
            records.append(event(f"view{i}-{k}", "view_item", f"M{i}", when, page=page))
    rt.warehouse.append_events(records_to_arrow(records))
    _insert_orders(rt, orders)
    apply_new(rt.warehouse, rt.rules)
    return by_ref


def _order(order_id: str, i: int, paid: datetime) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "member_id": f"M{i}",
        "paid_at": paid.astimezone(UTC).replace(tzinfo=None),
        "amount_fen": 5000,
        "refund_fen": 0,
        "status": "paid",
        "items": "[]",
        "properties": "{}",
        "source_id": "erp",
        "loaded_at": datetime(2024, 6, 1),
    }


def _insert_orders(rt: Runtime, orders: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(orders)
    with rt.warehouse.transaction() as cur:
        cur.register("_orders", table)
        cur.execute("INSERT INTO orders BY NAME SELECT * FROM _orders")
        cur.unregister("_orders")
        rt.warehouse.number_new_orders(cur)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    wh = Warehouse.in_memory()
    rt = Runtime.open(Settings(home=tmp_path, parse_workers=0), warehouse=wh)
    yield rt
    wh.close()


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, dict[str, Any]]]:
    """The simulated experiment, assigned and with its behaviour (shared, read-only)."""
    wh = Warehouse.in_memory()
    rt = Runtime.open(Settings(home=tmp_path_factory.mktemp("exp"), parse_workers=0), warehouse=wh)
    assigned = run_experiment(rt)
    yield rt, assigned
    wh.close()


def results(rt: Runtime, **body: Any) -> dict[str, Any]:
    return service.run(rt, "experiment", {"key": KEY, "today": TODAY, **body})


def refused(rt: Runtime, name: str, body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        service.run(rt, name, body)
    return caught.value


def metric(answer: dict[str, Any], key: str) -> dict[str, Any]:
    return next(m for m in answer["metrics"] if m["key"] == key)


# -- definitions ----------------------------------------------------------------------------


def _with(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(DEFINITION))
    body.update(changes)
    return body


def _metric_with(**changes: Any) -> dict[str, Any]:
    return _with(metrics=[{"key": "m", "kind": "conversion", "event": "x", **changes}])


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (_with(variants=[{"key": "control"}]), "variants", "at least 2"),
        (_with(variants=[{"key": f"v{i}"} for i in range(11)]), "variants", "at most 10"),
        (
            _with(variants=[{"key": "a"}, {"key": "b", "weight": 0}]),
            "variants.1.weight",
            "greater than 0",
        ),
        (
            _with(variants=[{"key": "a"}, {"key": "b", "weight": -2}]),
            "variants.1.weight",
            "greater than 0",
        ),
        (_with(variants=[{"key": "a"}, {"key": "a"}]), "variants.1.key", "used twice"),
        (_with(key="has space"), "key", "pattern"),
        (_with(metrics=[]), "metrics", "at least 1"),
        (_with(primary="revenu"), "primary", "not a metric key"),
        (_with(confidence=1.5), "confidence", "less than or equal"),
        (_with(audience="vip"), "audience", "not a set key"),
        (_with(varients=[]), "varients", "unknown field"),
        (_metric_with(event=None), "metrics.0.event", "name the event"),
        (_metric_with(property="amount"), "metrics.0.property", "yes/no"),
        (_metric_with(kind="mean", aggregate="sum"), "metrics.0.property", "needs the property"),
        (_metric_with(kind="mean", source="orders"), "metrics.0.event", "no event"),
        (_metric_with(days=0), "metrics.0.days", "greater than or equal to 1"),
        (_metric_with(kind="ratio"), "metrics.0.kind", "conversion"),
        (_metric_with(where={"plan": []}), "metrics.0.where.plan", "matches nothing"),
        (_metric_with(where={"bad key!": 1}), "metrics.0.where.bad key!.[key]", "pattern"),
    ],
)
def test_invalid_definitions_name_the_field(
    runtime: Runtime, body: dict[str, Any], field: str, words: str
) -> None:
    error = refused(runtime, "experiment.save", body)
    assert error.field == field, error
    assert words in error.detail, error


def test_a_definition_moves_from_draft_to_running_to_stopped(runtime: Runtime) -> None:
    saved = service.run(runtime, "experiment.save", DEFINITION)
    assert (saved["status"], saved["started_at"]) == ("draft", None)
    assert any("order_paid" in w for w in saved["warnings"])  # no such event received yet
    assert refused(runtime, "experiment.stop", {"key": KEY}).field == "key"
    running = service.run(runtime, "experiment.start", {"key": KEY, "at": "2024-05-01T08:00"})
    assert running["status"] == "running"
    assert running["started_at"] == "2024-05-01T00:00:00"  # 08:00 Shanghai in UTC
    assert "cannot start" in refused(runtime, "experiment.start", {"key": KEY}).detail
    # Running: metrics may change, the split may not.
    fewer = _with(metrics=DEFINITION["metrics"][:1])
    assert len(service.run(runtime, "experiment.save", fewer)["definition"]["metrics"]) == 1
    reweighted = _with(variants=[{"key": "control", "weight": 1}, {"key": "b", "weight": 3}])
    assert refused(runtime, "experiment.save", reweighted).field == "variants"
    early = refused(runtime, "experiment.stop", {"key": KEY, "at": "2024-04-01T00:00"})
    assert early.field == "at"
    assert refused(runtime, "experiment.stop", {"key": KEY, "at": "soon"}).field == "at"
    stopped = service.run(runtime, "experiment.stop", {"key": KEY, "at": "2024-06-01T00:00"})
    assert stopped["status"] == "stopped" and stopped["stopped_at"] == "2024-05-31T16:00:00"
    listed = service.run(runtime, "experiment.list", {})["experiments"]
    assert [e["key"] for e in listed] == [KEY]
    assert (
        service.run(runtime, "experiment.show", {"key": KEY})["definition"]["primary"] == "ordered"
    )
    with pytest.raises(NotFound, match="did you mean first_coupon"):
        service.run(runtime, "experiment.show", {"key": "first_cupon"})
    assert (
        "missing a required argument: 'key'"
        in refused(runtime, "experiment.start", {"kee": KEY}).detail
    )


# -- assignment -----------------------------------------------------------------------------


def test_assignment_is_deterministic_and_follows_the_weights() -> None:
    variants = [Variant(key="a", weight=1), Variant(key="b", weight=2), Variant(key="c", weight=7)]
    ids = [founded_person_id("member_id", f"M{i}") for i in range(100_000)]
    counts = Counter(variant_of("exp", p, variants) for p in ids)
    for v in variants:
        share = v.weight / 10
        assert abs(counts[v.key] / len(ids) - share) < 4 * (share * (1 - share) / len(ids)) ** 0.5
    assert [variant_of("exp", p, variants) for p in ids[:500]] == [
        variant_of("exp", p, variants) for p in ids[:500]
    ]
    # Buckets are uniform on [0, 1) and independent between experiments.
    buckets = np.array([bucket_of("exp", p) for p in ids[:20_000]])
    others = np.array([bucket_of("other", p) for p in ids[:20_000]])
    assert buckets.min() >= 0 and buckets.max() < 1
    assert abs(float(np.corrcoef(buckets, others)[0, 1])) < 0.03
    assert np.histogram(buckets, bins=10, range=(0, 1))[0].min() > 1800
    assert bounds(variants)[-1] == 2**32


def test_assign_records_exposures_the_identity_graph_attributes(runtime: Runtime) -> None:
    service.run(runtime, "experiment.save", DEFINITION)
    draft = refused(runtime, "experiment.assign", {"key": KEY, "ref": member(1)})
    assert draft.field == "key" and "start it first" in draft.detail
    service.run(runtime, "experiment.start", {"key": KEY, "at": "2024-05-01T00:00"})
    refs = [member(i) for i in range(300)]
    answer = service.run(
        runtime, "experiment.assign", {"key": KEY, "refs": refs, "at": "2024-05-02T10:00"}
    )
    assert answer["logged"] == 300
    variants = [Variant(key="control"), Variant(key="b")]
    graph = dict(
        runtime.warehouse.cursor()
        .execute("SELECT 'member_id:' || identity_value, person_id FROM identities")
        .fetchall()
    )
    for row in answer["assignments"]:
        # A new member id founds a person: the id predicted before the graph saw it.
        assert graph[row["ref"]] == row["person_id"]
        assert row["variant"] == variant_of(KEY, row["person_id"], variants)
    assert find_person(runtime.warehouse, member(7)) == answer["assignments"][7]["person_id"]
    again = service.run(
        runtime, "experiment.assign", {"key": KEY, "ref": answer["assignments"][7]["person_id"]}
    )
    assert again["variant"] == answer["assignments"][7]["variant"] and again["logged"]
    rows = (
        runtime.warehouse.cursor()
        .execute(
            "SELECT count(*), count(DISTINCT identities['member_id']) FROM events WHERE event = ?",
            [EXPOSURE_EVENT],
        )
        .fetchall()
    )
    assert rows == [(301, 300)]
    exposed = results(runtime)["exposures"]
    assert exposed["persons"] == 300  # the later exposure is not the first
    assert {v["variant"]: v["persons"] for v in exposed["variants"]} == dict(
        Counter(a["variant"] for a in answer["assignments"])
    )


def test_assign_refuses_what_it_cannot_use(runtime: Runtime) -> None:
    service.run(runtime, "experiment.save", DEFINITION)
    service.run(runtime, "experiment.start", {"key": KEY})
    assert refused(runtime, "experiment.assign", {"key": KEY, "ref": "M1"}).field == "ref"
    missing = refused(runtime, "experiment.assign", {"key": KEY, "ref": "p" + "0" * 20})
    assert missing.field == "ref" and "no person" in missing.detail
    assert (
        refused(runtime, "experiment.assign", {"key": KEY, "refs": [member(1), ":"]}).field
        == "refs.1"
    )
    assert refused(runtime, "experiment.assign", {"key": KEY, "refs": []}).field == "refs"
    both = {"key": KEY, "ref": member(1), "refs": [member(2)]}
    assert refused(runtime, "experiment.assign", both).field == "ref"
    bad_phone = refused(runtime, "experiment.assign", {"key": KEY, "ref": "phone:12"})
    assert bad_phone.field == "ref"
    with pytest.raises(NotFound):
        service.run(runtime, "experiment.assign", {"key": "nope", "ref": member(1)})


def test_audience_and_stopped_experiments(runtime: Runtime) -> None:
    service.run(runtime, "experiment.save", _with(audience="segment:vip"))
    service.run(runtime, "experiment.start", {"key": KEY})
    first = service.run(runtime, "experiment.assign", {"key": KEY, "ref": member(1)})
    outsider = service.run(runtime, "experiment.assign", {"key": KEY, "ref": member(2)})
    assert outsider["variant"] is None and "audience" in outsider["reason"]
    with runtime.warehouse.transaction() as cur:
        cur.execute(
            "INSERT INTO memberships VALUES ('segment:vip', ?, TIMESTAMP '2024-01-01', NULL, NULL)",
            [first["person_id"]],
        )
    inside = service.run(runtime, "experiment.assign", {"key": KEY, "ref": member(1)})
    assert inside["variant"] in ("control", "b") and inside["logged"]
    service.run(runtime, "experiment.stop", {"key": KEY})
    after = service.run(runtime, "experiment.assign", {"key": KEY, "ref": member(1)})
    assert (after["variant"], after["logged"]) == ("control", False)


# -- results --------------------------------------------------------------------------------


def test_results_find_the_known_effect(finished: tuple[Runtime, dict[str, Any]]) -> None:
    rt, assigned = finished
    answer = results(rt)
    assert answer["warnings"] == []
    exposures = answer["exposures"]
    assert exposures["persons"] == 2000 and not exposures["srm"]["mismatch"]
    assert exposures["hash_mismatches"] == exposures["multiple_variants"] == 0
    split = Counter(a["variant"] for a in assigned.values())
    assert {v["variant"]: v["persons"] for v in exposures["variants"]} == dict(split)

    ordered = metric(answer, "ordered")
    control, b = ordered["variants"]
    assert ordered["primary"] and ordered["method"] == "two-proportion z-test"
    assert control["conversions"] < b["conversions"] and b["significant"]
    assert b["p_value"] < 0.001 and b["p_beat"] > 0.99
    assert b["relative"]["low"] > 0 and b["verdict"].startswith("b beats control: +")
    assert "95% CI" in b["verdict"] and "P(beat)=" in b["verdict"]
    assert b["absolute"]["lift"] == pytest.approx(b["value"] - control["value"])

    revenue = metric(answer, "revenue")
    assert revenue["method"] == "Welch t-test on CUPED-adjusted values"
    assert revenue["cuped"]["variance_reduction"] > 0.05  # the propensity carries over
    rb = revenue["variants"][1]
    assert rb["significant"] and rb["unadjusted"]["p_value"] > rb["p_value"]
    # ~0.6 orders per person x 5000 fen in control: lift 60% of that, within the CI.
    assert rb["absolute"]["low"] < 0.6 * 0.3 * 5000 < rb["absolute"]["high"]

    views = metric(answer, "product_views")["variants"]
    assert 0.5 < views[0]["value"] < 0.9  # 70% of one view per person are product pages
    assert not views[1]["significant"]

    series = answer["series"]
    assert series["metric"] == "ordered" and len(series["days"]) == 5
    assert series["variants"][1]["persons"][-1] == b["persons"]
    assert series["variants"][1]["relative"][-1] == pytest.approx(b["relative"]["lift"])


def test_results_report_data_quality(
    finished: tuple[Runtime, dict[str, Any]], tmp_path: Path
) -> None:
    _, assigned = finished
    wh = Warehouse.in_memory()
    copy = Runtime.open(Settings(home=tmp_path, parse_workers=0), warehouse=wh)
    service.run(copy, "experiment.save", DEFINITION)
    service.run(copy, "experiment.start", {"key": KEY, "at": "2024-05-01T00:00"})
    stop_at = datetime(2024, 5, 20, tzinfo=SHANGHAI)
    # A client that assigns itself: wrong variants for some, two variants for some,
    # a variant the definition lacks, exposures before the start and after the stop.
    records = []
    for i, (ref, row) in enumerate(list(assigned.items())[:400]):
        member_id = ref.split(":")[1]
        variant = row["variant"]
        when = FIRST_DAY + timedelta(hours=i)
        if i < 40:
            variant = "b" if variant == "control" else "control"
        elif i < 60:
            variant = "c"
        records.append(_exposure(f"x{i}", member_id, variant, when))
        if 60 <= i < 90:
            other = "b" if row["variant"] == "control" else "control"
            records.append(_exposure(f"y{i}", member_id, other, when + timedelta(days=1)))
    records.append(_exposure("early", "M9999", "b", datetime(2024, 4, 1, tzinfo=SHANGHAI)))
    records.append(_exposure("late", "M9998", "b", stop_at + timedelta(days=1)))
    wh.append_events(records_to_arrow(records))
    apply_new(wh, copy.rules)
    service.run(copy, "experiment.stop", {"key": KEY, "at": stop_at.isoformat()})
    answer = service.run(copy, "experiment", {"key": KEY, "today": TODAY})
    exposures = answer["exposures"]
    assert exposures["persons"] == 380  # 400 less the 20 in variant c; early/late left out
    assert exposures["hash_mismatches"] == 40
    assert exposures["multiple_variants"] == 30
    assert exposures["unknown_variants"] == {"c": 20}
    text = " ".join(answer["warnings"])
    assert "40 persons logged a variant" in text and "30 persons were exposed to more" in text
    assert "20 persons were first exposed to variants not in the definition (c)" in text
    wh.close()


def test_a_sample_ratio_mismatch_is_flagged(runtime: Runtime) -> None:
    service.run(runtime, "experiment.save", DEFINITION)
    service.run(runtime, "experiment.start", {"key": KEY, "at": "2024-05-01T00:00"})
    variants = [Variant(key="control"), Variant(key="b")]
    records = []
    for i in range(4000):
        person = founded_person_id("member_id", f"M{i}")
        variant = variant_of(KEY, person, variants)
        if variant == "b" and i % 10 == 0:
            continue  # a tenth of b's exposures never arrive
        records.append(_exposure(f"x{i}", f"M{i}", variant, FIRST_DAY))
    runtime.warehouse.append_events(records_to_arrow(records))
    apply_new(runtime.warehouse, runtime.rules)
    answer = results(runtime)
    srm = answer["exposures"]["srm"]
    assert srm["mismatch"] and srm["p_value"] < 0.001
    assert any("sample ratio mismatch" in w for w in answer["warnings"])


def test_invalid_result_requests(
    finished: tuple[Runtime, dict[str, Any]], runtime: Runtime
) -> None:
    rt, _ = finished
    with pytest.raises(NotFound):
        results(rt, key="nope")
    assert refused(rt, "experiment", {"key": KEY, "segmnt": "x"}).field == "segmnt"
    assert refused(rt, "experiment", {"key": KEY, "segment": "segment:nobody"}).field == "segment"
    assert refused(rt, "experiment", {}).field == "key"
    service.run(runtime, "experiment.save", DEFINITION)
    draft = refused(runtime, "experiment", {"key": KEY})
    assert draft.field == "key" and "not started" in draft.detail
    service.run(runtime, "experiment.start", {"key": KEY, "at": "2024-05-01T00:00"})
    empty = results(runtime)
    assert empty["exposures"]["persons"] == 0 and empty["series"]["days"] == []
    assert any(w.startswith("no exposures yet") for w in empty["warnings"])
    b = metric(empty, "revenue")["variants"][1]
    assert b["verdict"] == "b vs control: no persons to compare yet"
    assert b["p_value"] is None and b["p_best"] is None and not b["significant"]


def _exposure(event_id: str, member_id: str, variant: str, when: datetime) -> EventRecord:
    record = event(event_id, EXPOSURE_EVENT, member_id, when, experiment=KEY, variant=variant)
    return record
