"""`siyu persons …` and `siyu identity …`: the identity graph (ID-Mapping) from the shell."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli.backend import Backend
from siyu.cli.output import console, fail, print_json, progress_bar

persons_app = typer.Typer(help="Persons (用户): show, export, delete (PIPL).", no_args_is_help=True)
identity_app = typer.Typer(
    help="The identity graph (ID-Mapping): rebuild, conflicts, export, decisions.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
RevealFlag = Annotated[
    bool, typer.Option("--reveal", help="show phone numbers and emails unmasked")
]
Ref = Annotated[
    str,
    typer.Argument(
        help="type:value (phone:138…, login_id:u42, mp_openid:<appid>:<openid>) or a person id"
    ),
]


_PROFILE_FACTS = (
    ("properties", "properties 用户属性"),
    ("active_days", "active days 活跃天数"),
    ("first_channel", "first channel 首次来源渠道"),
    ("first_campaign", "first campaign 首次活动"),
    ("latest_channel", "latest channel 最近渠道"),
    ("carriers", "carriers 载体"),
    ("follows_oa", "follows the official account 关注公众号"),
    ("wecom_contact", "WeCom contact 企业微信好友"),
    ("groups", "groups 群"),
)


def _backend() -> Any:
    from siyu.cli.main import _backend as backend

    return backend()


@persons_app.command("show")
def persons_show(ref: Ref, reveal: RevealFlag = False, json_out: JsonFlag = False) -> None:
    """A person's identities, how they were linked, conflicts and recent events."""
    with _backend() as backend:
        person = _call(backend, "show", ref, reveal)
    if json_out:
        print_json(person)
        return
    console.print(
        f"[bold]{person['person_id']}[/]  {person['events']:,} events, "
        f"first seen {person['first_seen']}, last seen {person['last_seen']}"
    )
    if person["merged_ids"]:
        console.print(f"merged from: {', '.join(person['merged_ids'])}")
    profile = person.get("profile") or {}
    if profile:
        facts = Table(show_header=False, title="profile 用户画像")
        for key, label in _PROFILE_FACTS:
            value = profile.get(key)
            if value not in (None, "", [], {}):
                facts.add_row(
                    label, ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                )
        console.print(facts)
    ids = Table("type 类型", "value 值", "first seen 首次出现", title="identities 身份")
    for row in person["identities"]:
        flag = " (junk)" if row["junk"] else ""
        ids.add_row(row["identity_type"], row["identity_value"] + flag, str(row["first_seen"]))
    console.print(ids)
    links = Table("from", "to", "kind", "times", "first seen", title="links 关联")
    for row in person["links"]:
        to = f"{row['b_type']}:{row['b_value']}" if row["b_type"] else "—"
        links.add_row(
            f"{row['a_type']}:{row['a_value']}",
            to,
            row["kind"],
            str(row["times"]),
            str(row["first_seen"]),
        )
    console.print(links)
    if person["conflicts"]:
        _print_conflicts(person["conflicts"])
    timeline = Table("time 时间", "type", "event 事件", "source", title="recent events 最近事件")
    for row in person["timeline"]:
        timeline.add_row(str(row["event_time"]), row["type"], row["event"], row["source_id"])
    console.print(timeline)


@persons_app.command("export")
def persons_export(
    ref: Ref,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file")
    ] = None,
) -> None:
    """Everything siyu holds on a person, as JSON (个人信息查阅/复制)."""
    with _backend() as backend:
        data = _call(backend, "export", ref, True)
    if output is None:
        print_json(data)
        return
    import orjson

    output.write_bytes(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2))
    console.print(
        f"wrote {len(data['events']):,} events and {len(data['orders']):,} orders to {output}"
    )


@persons_app.command("delete")
def persons_delete(
    ref: Ref,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Delete a person: events, orders, identities and links (个人信息删除). Irreversible."""
    if not yes and not typer.confirm(f"Delete every record of {ref}? This cannot be undone"):
        fail("nothing deleted")
    with _backend() as backend:
        result = _call(backend, "delete", ref, False)
    if json_out:
        print_json(result)
    else:
        console.print(
            f"deleted {result['identities']:,} identities, {result['events']:,} events, "
            f"{result['orders']:,} orders, {result['quarantined']:,} quarantined records; "
            "an audit record without personal data was kept"
        )


@identity_app.command("rebuild")
def identity_rebuild(json_out: JsonFlag = False) -> None:
    """Re-derive every link from events and orders and resolve all persons again."""
    with _backend() as backend, progress_bar(not json_out) as progress:
        stats = backend.run_job("identity-rebuild", {}, progress)
    if json_out:
        print_json(stats)
    else:
        console.print(
            f"{stats['identities']:,} identities → {stats['persons']:,} persons from "
            f"{stats['links']:,} links: {stats['merges']:,} merges, "
            f"[yellow]{stats['conflicts']:,} conflicts[/], {stats['junk']:,} junk ids, "
            f"in {stats['seconds']:.1f} s"
        )


@identity_app.command("conflicts")
def identity_conflicts(
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    show_all: Annotated[
        bool, typer.Option("--all", help="include conflicts already merged or kept apart")
    ] = False,
    reveal: RevealFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Links refused by a rule, with their evidence, for review (冲突)."""
    with _backend() as backend:
        rows = backend.identity_conflicts(limit, reveal=reveal, open_only=not show_all)
    if json_out:
        print_json(rows)
    else:
        _print_conflicts(rows)
        console.print(
            "resolve with `siyu identity merge A B` (force), `siyu identity keep-apart A B` "
            "or `siyu identity unbind A`"
        )


@identity_app.command("export")
def identity_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    reveal: RevealFlag = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="JSON lines, one identity each (= --format jsonl)")
    ] = False,
) -> None:
    """The whole identity map (type, value, person_id), for syncing other systems."""
    if json_out:
        fmt = "jsonl"
    if fmt not in ("csv", "jsonl"):
        fail(f"--format must be csv or jsonl, got {fmt!r}")
    with _backend() as backend:
        lines = backend.identity_export(fmt, reveal=reveal)
        if output is None:
            for line in lines:
                sys.stdout.write(line)
            return
        with output.open("w", encoding="utf-8") as fh:
            count = sum(1 for line in lines if fh.write(line) >= 0)
    console.print(f"wrote {count - (fmt == 'csv'):,} identities to {output}")


@identity_app.command("unbind")
def identity_unbind(ref: Ref, json_out: JsonFlag = False) -> None:
    """Detach an identity from its person (解绑); its earlier links are undone."""
    _decide("unbind", ref, None, json_out)


@identity_app.command("merge")
def identity_merge(a: Ref, b: Ref, json_out: JsonFlag = False) -> None:
    """Merge the persons of two identities even if a rule objects (强制合并)."""
    _decide("force", a, b, json_out)


@identity_app.command("keep-apart")
def identity_keep_apart(a: Ref, b: Ref, json_out: JsonFlag = False) -> None:
    """Never put these two identities in one person; splits them if they are (拆分)."""
    _decide("keep_apart", a, b, json_out)


def _decide(kind: str, a: str, b: str | None, json_out: bool) -> None:
    with _backend() as backend:
        result = backend.identity_decide(kind, a, b)
    if json_out:
        print_json(result)
        return
    people = result["person_a"] + (f" and {result['person_b']}" if "person_b" in result else "")
    console.print(f"{kind} applied; now {people} ({result['merges']:,} merges in the region)")


def _call(backend: Backend, action: str, ref: str, reveal: bool) -> dict[str, Any]:
    return backend.person(action, ref, reveal=reveal)


def _print_conflicts(rows: list[dict[str, Any]]) -> None:
    table = Table("seq", "link", "rule 规则", "persons", "evidence 证据", title="conflicts 冲突")
    for row in rows:
        table.add_row(
            str(row["seq"]),
            f"{row['a_type']}:{row['a_value']} ↔ {row['b_type']}:{row['b_value']}",
            f"one {row['rule']} ({row['status']})" if row["rule"] != "keep_apart" else "kept apart",
            f"{row['a_person_id']} / {row['b_person_id']}",
            f"{row['origin']} {row['ref']}",
        )
    console.print(table)
