"""`siyu segments …` and `siyu tags …`: layering and classification (分层分类) from the shell."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli.backend import Backend
from siyu.cli.output import console, errors, fail, print_json, progress_bar
from siyu.exceptions import SiyuError

segments_app = typer.Typer(
    help="Segments (人群): definitions, compute, sizes, export, sync to WeChat.",
    no_args_is_help=True,
)
tags_app = typer.Typer(
    help="Tags (标签): manual tags, interest and channel tags.", no_args_is_help=True
)

#: Set kinds named after data, summarised per kind by `segments compute`.
_OPEN_KINDS = {"interest": "interest tags", "channel": "channel tags", "tag": "manual tags"}

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
Key = Annotated[str, typer.Argument(help="a segment key, or a set key such as rfm:important_value")]
Source = Annotated[
    str, typer.Argument(help="a YAML or JSON file with the definition, or - for standard input")
]
Refs = Annotated[
    list[str],
    typer.Argument(help="persons: type:value (phone:138…, member_id:M1) or person ids"),
]


@contextmanager
def _backend() -> Iterator[Backend]:
    from siyu.cli.main import _backend as backend

    with backend() as opened:
        yield opened


def _op(op: str, **args: Any) -> Any:
    """One backend operation; siyu errors exit with their message (the node of a bad rule)."""
    with _backend() as backend:
        try:
            return backend.segments(op, **args)
        except SiyuError as exc:
            fail(str(exc))


# -- segments ---------------------------------------------------------------------------


@segments_app.command("list")
def segments_list(
    include_archived: Annotated[bool, typer.Option("--all", help="include archived")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Segment and tag definitions with their size at the last compute."""
    rows = _op("list", include_archived=include_archived)
    if json_out:
        print_json(rows)
        return
    table = Table(
        "key", "name 名称", "kind", "size 人数", "entered", "exited", "computed (UTC)", "origin"
    )
    for r in rows:
        table.add_row(
            r["key"] + (" (archived)" if r["archived"] else ""),
            r["name"],
            r["kind"],
            _num(r["size"]),
            _num(r["entered"]),
            _num(r["exited"]),
            _when(r["computed_at"]),
            r["origin"],
        )
    console.print(table)
    if not rows:
        console.print("no segments yet: `siyu segments save FILE` or add segments/*.yaml")


@segments_app.command("show")
def segments_show(key: Key, json_out: JsonFlag = False) -> None:
    """A definition, its size over time and a sample of members."""
    seg = _op("show", key=key)
    if json_out:
        print_json(seg)
        return
    import yaml

    console.print(f"[bold]{seg['key']}[/] — {seg['name']} ({seg['kind']}, {seg['origin']})")
    if seg["description"]:
        console.print(seg["description"])
    if seg["archived"]:
        console.print("[yellow]archived[/]")
    console.print(
        yaml.safe_dump(seg["definition"], allow_unicode=True, sort_keys=False).rstrip(),
        highlight=False,
        markup=False,
    )
    history = Table(
        "computed (UTC) 计算时间", "size 人数", "entered 进入", "exited 退出", title="size"
    )
    for h in seg["history"][-15:]:
        history.add_row(
            _when(h["computed_at"]), _num(h["size"]), _num(h["entered"]), _num(h["exited"])
        )
    console.print(history)
    if seg["sample"]:
        console.print("sample: " + ", ".join(m["person_id"] for m in seg["sample"][:10]))
    elif not seg["history"]:
        console.print("not computed yet: `siyu segments compute`")


@segments_app.command("compute")
def segments_compute(
    today: Annotated[
        str | None, typer.Option(help="local day to compute as of, YYYY-MM-DD")
    ] = None,
    segments_only: Annotated[
        bool, typer.Option("--segments-only", help="skip the built-in models (layers)")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Recompute lifecycle, RFM, value tiers, interests, channels and every segment."""
    arguments: dict[str, Any] = {}
    if today:
        arguments["today"] = _date(today, "--today").isoformat()
    if segments_only:
        arguments["segments_only"] = True
    with _backend() as backend, progress_bar(not json_out) as progress:
        try:
            result = backend.run_job("segments-compute", arguments, progress)
        except SiyuError as exc:
            fail(str(exc))
    if json_out:
        print_json(result)
        return
    table = Table(
        "segment / set", "size 人数", "entered 进入", "exited 退出", title="segments 人群"
    )
    for key, diff in result["segments"].items():
        table.add_row(key, _num(diff["size"]), _num(diff["entered"]), _num(diff["exited"]))
    console.print(table)
    if result["sets"]:
        # Fixed layers row by row; sets named after data (interests, channels, manual
        # tags) summed per kind, as there may be hundreds (`siyu segments sets` lists them).
        layers = Table("set", "size 人数", "entered 进入", "exited 退出", title="layers 分层")
        open_kinds: dict[str, list[int]] = {}
        for key, diff in sorted(result["sets"].items()):
            kind, sep, _ = key.partition(":")
            if sep and kind in _OPEN_KINDS:
                totals = open_kinds.setdefault(kind, [0, 0, 0, 0])
                for i, n in enumerate((1, diff["size"], diff["entered"], diff["exited"])):
                    totals[i] += n
            elif diff["size"] or diff["entered"] or diff["exited"]:
                layers.add_row(key, _num(diff["size"]), _num(diff["entered"]), _num(diff["exited"]))
        for kind, (sets, size, entered, exited) in sorted(open_kinds.items()):
            layers.add_row(
                f"{kind}:* ({sets:,} {_OPEN_KINDS[kind]})",
                f"{size:,} memberships",
                _num(entered),
                _num(exited),
            )
        console.print(layers)
    for key, why in result.get("skipped", {}).items():
        errors.print(f"[yellow]skipped[/] {key}: {why}", highlight=False)
    for problem in result.get("files", {}).get("problems", []):
        errors.print(f"[yellow]file problem[/] {problem['path']}: {problem['error']}")
    console.print(
        f"computed as of {result['as_of']} in {result['seconds']:.1f} s "
        f"({len(result['segments'])} segments, {len(result['sets'])} layer sets)"
    )


@segments_app.command("export")
def segments_export(
    key: Key,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="comma-separated: person_id, entered_at, weight, identity types (phone, "
            "member_id, unionid, mp_openid, mp_openid:<appid>…), stage, paying, rfm_class, "
            "r_score, f_score, m_score, monetary_fen, value_tier, first_channel, latest_channel",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file")
    ] = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="phone numbers and emails unmasked (audited)")
    ] = False,
) -> None:
    """The current members as CSV (person_id, entered_at, member_id, phone by default)."""
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    rows = 0
    with _backend() as backend:
        try:
            chunks = backend.segments_export(key, chosen, reveal=reveal)
            if output is None:
                for chunk in chunks:
                    sys.stdout.write(chunk)
                sys.stdout.flush()
                return
            with output.open("w", encoding="utf-8", newline="") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    rows += chunk.count("\n")
        except SiyuError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
    note = " (unmasked; recorded in the privacy audit)" if reveal else ""
    errors.print(f"wrote {max(rows - 1, 0):,} members to {output}{note}", highlight=False)


@segments_app.command("estimate")
def segments_estimate(
    source: Source,
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    json_out: JsonFlag = False,
) -> None:
    """How many persons a draft definition holds now, without saving it."""
    data = _read(source)
    result = _op("estimate", data=data, today=_date(today, "--today") if today else None)
    if json_out:
        print_json(result)
        return
    share = f"{result['share']:.1%}" if result["share"] is not None else "—"
    console.print(
        f"[bold]{result['size']:,}[/] of {result['persons']:,} persons ({share}) "
        f"as of {result['as_of']}, in {result['seconds']:.2f} s"
    )


@segments_app.command("save")
def segments_save(source: Source, json_out: JsonFlag = False) -> None:
    """Validate and store definitions (one, or a list) from a file or standard input."""
    data = _read(source)
    documents = data if isinstance(data, list) else [data]
    saved = [_op("save", data=doc) for doc in documents]
    if json_out:
        print_json(saved if isinstance(data, list) else saved[0])
        return
    for seg in saved:
        console.print(f"saved [bold]{seg['key']}[/] — {seg['name']}")
    console.print("sizes appear after `siyu segments compute`; `siyu segments estimate` previews")


@segments_app.command("archive")
def segments_archive(key: Key, json_out: JsonFlag = False) -> None:
    """Archive a definition (kept for history; saving it again revives it)."""
    result = _op("archive", key=key)
    if json_out:
        print_json(result)
    else:
        console.print(f"archived {key}")


@segments_app.command("overlap")
def segments_overlap(
    keys: Annotated[list[str], typer.Argument(help="two or more segment or set keys")],
    json_out: JsonFlag = False,
) -> None:
    """Persons in both of each pair of segments or sets (重合)."""
    result = _op("overlap", keys=keys)
    if json_out:
        print_json(result)
        return
    names = result["sets"]
    cell = {(p["set_a"], p["set_b"]): p["persons"] for p in result["pairs"]}
    table = Table("", *names, title="overlap 重合 (persons in both)")
    for a in names:
        table.add_row(a, *(_num(cell.get((a, b))) for b in names))
    console.print(table)


@segments_app.command("sets")
def segments_sets(json_out: JsonFlag = False) -> None:
    """Every computed set: layers, tags and segments, with their size now."""
    rows = _op("sets")
    if json_out:
        print_json(rows)
        return
    table = Table("set", "size 人数", "entered", "exited", "computed (UTC)")
    for r in rows:
        table.add_row(
            r["set_key"],
            _num(r["size"]),
            _num(r["entered"]),
            _num(r["exited"]),
            _when(r["computed_at"]),
        )
    console.print(table)


@segments_app.command("sync")
def segments_sync(
    key: Key,
    target: Annotated[
        str, typer.Option("--to", help="wecom (企业微信客户标签) or oa (公众号用户标签)")
    ],
    tag_name: Annotated[
        str | None, typer.Option("--tag-name", help="tag name (default: the segment's name)")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Push the members as a WeCom corp tag or an official-account user tag."""
    if target not in ("wecom", "oa"):
        fail(f"--to must be wecom or oa, got {target!r}")
    result = _op("sync", key=key, target=target, tag_name=tag_name)
    if json_out:
        print_json(result)
        return
    where = "WeCom" if target == "wecom" else "the official account"
    made = " (created)" if result["tag_created"] else ""
    console.print(
        f"{result['set_key']} → {where} tag [bold]{result['tag_name']}[/]{made}: "
        f"{result['tagged']:,} tagged, {result['untagged']:,} untagged "
        f"({result['left_since_last_sync']:,} left since the last sync); "
        f"{result['unreachable']:,} of {result['members']:,} members cannot be reached there"
    )
    for err in result["errors"][:20]:
        errors.print(f"[red]refused[/] {err['target']}: {err['errcode']} {err['errmsg']}")
    if result["failed"]:
        fail(f"{result['failed']:,} targets were refused; run the sync again to retry them")


# -- tags -------------------------------------------------------------------------------


@tags_app.command("list")
def tags_list(json_out: JsonFlag = False) -> None:
    """Manual tags with their counts, and the interest and channel tags computed."""
    result = _op("tags")
    if json_out:
        print_json(result)
        return
    manual = Table("tag 标签", "persons 人数", "last added (UTC)", title="manual tags 手动标签")
    for r in result["manual"]:
        manual.add_row(r["tag"], _num(r["persons"]), _when(r["last_added_at"]))
    console.print(manual)
    for kind, title in (
        ("interest", "interest tags 兴趣标签"),
        ("channel", "channel tags 渠道标签"),
    ):
        if result[kind]:
            table = Table("tag", "persons 人数", "computed (UTC)", title=title)
            for r in result[kind]:
                table.add_row(
                    r["set_key"].partition(":")[2], _num(r["size"]), _when(r["computed_at"])
                )
            console.print(table)


@tags_app.command("add")
def tags_add(
    tag: Annotated[str, typer.Argument(help="tag name")], refs: Refs, json_out: JsonFlag = False
) -> None:
    """Put a manual tag on persons (打标签)."""
    _tag_change("tag", tag, refs, json_out)


@tags_app.command("remove")
def tags_remove(
    tag: Annotated[str, typer.Argument(help="tag name")], refs: Refs, json_out: JsonFlag = False
) -> None:
    """Take a manual tag off persons (history is kept)."""
    _tag_change("untag", tag, refs, json_out)


@tags_app.command("import")
def tags_import(
    path: Annotated[Path, typer.Argument(help="CSV with identity or person_id, and tag")],
    tag: Annotated[
        str | None, typer.Option("--tag", help="tag for rows without one (or the whole file)")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Tag persons in bulk from a CSV file (批量导入标签)."""
    if not path.is_file():
        fail(f"{path} is not a file")
    result = _op("import_tags", path=str(path.resolve()), tag=tag)
    if json_out:
        print_json(result)
        return
    console.print(
        f"{result['file']}: {result['rows']:,} rows, [green]{result['tagged']:,} tagged[/], "
        f"{result['already_tagged']:,} already tagged, [red]{result['rejected']:,} rejected[/] "
        f"({', '.join(result['tags']) or 'no tags'})"
    )
    for problem in result["problems"][:20]:
        errors.print(f"  line {problem['line']}: {problem['reason']}", highlight=False)
    if len(result["problems"]) > 20:
        errors.print(f"  … and {len(result['problems']) - 20:,} more (--json lists all)")


def _tag_change(op: str, tag: str, refs: list[str], json_out: bool) -> None:
    result = _op(op, tag=tag, refs=refs)
    if json_out:
        print_json(result)
    else:
        verb = "tagged" if op == "tag" else "untagged"
        console.print(
            f"{tag}: {result[verb]:,} {verb}, {result['unchanged']:,} unchanged; "
            f"{result['persons']:,} persons hold it now"
        )
    for ref in result["not_found"]:
        errors.print(f"[yellow]no person holds[/] {ref}", highlight=False)


# -- helpers ----------------------------------------------------------------------------


def _read(source: str) -> Any:
    """The parsed definition document of a file, or of standard input for ``-``."""
    from siyu.segments.exceptions import InvalidDefinition
    from siyu.segments.files import read_documents

    try:
        if source == "-":
            import yaml

            try:
                return yaml.safe_load(sys.stdin.read())
            except yaml.YAMLError as exc:
                raise InvalidDefinition("<stdin>", f"cannot be parsed: {exc}") from None
        path = Path(source)
        if not path.is_file():
            fail(f"{source} is not a file (give a YAML or JSON file, or - for standard input)")
        return read_documents(path)
    except (InvalidDefinition, UnicodeDecodeError, OSError) as exc:
        fail(str(exc))


def _date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01")
        raise


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


def _when(value: Any) -> str:
    return "—" if value is None else str(value)[:19].replace("T", " ")
