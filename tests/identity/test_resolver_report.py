"""What the resolver tells an operator: off, starting, ready or failing, and why."""

from __future__ import annotations

from siyu.identity.graph import apply_new
from siyu.identity.resolver import Resolver
from siyu.identity.rules import IdentityRules
from siyu.storage import Warehouse
from tests.identity.population import append, event


def test_a_failing_apply_is_reported_with_how_to_fix_it() -> None:
    w = Warehouse.in_memory()
    append(w, [event("e1", {"unionid": "nA"}, user_id="uA")])
    apply_new(w, IdentityRules.with_overrides({}))
    # The server restarted with other rules: applying must stop until a rebuild.
    resolver = Resolver(w, IdentityRules.with_overrides({"unionid": {"limit": 2}}))
    resolver.ready.set()
    append(w, [event("e2", {"unionid": "nB"}, user_id="uB")])
    resolver.apply()
    report = resolver.report(running=True)
    assert report["state"] == "failing"
    assert "siyu identity rebuild" in str(report["last_error"])
    assert report["applies"] == 0


def test_a_good_apply_clears_the_error_and_counts() -> None:
    w = Warehouse.in_memory()
    rules = IdentityRules.with_overrides({})
    resolver = Resolver(w, rules, interval=2.0)
    assert resolver.report(running=True)["state"] == "starting"
    resolver.ready.set()
    resolver.stats.last_error = "OSError: disk full"
    append(w, [event("e1", {"unionid": "nA"}, user_id="uA", anonymous_id="dA")])
    resolver.apply()
    report = resolver.report(running=True)
    assert report["state"] == "ready"
    assert report["last_error"] is None
    assert report["applies"] == 1
    assert report["merges"] == 2  # login, device and unionid in one person
    assert report["next_apply_in_s"] == 2.0
    assert report["seconds_since_last_apply"] is not None


def test_a_resolver_not_running_is_off() -> None:
    resolver = Resolver(Warehouse.in_memory(), IdentityRules.with_overrides({}))
    report = resolver.report(running=False)
    assert report["state"] == "off"
    assert report["next_apply_in_s"] is None


def test_resolution_status_counts_what_waits_for_a_person() -> None:
    from siyu.ingest.status import resolution_status, warehouse_status

    w = Warehouse.in_memory()
    assert resolution_status(w) == {"resolved_through_seq": 0, "pending_records": 0}
    append(w, [event(f"e{i}", {"unionid": f"n{i}"}, user_id=f"u{i}") for i in range(3)])
    assert resolution_status(w)["pending_records"] == 3
    apply_new(w, IdentityRules.with_overrides({}))
    (latest,) = w.cursor().execute("SELECT max(seq) FROM events").fetchone() or (0,)
    assert resolution_status(w) == {"resolved_through_seq": latest, "pending_records": 0}
    append(w, [event("e9", {"unionid": "n9"}, user_id="u9")])
    status = resolution_status(w)
    assert status["pending_records"] == 1
    full = warehouse_status(w)["identity"]
    assert (full["pending_records"], full["resolved_through_seq"]) == (
        status["pending_records"],
        status["resolved_through_seq"],
    )
