"""Experiments (A/B 实验): definitions, deterministic assignment and exposure logging.

A definition names 2..10 variants with weights (the first is the control), an optional
audience set, and the metrics to compare. Its status moves ``draft`` -> ``running`` ->
``stopped``. A person's variant is a pure function of the experiment key and the person
id — ``sha256("<key>:<person_id>")``, its first 8 hex digits as a number in [0, 2³²),
placed on the cumulative weights — so Python (`variant_of`) and every engine
(`with_variant`, an Ibis expression) give the same answer, run after run.

`assign` answers "which variant does this person see?" and records the answer as an
event ``$experiment_exposure`` (properties ``experiment`` and ``variant``) carrying the
person's identity, so the identity graph attributes it like any other event; clients
that assign themselves send the same event through the collector. Results
(`siyu.analytics.experiment_results`) read exposures back from the events.
"""

from __future__ import annotations

import difflib
import hashlib
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Self
from zoneinfo import ZoneInfo

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from siyu.analytics.exceptions import InvalidRequest, NotFound
from siyu.analytics.service import parse_request
from siyu.identity.exceptions import InvalidIdentity
from siyu.segments.dialect import PROPERTY_KEY
from siyu.segments.exceptions import InvalidSetKey
from siyu.storage import experiment_store as store
from siyu.storage.segment_store import check_set_key

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from siyu.runtime import Runtime

#: The event an exposure is recorded as; results read it back.
EXPOSURE_EVENT: Final = "$experiment_exposure"
STATUSES: Final = ("draft", "running", "stopped")
#: Buckets are integers in [0, 2**BUCKET_BITS): the first 8 hex digits of the hash.
BUCKET_BITS: Final = 32
BUCKETS: Final = 1 << BUCKET_BITS
#: Most persons one `assign` call may name.
MAX_REFS: Final = 10_000
#: Source and protocol of the exposures `assign` records.
EXPOSURE_SOURCE: Final = "experiments"

_KEY_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Key = Annotated[str, StringConstraints(pattern=_KEY_PATTERN)]
PropertyKey = Annotated[str, StringConstraints(pattern=PROPERTY_KEY.pattern)]
Scalar = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_Model):
    """One arm: a key (``control``, ``b``, ``new_copy``) and a positive weight."""

    key: Key
    weight: float = Field(default=1.0, gt=0, le=1_000_000, allow_inf_nan=False)
    description: str = Field(default="", max_length=500)


class Metric(_Model):
    """What is compared, per exposed person, over ``days`` days after first exposure.

    * ``conversion``: did the person do ``event`` (matching ``where``) — or, with
      ``source: orders``, place an order not fully refunded: a proportion.
    * ``mean``: per person, the count of ``event`` (``aggregate: count``), the sum of
      its numeric ``property`` (``aggregate: sum``), or with ``source: orders`` the net
      revenue in fen (``sum``) or the number of orders (``count``): a mean.

    ``cuped`` adjusts by the same metric over the ``days`` days before first exposure;
    ``direction: decrease`` when lower is better (refunds, unsubscribes).
    """

    key: Key
    kind: Literal["conversion", "mean"]
    source: Literal["events", "orders"] = "events"
    event: str | None = Field(default=None, min_length=1, max_length=200)
    where: dict[PropertyKey, Scalar | list[Scalar]] = Field(default_factory=dict)
    aggregate: Literal["count", "sum"] | None = None
    property: PropertyKey | None = None
    days: int = Field(default=7, ge=1, le=366)
    cuped: bool = False
    direction: Literal["increase", "decrease"] = "increase"

    def how(self) -> str:
        """``count`` or ``sum`` for means (defaults resolved); ``any`` for conversions."""
        if self.kind == "conversion":
            return "any"
        if self.aggregate:
            return self.aggregate
        return "sum" if self.property or self.source == "orders" else "count"


class Definition(_Model):
    """A validated experiment definition (YAML or JSON; see docs/analytics-experiments.md)."""

    key: Key
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=2000)
    variants: list[Variant] = Field(min_length=2, max_length=10)
    audience: str | None = None
    metrics: list[Metric] = Field(min_length=1, max_length=10)
    primary: str | None = None
    confidence: float = Field(default=0.95, ge=0.8, le=0.999)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique([v.key for v in self.variants], "variants")
        _unique([m.key for m in self.metrics], "metrics")
        for i, metric in enumerate(self.metrics):
            _check_metric(metric, f"metrics.{i}")
        if self.primary is not None and self.primary not in {m.key for m in self.metrics}:
            raise InvalidRequest(
                "primary", f"{self.primary!r} is not a metric key; use one of {self._metric_keys()}"
            )
        if self.audience is not None:
            try:
                check_set_key(self.audience)
            except InvalidSetKey as exc:
                raise InvalidRequest("audience", str(exc)) from None
        return self

    def _metric_keys(self) -> str:
        return ", ".join(m.key for m in self.metrics)

    @property
    def control(self) -> str:
        return self.variants[0].key

    @property
    def primary_metric(self) -> str:
        return self.primary or self.metrics[0].key


def _unique(keys: list[str], field: str) -> None:
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise InvalidRequest(f"{field}.{i}.key", f"{key!r} is used twice; keys must differ")


def _check_metric(m: Metric, at: str) -> None:
    if m.source == "events" and not m.event:
        raise InvalidRequest(f"{at}.event", "name the event to count, or set source: orders")
    if m.source == "orders":
        for name in ("event", "property"):
            if getattr(m, name) is not None:
                raise InvalidRequest(f"{at}.{name}", "orders metrics take no event or property")
        if m.where:
            raise InvalidRequest(f"{at}.where", "orders metrics take no event filter")
    if m.kind == "conversion" and (m.aggregate or m.property):
        field = "aggregate" if m.aggregate else "property"
        raise InvalidRequest(f"{at}.{field}", "a conversion is yes/no; use kind: mean to sum")
    if m.source == "events" and m.kind == "mean":
        if m.aggregate == "sum" and not m.property:
            raise InvalidRequest(f"{at}.property", "aggregate: sum needs the property to sum")
        if m.aggregate == "count" and m.property:
            raise InvalidRequest(f"{at}.property", "aggregate: count takes no property")
    for name, value in m.where.items():
        if isinstance(value, list) and not value:
            raise InvalidRequest(f"{at}.where.{name}", "an empty list matches nothing")


def parse_definition(data: Any) -> Definition:
    """``data`` (a mapping) as a `Definition`; the first problem as `InvalidRequest`."""
    if not isinstance(data, dict):
        raise InvalidRequest(
            "",
            "a definition is an object with key, name, variants and metrics; "
            f"got {type(data).__name__}",
        )
    definition: Definition = parse_request(Definition, data)
    return definition


# -- assignment -------------------------------------------------------------------------


def bounds(variants: Sequence[Variant]) -> list[int]:
    """Upper bucket bound of each variant: cumulative weights scaled to `BUCKETS`.

    Example:
        >>> bounds([Variant(key="a", weight=1), Variant(key="b", weight=3)])
        [1073741824, 4294967296]
    """
    total = sum(v.weight for v in variants)
    cumulative, edges = 0.0, []
    for v in variants[:-1]:
        cumulative += v.weight
        edges.append(round(cumulative / total * BUCKETS))
    return [*edges, BUCKETS]


def bucket_number(key: str, person_id: str) -> int:
    """The person's bucket as an integer in [0, 2³²): sha256 of ``key:person_id``.

    Example:
        >>> bucket_number("new_coupon", "p0123456789abcdef0123")
        1611944384
    """
    digest = hashlib.sha256(f"{key}:{person_id}".encode()).hexdigest()
    return int(digest[: BUCKET_BITS // 4], 16)


def bucket_of(key: str, person_id: str) -> float:
    """The person's bucket in [0, 1) (exact: a 32-bit integer over 2³²)."""
    return bucket_number(key, person_id) / BUCKETS


def variant_of(key: str, person_id: str, variants: Sequence[Variant]) -> str:
    """The variant ``person_id`` gets in experiment ``key``."""
    number = bucket_number(key, person_id)
    for variant, bound in zip(variants, bounds(variants), strict=True):
        if number < bound:
            return variant.key
    raise AssertionError("the last bound is 2**32")  # pragma: no cover


def with_variant(
    table: ir.Table, key: str, variants: Sequence[Variant], column: str = "person_id"
) -> ir.Table:
    """``table`` plus ``bucket`` (the integer of `bucket_number`) and ``assigned`` (the
    variant of `variant_of`), computed by the engine — the same on DuckDB and Spark.

    The hash is a column of its own first: inlined into each digit it was computed
    sixteen times per row (4x slower on DuckDB).
    """
    import ibis

    hashed = table.mutate(_sha=(ibis.literal(f"{key}:") + table[column]).hexdigest("sha256"))
    number: ir.IntegerValue = ibis.literal(0, "int64")
    for i in range(BUCKET_BITS // 4):
        code = hashed._sha.substr(i, 1).ascii_str().cast("int64")
        number = number * 16 + ibis.ifelse(code < 58, code - 48, code - 87)  # 0-9, a-f
    bucketed = hashed.mutate(bucket=number).drop("_sha")
    cases = [
        (bucketed.bucket < bound, ibis.literal(v.key))
        for v, bound in zip(variants, bounds(variants), strict=True)
    ]
    return bucketed.mutate(assigned=ibis.cases(*cases[:-1], else_=cases[-1][1]))


def founded_person_id(id_type: str, stored_value: str) -> str:
    """The person id a new identity founds (`siyu.storage.identity_store.person_id_sql`)."""
    return "p" + hashlib.md5(f"{id_type}\x1f{stored_value}".encode()).hexdigest()[:20]


# -- operations -------------------------------------------------------------------------


def save(runtime: Runtime, actor: str = "api", **definition: Any) -> dict[str, Any]:
    """Validate and store a definition (a new one is a draft).

    Once started, an experiment's variants, weights and audience cannot change (that
    would move persons between variants); metrics and texts can.
    """
    parsed = parse_definition(definition)
    wh = runtime.warehouse
    with wh.transaction() as cur:
        existing = store.get_experiment(cur, parsed.key)
        if existing is not None and existing.status != "draft":
            before = Definition.model_validate_json(existing.definition)
            if before.variants != parsed.variants:
                raise InvalidRequest(
                    "variants",
                    f"{parsed.key!r} is {existing.status}; its variants and weights cannot "
                    "change (persons would switch variant) — save it under a new key",
                )
            if before.audience != parsed.audience:
                raise InvalidRequest(
                    "audience", f"{parsed.key!r} is {existing.status}; its audience cannot change"
                )
        stored = store.save_experiment(
            cur,
            parsed.key,
            name=parsed.name,
            description=parsed.description,
            definition=parsed.model_dump_json(exclude_defaults=False),
            actor=actor,
            at=_now(),
        )
        warnings = _warnings(runtime, cur, parsed)
    return {**_public(stored), "warnings": warnings}


def list_all(runtime: Runtime) -> dict[str, Any]:
    """Every experiment (newest first) with its status and variants."""
    rows = store.list_experiments(runtime.warehouse.cursor())
    return {"experiments": [_public(r) for r in rows]}


def show(runtime: Runtime, key: str) -> dict[str, Any]:
    """One experiment: definition, status and times."""
    return _public(_load(runtime, key))


def start(runtime: Runtime, key: str, at: str | None = None) -> dict[str, Any]:
    """``draft`` -> ``running``: exposures count from ``at`` (default now)."""
    return _move(runtime, key, "running", at)


def stop(runtime: Runtime, key: str, at: str | None = None) -> dict[str, Any]:
    """``running`` -> ``stopped``: exposures after ``at`` (default now) no longer count."""
    return _move(runtime, key, "stopped", at)


def _move(runtime: Runtime, key: str, status: str, at: str | None) -> dict[str, Any]:
    when = _instant(runtime, at)
    with runtime.warehouse.transaction() as cur:
        current = _load_with(cur, key)
        allowed = {"running": "draft", "stopped": "running"}[status]
        if current.status != allowed:
            verb = "start" if status == "running" else "stop"
            raise InvalidRequest(
                "key",
                f"cannot {verb} {key!r}: it is {current.status} (only a {allowed} experiment "
                f"can be {'started' if verb == 'start' else 'stopped'}; save a copy under a "
                "new key to run it again)",
            )
        if status == "stopped" and current.started_at and when < current.started_at:
            raise InvalidRequest("at", f"{at} is before the start ({current.started_at} UTC)")
        moved = store.set_status(cur, key, status, at=when)
    return _public(moved)


def assign(
    runtime: Runtime,
    key: str,
    ref: str | None = None,
    refs: list[str] | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """The variant of each person named and, while running, a recorded exposure.

    ``ref`` (or up to `MAX_REFS` ``refs``) is ``type:value`` (``member_id:M1``,
    ``unionid:o…``, ``mp_openid:<appid>:<openid>``) or a person id. An identity the
    graph does not know yet founds a new person, so it can be assigned before its first
    event. Persons outside the audience get no variant; a stopped experiment gives the
    control and records nothing. Exposures are appended durably and resolved at once.
    """
    from siyu.identity.graph import apply_new
    from siyu.identity.rules import PII_TYPES, base_type

    names = _refs(ref, refs)
    when = _instant(runtime, at)
    wh = runtime.warehouse
    stored = _load(runtime, key)
    if stored.status == "draft":
        raise InvalidRequest(
            "key", f"{key!r} is a draft; start it first (`siyu experiment start {key}`)"
        )
    definition = Definition.model_validate_json(stored.definition)
    fields = ["ref"] if ref is not None else [f"refs.{i}" for i in range(len(names))]
    resolved = _persons(runtime, names, fields)
    cur = wh.cursor()
    by_person = store.identity_of_persons(
        cur, [p for p, ident in resolved if ident is None], PII_TYPES
    )
    audience = (
        store.members_of(cur, definition.audience, [p for p, _ in resolved])
        if definition.audience
        else None
    )
    answers, records, logged = [], [], set()
    for name, (person_id, ident) in zip(names, resolved, strict=True):
        answer: dict[str, Any] = {"ref": name, "person_id": person_id, "logged": False}
        identity = ident or by_person.get(person_id)
        if audience is not None and person_id not in audience:
            answer.update(variant=None, reason=f"not in the audience {definition.audience}")
        elif stored.status == "stopped":
            answer.update(variant=definition.control, reason="stopped: everyone sees the control")
        else:
            answer["variant"] = variant_of(key, person_id, definition.variants)
            if identity is None:
                answer["reason"] = "the person has no usable identity to record"
            elif person_id in logged:
                answer["reason"] = "named twice: logged once"
            else:
                id_type, value = identity
                if base_type(id_type) in PII_TYPES and wh.sealer.is_sealed(value):
                    value = wh.sealer.unseal(value)
                records.append(_exposure(key, answer["variant"], id_type, value, when))
                logged.add(person_id)
                answer["logged"] = True
        answers.append(answer)
    if records:
        from siyu.ingest.model import records_to_arrow

        wh.append_events(records_to_arrow(records))
        apply_new(wh, runtime.rules)
    head = {"experiment": key, "status": stored.status}
    if ref is not None:
        return {**head, **answers[0]}
    return {**head, "logged": len(records), "assignments": answers}


def _persons(
    runtime: Runtime, names: list[str], fields: list[str]
) -> list[tuple[str, tuple[str, str] | None]]:
    """Per reference, the person id and the identity ``(type, stored value)`` named (None
    for a person id). Unknown identities get the id they will found."""
    from siyu.identity import persons as person_refs
    from siyu.identity.graph import apply_new

    wh = runtime.warehouse
    parsed: list[tuple[str, str] | str] = []
    for name, field in zip(names, fields, strict=True):
        try:
            item = person_refs.parse_ref(name)
            if not isinstance(item, str):
                item = (item[0], person_refs.stored_value(wh, item[0], item[1]))
        except InvalidIdentity as exc:  # not type:value, or a phone/email that is not one
            raise InvalidRequest(field, str(exc)) from None
        parsed.append(item)
    cur = wh.cursor()
    pairs = [p for p in parsed if not isinstance(p, str)]
    known = store.persons_of_identities(cur, pairs)
    if len(known) < len(set(pairs)):
        apply_new(wh, runtime.rules)  # ids sent a moment ago may be waiting to resolve
        known = store.persons_of_identities(cur, pairs)
    current = store.current_persons(cur, [p for p in parsed if isinstance(p, str)])
    resolved: list[tuple[str, tuple[str, str] | None]] = []
    for item, field in zip(parsed, fields, strict=True):
        if not isinstance(item, str):
            resolved.append((known.get(item) or founded_person_id(*item), item))
        elif item in current:
            resolved.append((current[item], None))
        else:
            raise InvalidRequest(
                field, f"no person {item!r}; check the id with `siyu persons show`"
            )
    return resolved


def _refs(ref: str | None, refs: list[str] | None) -> list[str]:
    if (ref is None) == (refs is None):
        raise InvalidRequest("ref", "give ref (one person) or refs (a list), not both or neither")
    if ref is not None:
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidRequest("ref", "name a person: type:value (member_id:M1) or a person id")
        return [ref]
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        raise InvalidRequest("refs", "give a non-empty list of type:value texts or person ids")
    if len(refs) > MAX_REFS:
        raise InvalidRequest("refs", f"{len(refs)} persons; assign at most {MAX_REFS} per call")
    return refs


def _exposure(key: str, variant: str, id_type: str, value: str, when: datetime) -> Any:
    from siyu.ingest.model import EventRecord

    kind, _, app_id = id_type.partition(":")
    now_us = time.time_ns() // 1000
    return EventRecord(
        event_id=f"xp:{uuid.uuid4().hex}",
        type="track",
        event=EXPOSURE_EVENT,
        event_time=_micros(when),
        received_at=now_us,
        source_id=EXPOSURE_SOURCE,
        protocol="import",
        carrier="server",
        identities={kind: value},
        app_id=app_id or None,
        library="siyu",
        method="server",
        properties=orjson.dumps({"experiment": key, "variant": variant}).decode(),
    )


# -- helpers ----------------------------------------------------------------------------


def _load(runtime: Runtime, key: str) -> store.StoredExperiment:
    return _load_with(runtime.warehouse.cursor(), key)


def _load_with(cur: Any, key: str) -> store.StoredExperiment:
    if not isinstance(key, str) or not key:
        raise InvalidRequest("key", "name the experiment by its key")
    found = store.get_experiment(cur, key)
    if found is None:
        close = difflib.get_close_matches(key, store.experiment_keys(cur), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise NotFound(f"no experiment {key!r}{hint} (`siyu experiment list` shows them)")
    return found


def _public(row: store.StoredExperiment) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "description": row.description,
        "status": row.status,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "started_at": row.started_at,
        "stopped_at": row.stopped_at,
        "definition": orjson.loads(row.definition),
    }


def _warnings(runtime: Runtime, cur: Any, definition: Definition) -> list[str]:
    from siyu.segments.service import known_events

    found = known_events(runtime)
    notes = [
        f"metric {m.key!r}: no event {m.event!r} has been received yet (check the name)"
        for m in definition.metrics
        if m.event and m.event not in found
    ]
    if definition.audience and not store.set_has_members(cur, definition.audience):
        notes.append(
            f"the audience {definition.audience!r} has no members now; run `siyu segments "
            "compute`, or nobody will be assigned"
        )
    return notes


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _instant(runtime: Runtime, value: Any) -> datetime:
    """``value`` (ISO 8601; without a zone, in the project zone) as naive UTC; now if None."""
    if value is None:
        return _now()
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest("at", f"{value!r} is not a time; write 2024-05-01T09:30") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(runtime.settings.timezone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def _micros(moment: datetime) -> int:
    return round(moment.replace(tzinfo=UTC).timestamp() * 1_000_000)
