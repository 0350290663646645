"""What the CLI, the admin API and the console call: one function per identity action."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from siyu.identity import graph, persons
from siyu.identity.exceptions import InvalidIdentity
from siyu.progress import Progress

if TYPE_CHECKING:
    from siyu.runtime import Runtime

PERSON_ACTIONS = ("show", "export", "delete")
DECISIONS = ("unbind", "force", "keep_apart")


def person_action(
    runtime: Runtime, action: str, ref: str, *, reveal: bool = False, actor: str = "cli"
) -> dict[str, Any]:
    """Show, export (PIPL access) or delete (PIPL erasure) the person ``ref`` names."""
    wh = runtime.warehouse
    graph.apply_new(wh, runtime.rules)
    if action == "show":
        return persons.show_person(wh, ref, reveal=reveal)
    if action == "export":
        return persons.export_person(wh, ref, actor=actor)
    if action == "delete":
        return persons.delete_person(
            wh, runtime.rules, ref, actor=actor, lake=runtime.settings.lake_path
        )
    raise InvalidIdentity(f"unknown action {action!r}; use {', '.join(PERSON_ACTIONS)}")


def decide(
    runtime: Runtime, kind: str, a_ref: str, b_ref: str | None, *, actor: str = "cli"
) -> dict[str, Any]:
    """An operator's unbind, force-merge or keep-apart decision, applied at once."""
    if kind not in DECISIONS:
        raise InvalidIdentity(f"unknown decision {kind!r}; use {', '.join(DECISIONS)}")
    wh = runtime.warehouse
    a = _stored(runtime, a_ref)
    b = _stored(runtime, b_ref) if b_ref is not None else None
    stats = graph.add_decision(wh, runtime.rules, kind, a, b, actor)
    result = {"decision": kind, **asdict(stats)}
    result["person_a"] = persons.find_person(wh, a_ref)
    if b_ref is not None:
        result["person_b"] = persons.find_person(wh, b_ref)
    return result


def conflicts(
    runtime: Runtime, *, limit: int = 200, reveal: bool = False, open_only: bool = True
) -> list[dict[str, Any]]:
    graph.apply_new(runtime.warehouse, runtime.rules)
    return persons.conflict_rows(runtime.warehouse, limit=limit, reveal=reveal, open_only=open_only)


def run_rebuild_job(
    runtime: Runtime, arguments: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Job ``identity-rebuild``: re-derive and replay every identity link."""
    if arguments:
        raise InvalidIdentity(f"identity-rebuild takes no arguments, got {sorted(arguments)}")
    return asdict(graph.rebuild(runtime.warehouse, runtime.rules, progress))


def _stored(runtime: Runtime, ref: str) -> tuple[str, str]:
    parsed = persons.parse_ref(ref)
    if isinstance(parsed, str):
        raise InvalidIdentity(f"{ref!r}: a decision names identities (type:value), not persons")
    id_type, value = parsed
    return id_type, persons.stored_value(runtime.warehouse, id_type, value)
