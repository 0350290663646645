"""`siyu experiment save | list | show | start | stop | assign | results`: A/B tests (实验)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli.analytics import JsonFlag, SegmentOpt, TodayOpt, analyse, bar, request
from siyu.cli.output import console, errors, fail, print_json

experiment_app = typer.Typer(
    help="Experiments (A/B 实验): definitions, assignment with exposure logging, results.",
    no_args_is_help=True,
)

Key = Annotated[str, typer.Argument(help="the experiment key")]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="when, ISO 8601 (no zone: the project zone); default now"),
]


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")


@experiment_app.command("save")
def save_command(
    source: Annotated[
        str, typer.Argument(help="a YAML or JSON file with the definition (or a list), or -")
    ],
    json_out: JsonFlag = False,
) -> None:
    """Validate and store definitions; a new experiment is a draft until started."""
    data = _read(source)
    documents = data if isinstance(data, list) else [data]
    saved = []
    for doc in documents:
        if not isinstance(doc, dict):
            fail(f"{source}: each definition is a mapping (key, name, variants, metrics)")
        saved.append(analyse("experiment.save", {**doc, "actor": "cli"}, json_out=False))
    if json_out:
        print_json(saved if isinstance(data, list) else saved[0])
        return
    for exp in saved:
        assert exp is not None
        variants = ", ".join(v["key"] for v in exp["definition"]["variants"])
        console.print(f"saved [bold]{exp['key']}[/] — {exp['name']} ({exp['status']}; {variants})")
        for warning in exp["warnings"]:
            errors.print(f"[yellow]warning:[/] {warning}", highlight=False)


@experiment_app.command("list")
def list_command(json_out: JsonFlag = False) -> None:
    """Every experiment with its status, variants and primary metric."""
    result = analyse("experiment.list", {}, json_out=json_out)
    if result is None:
        return
    table = Table("key", "name 名称", "status 状态", "variants 分组", "primary", "started (UTC)")
    for exp in result["experiments"]:
        d = exp["definition"]
        table.add_row(
            exp["key"],
            exp["name"],
            exp["status"],
            " / ".join(f"{v['key']}:{v['weight']:g}" for v in d["variants"]),
            d.get("primary") or d["metrics"][0]["key"],
            _when(exp["started_at"]),
        )
    console.print(table)
    if not result["experiments"]:
        console.print("no experiments yet: `siyu experiment save FILE`")


@experiment_app.command("show")
def show_command(key: Key, json_out: JsonFlag = False) -> None:
    """A definition with its status and times."""
    exp = analyse("experiment.show", {"key": key}, json_out=json_out)
    if exp is None:
        return
    import yaml

    console.print(f"[bold]{exp['key']}[/] — {exp['name']} ({exp['status']})")
    if exp["description"]:
        console.print(exp["description"])
    console.print(
        f"created {_when(exp['created_at'])} by {exp['created_by']}, "
        f"started {_when(exp['started_at'])}, stopped {_when(exp['stopped_at'])} (UTC)"
    )
    console.print(
        yaml.safe_dump(exp["definition"], allow_unicode=True, sort_keys=False).rstrip(),
        highlight=False,
        markup=False,
    )


@experiment_app.command("start")
def start_command(key: Key, at: AtOpt = None, json_out: JsonFlag = False) -> None:
    """Start a draft: from now (or --at), assignments record exposures."""
    _status("experiment.start", key, at, json_out)


@experiment_app.command("stop")
def stop_command(key: Key, at: AtOpt = None, json_out: JsonFlag = False) -> None:
    """Stop a running experiment: later exposures no longer count."""
    _status("experiment.stop", key, at, json_out)


def _status(name: str, key: str, at: str | None, json_out: bool) -> None:
    exp = analyse(name, request(key=key, at=at), json_out=json_out)
    if exp is not None:
        when = exp["started_at"] if exp["status"] == "running" else exp["stopped_at"]
        console.print(f"[bold]{key}[/] is {exp['status']} (since {_when(when)} UTC)")


@experiment_app.command("assign")
def assign_command(
    key: Key,
    refs: Annotated[
        list[str],
        typer.Argument(help="persons: type:value (member_id:M1, unionid:…) or person ids"),
    ],
    at: AtOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """The variant of each person; while running, records their exposure."""
    body = request(key=key, at=at, **({"ref": refs[0]} if len(refs) == 1 else {"refs": refs}))
    result = analyse("experiment.assign", body, json_out=json_out)
    if result is None:
        return
    rows = result.get("assignments", [result])
    table = Table("ref", "person", "variant 分组", "logged", "note")
    for row in rows:
        table.add_row(
            row["ref"],
            row["person_id"],
            row["variant"] or "—",
            "yes" if row["logged"] else "no",
            row.get("reason") or "",
        )
    console.print(table)


@experiment_app.command("results")
def results_command(
    key: Key,
    segment: SegmentOpt = None,
    json_out: JsonFlag = False,
    today: TodayOpt = None,
) -> None:
    """Per metric and variant: value, lift with its interval, p-values, P(beat)."""
    result = analyse(
        "experiment", request(key=key, segment=segment, today=today), json_out=json_out
    )
    if result is None:
        return
    exp, exposures = result["experiment"], result["exposures"]
    console.print(
        f"[bold]{exp['key']}[/] — {exp['name']} ({exp['status']}), as of {result['as_of']}: "
        f"{exposures['persons']:,} exposed persons"
    )
    split = Table("variant 分组", "persons 人数", "share", "expected", "", title="exposures 曝光")
    for v in exposures["variants"]:
        share = v["share"]
        split.add_row(
            v["variant"],
            f"{v['persons']:,}",
            "—" if share is None else f"{share:.1%}",
            f"{v['expected_share']:.1%}",
            bar(share),
        )
    console.print(split)
    srm = exposures["srm"]
    state = "[red]MISMATCH[/]" if srm["mismatch"] else "ok"
    console.print(f"sample ratio: {state} (chi² {srm['chi2']:.2f}, p={srm['p_value']:.3g})")
    for metric in result["metrics"]:
        console.print(_metric_table(metric, exp["confidence"]))
        for row in metric["variants"][1:]:
            colour = "green" if row["significant"] else "default"
            console.print(f"  [{colour}]{row['verdict']}[/]", highlight=False)
    for warning in result["warnings"]:
        errors.print(f"[yellow]warning:[/] {warning}", highlight=False)


def _metric_table(metric: dict[str, Any], confidence: float) -> Table:
    title = f"{metric['key']} ({metric['kind']}, {metric['days']} days; {metric['method']})"
    if metric["primary"]:
        title = "★ " + title
    if metric["cuped"]:
        title += f" — CUPED variance −{metric['cuped']['variance_reduction']:.0%}"
    table = Table(
        "variant",
        "persons",
        "value",
        f"lift ({confidence:.0%} CI)",
        "p",
        "p (Holm)",
        "P(beat)",
        "loss",
        title=title,
    )
    for row in metric["variants"]:
        value = row.get("adjusted_value", row["value"])
        cells = [row["variant"], f"{row['persons']:,}", _value(metric, value)]
        if row["control"]:
            cells += ["control", "", "", "", ""]
        else:
            rel = row["relative"]
            lift = (
                f"{rel['lift']:+.1%} ({rel['low']:+.1%} .. {rel['high']:+.1%})"
                if rel["lift"] is not None
                else "—"
            )
            cells += [
                lift,
                _p(row["p_value"]),
                _p(row["p_value_holm"]),
                "—" if row["p_beat"] is None else f"{row['p_beat']:.1%}",
                _value(metric, row["expected_loss"]),
            ]
        table.add_row(*cells)
    return table


def _value(metric: dict[str, Any], value: float | None) -> str:
    if value is None:
        return "—"
    if metric["kind"] == "conversion":
        return f"{value:.2%}"
    if metric["source"] == "orders" and metric["aggregate"] == "sum":  # net revenue in fen
        return f"¥{value / 100:,.2f}" if abs(value) >= 1 else f"{value:.3g} fen"
    return f"{value:,.4g}"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _when(value: Any) -> str:
    return "—" if value is None else str(value)[:19].replace("T", " ")


def _read(source: str) -> Any:
    """The parsed YAML or JSON document of a file, or of standard input for ``-``."""
    import yaml

    try:
        if source == "-":
            text = sys.stdin.read()
        else:
            path = Path(source)
            if not path.is_file():
                fail(f"{source} is not a file (give a YAML or JSON file, or - for standard input)")
            text = path.read_text(encoding="utf-8")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        fail(f"{source} cannot be parsed: {exc}")
    except (UnicodeDecodeError, OSError) as exc:
        fail(f"{source}: {exc}")
