"""Segment and tag operations shared by the CLI, the HTTP API and the console.

`compute` is the run behind `siyu segments compute` and the daily schedule: the
built-in layers first (their sets are what segments read), then every segment in one
pass, each written as a membership diff with entered / exited history, size over time
and ``segment_entered`` / ``segment_exited`` events.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from siyu.progress import Progress, no_progress
from siyu.runtime import Runtime
from siyu.segments import files, layers
from siyu.segments.compile import RuleCompiler
from siyu.segments.definition import (
    Definition,
    Property,
    parse_definition,
    referenced_events,
    serialise,
    walk,
)
from siyu.segments.exceptions import InvalidDefinition, SegmentError, SegmentNotFound
from siyu.segments.facts import Facts, facts_from
from siyu.segments.models.config import ModelsConfig, load_models_config
from siyu.storage import segment_store as store
from siyu.storage import tag_store
from siyu.storage.temp import TempTables

#: Events siyu itself writes or that carriers send; always known to the validator.
SYSTEM_EVENTS = frozenset({"segment_entered", "segment_exited"})


def today_in(runtime: Runtime) -> date:
    """The local date now, in the project time zone."""
    return datetime.now(UTC).astimezone(runtime.settings.tz).date()


def models_config(runtime: Runtime) -> ModelsConfig:
    """The project's model settings (``models.yaml`` in the project folder) or defaults."""
    return load_models_config(files.load_models_file(runtime.settings.project_path))


def sync_files(runtime: Runtime, actor: str = "files") -> dict[str, Any]:
    """Store the project folder's definitions; archive file definitions whose file dropped them."""
    found, problems = files.load_folder(runtime.settings.project_path)
    with runtime.warehouse.transaction() as cur:
        stored = {d.key: d for d in store.list_definitions(cur, include_archived=True)}
        for item in found:
            d = item.definition
            old = stored.get(d.key)
            text = orjson.dumps(serialise(d)).decode()
            origin = f"file:{item.path}"
            if old and old.definition == text and old.origin == origin and not old.archived:
                continue
            store.save_definition(
                cur,
                d.key,
                kind=d.kind,
                name=d.name,
                definition=text,
                actor=actor,
                description=d.description,
                origin=origin,
            )
        keys = {item.definition.key for item in found}
        for key, old in stored.items():
            if old.origin.startswith("file:") and key not in keys and not old.archived:
                store.archive_definition(cur, key)
    return {
        "files": len({str(i.path) for i in found}),
        "definitions": len(found),
        "problems": [{"path": str(p.path), "error": p.message} for p in problems],
    }


def active_definitions(runtime: Runtime) -> dict[str, Definition]:
    """Every stored, not archived definition, parsed (bad stored ones are skipped)."""
    out: dict[str, Definition] = {}
    for row in store.list_definitions(runtime.warehouse.cursor()):
        try:
            out[row.key] = parse_definition(orjson.loads(row.definition))
        except (InvalidDefinition, orjson.JSONDecodeError):
            continue
    return out


def known_events(runtime: Runtime) -> set[str]:
    rows = runtime.warehouse.cursor().execute("SELECT DISTINCT event FROM events").fetchall()
    return {str(r[0]) for r in rows} | SYSTEM_EVENTS


def validate(
    definition: Definition,
    *,
    events: set[str],
    segments: Mapping[str, Definition],
    facts: Facts,
) -> None:
    """Check what parsing cannot: events never received, unknown or cyclic references."""
    for name in sorted(referenced_events(definition.rule)):
        if name not in events:
            close = difflib.get_close_matches(name, sorted(events), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InvalidDefinition(
                f"rule ({name})",
                f"no event {name!r} has been received{hint} (send one first, or fix the name)",
            )
    # Compiling resolves segment references and finds cycles, naming the node.
    RuleCompiler(facts, {**segments, definition.key: definition}).add(
        definition.key, definition.rule, key=definition.key
    )


def _facts(runtime: Runtime, today: date | None, con: Any = None) -> Facts:
    return facts_from(
        con if con is not None else runtime.warehouse.ibis(),
        today=today or today_in(runtime),
        tz=runtime.settings.timezone,
    )


def save(runtime: Runtime, data: Any, actor: str) -> dict[str, Any]:
    """Validate and store a definition made in the API, console or CLI."""
    definition = parse_definition(data)
    cur = runtime.warehouse.cursor()
    try:
        old = store.get_definition(cur, definition.key)
    except SegmentNotFound:
        old = None
    if old is not None and old.origin.startswith("file:") and not old.archived:
        raise SegmentError(
            f"{definition.key!r} is defined in {old.origin[5:]}; edit that file instead"
        )
    segments = active_definitions(runtime)
    validate(
        definition, events=known_events(runtime), segments=segments, facts=_facts(runtime, None)
    )
    with runtime.warehouse.transaction() as tx:
        store.save_definition(
            tx,
            definition.key,
            kind=definition.kind,
            name=definition.name,
            definition=orjson.dumps(serialise(definition)).decode(),
            actor=actor,
            description=definition.description,
        )
    return show(runtime, definition.key)


def archive(runtime: Runtime, key: str) -> dict[str, Any]:
    with runtime.warehouse.transaction() as cur:
        store.archive_definition(cur, key)
    return {"key": key, "archived": True}


def estimate(runtime: Runtime, data: Any, today: date | None = None) -> dict[str, Any]:
    """Size of a draft definition now (not saved); layers read as of the last compute."""
    started = time.perf_counter()
    if isinstance(data, Mapping) and "rule" in data and "key" not in data:
        data = {**data, "key": "draft"}
    definition = parse_definition(data)
    facts = _facts(runtime, today)
    segments = active_definitions(runtime)
    validate(definition, events=known_events(runtime), segments=segments, facts=facts)
    # Profiles, when the draft reads a property, are computed inside this one query.
    compiler = RuleCompiler(facts, segments)
    compiler.add("member", definition.rule)
    frame = compiler.frame()
    row = frame.aggregate(size=frame.member.sum(), persons=frame.count()).execute()
    size = int(row["size"].iloc[0] or 0)
    persons = int(row["persons"].iloc[0] or 0)
    return {
        "key": definition.key,
        "size": size,
        "persons": persons,
        "share": round(size / persons, 4) if persons else None,
        "as_of": facts.today.isoformat(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def list_all(runtime: Runtime, *, include_archived: bool = False) -> list[dict[str, Any]]:
    """Definitions with their current size and last change."""
    cur = runtime.warehouse.cursor()
    sizes = {r["set_key"]: r for r in store.set_overview(cur).to_pylist()}
    out = []
    for row in store.list_definitions(cur, include_archived=include_archived):
        size = sizes.get(f"segment:{row.key}", {})
        out.append(
            {
                **_described(row),
                "size": size.get("size"),
                "computed_at": _iso(size.get("computed_at")),
                "entered": size.get("entered"),
                "exited": size.get("exited"),
            }
        )
    return out


def show(runtime: Runtime, key: str) -> dict[str, Any]:
    """A definition, its size history and a sample of members."""
    cur = runtime.warehouse.cursor()
    row = store.get_definition(cur, key)
    history = store.size_history(cur, f"segment:{key}").to_pylist()
    sample = store.current_members(cur, f"segment:{key}").slice(0, 20).to_pylist()
    return {
        **_described(row),
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "definition": orjson.loads(row.definition),
        "size": history[-1]["size"] if history else None,
        "history": [{**h, "computed_at": _iso(h["computed_at"])} for h in history],
        "sample": [{**m, "entered_at": _iso(m["entered_at"])} for m in sample],
    }


def sets(runtime: Runtime) -> list[dict[str, Any]]:
    """Every materialised set (layers, tags, segments) with its size now."""
    rows = store.set_overview(runtime.warehouse.cursor()).to_pylist()
    return [{**r, "computed_at": _iso(r["computed_at"])} for r in rows]


def overlap(runtime: Runtime, keys: Iterable[str]) -> dict[str, Any]:
    """Pairwise overlap of sets (``segment:`` is added to bare segment keys)."""
    names = [k if ":" in k or k == "paying" else f"segment:{k}" for k in keys]
    if len(names) < 2:
        raise SegmentError("give at least two segments or sets to overlap")
    table = store.overlap(runtime.warehouse.cursor(), names)
    return {"sets": names, "pairs": table.to_pylist()}


def compute(
    runtime: Runtime,
    progress: Progress = no_progress,
    *,
    today: date | None = None,
    layers_too: bool = True,
) -> dict[str, Any]:
    """Recompute the layers and every segment; membership diffs by set."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    at = datetime.now(UTC).replace(tzinfo=None)
    progress("reading definitions", 0, 4)
    file_report = sync_files(runtime)
    definitions = active_definitions(runtime)
    con = runtime.warehouse.ibis()
    progress("reading orders and persons", 0, 4)
    t0 = time.perf_counter()
    temp = TempTables(con)
    try:
        # The warehouse is DuckDB, which reads the events directly (`Facts.cached`).
        facts = _facts(runtime, today, con).cached(temp.materialise)
        timings["facts"] = round(time.perf_counter() - t0, 3)
        diffs: dict[str, store.SetDiff] = {}
        model_sizes: dict[str, int] = {}
        if layers_too:
            progress("computing layers (lifecycle, RFM, value, roles, interests, channels)", 1, 4)
            t0 = time.perf_counter()
            tables = layers.execute(
                layers.layer_tables(
                    facts, con.table("items"), con.table("channels"), models_config(runtime)
                )
            )
            timings["layers"] = round(time.perf_counter() - t0, 3)
            rows = pa.concat_tables([layers.layer_sets(tables), _manual_tag_sets(runtime)])
            with runtime.warehouse.transaction() as cur:
                for name, table in tables.items():
                    store.replace_snapshot(cur, name, table)
                keys = _layer_keys(cur, rows)
                diffs |= store.apply_memberships(cur, rows, keys, at)
            model_sizes = {name: t.num_rows for name, t in tables.items()}
        progress("computing segments", 2, 4)
        t0 = time.perf_counter()
        events = known_events(runtime)
        skipped: dict[str, str] = {}
        good: dict[str, Definition] = {}
        for key, definition in definitions.items():
            try:
                validate(definition, events=events, segments=definitions, facts=facts)
            except InvalidDefinition as exc:
                skipped[key] = str(exc)
                continue
            good[key] = definition
        seg_rows = layers.MEMBER_SCHEMA.empty_table()
        if good:
            facts = _with_profiles(runtime, facts, good.values(), con)
            compiler = RuleCompiler(facts, definitions)
            columns = {f"s{i}": d for i, d in enumerate(good.values())}
            for column, definition in columns.items():
                compiler.add(column, definition.rule, key=definition.key)
            frame = compiler.frame().to_pyarrow()
            parts = []
            for column, definition in columns.items():
                ids = frame.filter(pc.fill_null(frame[column], False))["person_id"]
                key = pa.array([f"segment:{definition.key}"] * len(ids), pa.string())
                weight = pa.nulls(len(ids), pa.float64())
                parts.append(pa.table([key, ids, weight], schema=layers.MEMBER_SCHEMA))
            seg_rows = pa.concat_tables(parts)
        timings["segments"] = round(time.perf_counter() - t0, 3)
        progress("writing memberships", 3, 4)
        with runtime.warehouse.transaction() as cur:
            seg_keys = [f"segment:{k}" for k in good]
            diffs |= store.apply_memberships(cur, seg_rows, seg_keys, at)
    finally:
        temp.drop_all()
    progress("done", 4, 4)
    return {
        "as_of": facts.today.isoformat(),
        "computed_at": at.isoformat(),
        "seconds": round(time.perf_counter() - started, 3),
        "timings": timings,
        "models": model_sizes,
        "segments": {k: _diff(diffs[f"segment:{k}"]) for k in good},
        "sets": {k: _diff(v) for k, v in diffs.items() if not k.startswith("segment:")},
        "skipped": skipped,
        "files": file_report,
    }


def run_compute_job(runtime: Runtime, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The ``segments-compute`` job: `compute` with an optional ``today`` (YYYY-MM-DD)."""
    today = date.fromisoformat(args["today"]) if args.get("today") else None
    return compute(runtime, progress, today=today, layers_too=not args.get("segments_only"))


def _with_profiles(
    runtime: Runtime, facts: Facts, definitions: Iterable[Definition], con: Any
) -> Facts:
    """Facts whose profiles are materialised once when a rule reads a property."""
    needs = any(isinstance(n, Property) for d in definitions for n in walk(d.rule))
    if not needs:
        return facts
    table = facts.profiles().to_pyarrow()
    with runtime.warehouse.transaction() as cur:
        name = store.replace_snapshot(cur, "profiles", table)
    stored = con.table(name)
    return replace(facts, profiles_source=lambda: stored)


def _manual_tag_sets(runtime: Runtime) -> pa.Table:
    table = tag_store.manual_tag_sets(runtime.warehouse.cursor())
    return table.select(["set_key", "person_id", "weight"]).cast(layers.MEMBER_SCHEMA)


def _layer_keys(cur: Any, rows: pa.Table) -> list[str]:
    """Keys applied this run: fixed layer sets, sets with members now, open ones before."""
    now = set(pc.unique(rows["set_key"]).to_pylist())
    before = {
        r["set_key"]
        for r in store.set_overview(cur).to_pylist()
        if r["set_key"].startswith(layers.OPEN_PREFIXES) and r["size"]
    }
    return sorted(set(layers.FIXED_SETS) | now | before)


def _described(row: store.StoredDefinition) -> dict[str, Any]:
    """What every listing of a definition shows."""
    return {
        "key": row.key,
        "kind": row.kind,
        "name": row.name,
        "description": row.description,
        "origin": row.origin,
        "archived": row.archived,
        "updated_at": row.updated_at.isoformat(),
    }


def _diff(diff: store.SetDiff) -> dict[str, int]:
    return {"size": diff.size, "entered": diff.entered, "exited": diff.exited}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value
