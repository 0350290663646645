"""`siyu` commands: init, serve, status, sources, import, demo."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu import __version__
from siyu.cli.analytics import register_all as register_analytics
from siyu.cli.backend import Backend, open_backend
from siyu.cli.identity import identity_app, persons_app
from siyu.cli.output import console, fail, print_json, progress_bar
from siyu.cli.reports import print_daily, print_demo
from siyu.cli.segments import segments_app, tags_app
from siyu.cli.users import ensure_first_admin, show_password, users_app
from siyu.config import Settings
from siyu.exceptions import SiyuError
from siyu.ingest.model import CARRIERS

app = typer.Typer(
    name="siyu",
    help="siyu (私域): private-domain user operations for the WeChat ecosystem.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(help="Sources and their write keys (数据源).", no_args_is_help=True)
pipeline_app = typer.Typer(help="Scheduled computations (管道).", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(persons_app, name="persons")
app.add_typer(identity_app, name="identity")
app.add_typer(segments_app, name="segments")
app.add_typer(tags_app, name="tags")
app.add_typer(users_app, name="users")
register_analytics(app)

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


def settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        fail(f"bad SIYU_ settings: {exc}")
        raise AssertionError from exc


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            fail(f"--map takes SOURCE=CANONICAL, e.g. --map 手机号=phone; got {pair!r}")
        mapping[src.strip()] = dst.strip()
    return mapping


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command()
def init(json_out: JsonFlag = False) -> None:
    """Create the data directory and its database (SIYU_HOME, default ./.siyu)."""
    config = settings()
    with open_backend(config) as backend:
        status = backend.status()
        admin = ensure_first_admin(backend)
    if json_out:
        print_json(
            {
                "home": str(config.home.resolve()),
                "schema_version": status["schema_version"],
                "first_admin": admin,
            }
        )
    else:
        console.print(
            f"siyu data directory ready at [bold]{config.home.resolve()}[/] "
            f"(schema v{status['schema_version']}). Next: `siyu sources add` or `siyu demo`."
        )
        if admin:
            console.print("First console user created:")
            show_password(admin["username"], admin["password"])


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Serve the collector (Segment, Sensors, PostHog) and admin API on 127.0.0.1."""
    from siyu.api.discovery import read_server_info
    from siyu.api.serve import serve as run_server

    config = settings()
    running = read_server_info(config)
    if running is not None:
        fail(f"siyu is already serving {config.home} at {running.url} (pid {running.pid})")
    url = f"http://{host or config.host}:{config.port if port is None else port}"
    console.print(f"siyu {__version__} serving [bold]{url}[/] — data in {config.home.resolve()}")
    console.print("Collector: /v1/batch (Segment), /sa (Sensors), /batch (PostHog). Ctrl-C stops.")
    try:
        run_server(config, host=host, port=port)
    except SiyuError as exc:
        fail(str(exc))


@app.command()
def status(json_out: JsonFlag = False) -> None:
    """Row counts, the latest event, and quarantine reasons."""
    with _backend() as backend:
        data = backend.status()
        where = backend.where
    if json_out:
        print_json(data)
        return
    events = data["events"]
    table = Table(title=f"siyu status — {where}", show_header=False)
    table.add_row("events", f"{events['total']:,}")
    table.add_row("  by carrier", _pairs(events["by_carrier"]))
    table.add_row("  by protocol", _pairs(events["by_protocol"]))
    table.add_row(
        "  first / last event", f"{events['first_event_time']} / {events['last_event_time']}"
    )
    table.add_row("  last received", str(events["last_received_at"]))
    table.add_row(
        "orders",
        f"{data['orders']['total']:,} (net ¥{data['orders']['net_revenue_fen'] / 100:,.2f})",
    )
    identity = data["identity"]
    table.add_row(
        "persons 用户 (ID-Mapping)",
        f"{identity['persons']:,} from {identity['identities']:,} ids, "
        f"{identity['open_conflicts']:,} open conflicts, "
        f"{identity['pending_records']:,} records waiting",
    )
    table.add_row(
        "sources / items / channels", f"{data['sources']} / {data['items']} / {data['channels']}"
    )
    table.add_row("quarantine", f"{data['quarantine']['total']:,}")
    for reason in data["quarantine"]["top_reasons"]:
        table.add_row("", f"{reason['count']:,} × [{reason['protocol']}] {reason['reason']}")
    collector = data.get("collector", {})
    if collector.get("running"):
        table.add_row("collector", f"running, {collector['inserted']:,} stored since start")
    else:
        table.add_row("collector", "not running (`siyu serve` starts it)")
    console.print(table)


@sources_app.command("add")
def sources_add(
    source_id: Annotated[str, typer.Argument(help="short id, e.g. miniprogram")],
    carrier: Annotated[str, typer.Option(help=f"one of {', '.join(sorted(CARRIERS))}")] = "web",
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    app_id: Annotated[str | None, typer.Option("--app-id", help="WeChat appid")] = None,
    project: Annotated[str | None, typer.Option(help="Sensors project name")] = None,
    wechat_token: Annotated[
        str | None, typer.Option("--wechat-token", help="official-account callback Token")
    ] = None,
    wechat_aes_key: Annotated[
        str | None, typer.Option("--wechat-aes-key", help="EncodingAESKey (safe mode)")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Create a source and print its write key (and its WeChat callback URL)."""
    with _backend() as backend:
        source = backend.add_source(
            source_id=source_id,
            carrier=carrier,
            name=name,
            app_id=app_id,
            project=project,
            wechat_token=wechat_token,
            wechat_aes_key=wechat_aes_key,
        )
    if json_out:
        print_json(source)
    else:
        console.print(f"source [bold]{source['source_id']}[/] created; write key:")
        console.print(source["write_key"], soft_wrap=True, highlight=False)
        if source.get("wechat_token"):
            console.print(
                f"WeChat server URL (服务器地址): https://<your host>/wechat/{source['source_id']}"
            )


@sources_app.command("list")
def sources_list(
    reveal: Annotated[bool, typer.Option(help="show full write keys")] = False,
    json_out: JsonFlag = False,
) -> None:
    """List sources (write keys masked unless --reveal)."""
    with _backend() as backend:
        sources = backend.list_sources(reveal=reveal)
    if json_out:
        print_json(sources)
        return
    table = Table("source", "name", "carrier", "app id", "project", "write key", "enabled")
    for s in sources:
        table.add_row(
            s["source_id"],
            s["name"],
            s["carrier"],
            s["app_id"] or "",
            s["project"] or "",
            s["write_key"],
            "no" if s["disabled"] else "yes",
        )
    console.print(table)


@sources_app.command("disable")
def sources_disable(
    source_id: str,
    enable: Annotated[bool, typer.Option("--enable", help="re-enable instead")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Disable a source: its write key stops working."""
    with _backend() as backend:
        source = backend.disable_source(source_id, not enable)
    if json_out:
        print_json(source)
    else:
        console.print(f"source {source_id} {'enabled' if enable else 'disabled'}")


@app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(help="events, users or orders")],
    path: Annotated[Path, typer.Argument(help="a .csv, .jsonl or .parquet file")],
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="rename a column: SOURCE=CANONICAL")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Import events, users or orders; re-importing the same rows stores nothing twice."""
    if kind not in ("events", "users", "orders"):
        fail(f"import what? {kind!r} is not one of events, users, orders")
    if not path.is_file():
        fail(f"{path} is not a file")
    arguments: dict[str, Any] = {
        "kind": kind,
        "path": str(path.resolve()),
        "mapping": _parse_mapping(mapping or []),
        "format": fmt,
    }
    with _backend() as backend, progress_bar(not json_out) as progress:
        summary = backend.run_job("import", arguments, progress)
    if json_out:
        print_json(summary)
        return
    console.print(
        f"imported {summary['kind']} from {summary['path']}: "
        f"[green]{summary['rows_accepted']:,} accepted[/], "
        f"{summary['rows_duplicate']:,} already present, "
        f"[red]{summary['rows_rejected']:,} rejected[/] of {summary['rows_total']:,} rows "
        f"in {summary['seconds']:.1f} s"
    )
    for reason, count in (summary.get("rejections_by_reason") or {}).items():
        console.print(f"  {count:,} × {reason}")


@pipeline_app.command("daily")
def pipeline_daily(
    engine: Annotated[str, typer.Option(help="duckdb (embedded) or spark (local mode)")] = "duckdb",
    start: Annotated[str | None, typer.Option(help="first local day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="last local day, YYYY-MM-DD")] = None,
    json_out: JsonFlag = False,
) -> None:
    """The daily pipeline: actors, newcomers, next-day retention, orders, funnel."""
    first, last = _date_option(start, "--start"), _date_option(end, "--end")
    with _backend() as backend:
        summary = backend.daily(engine, first, last)
    if json_out:
        print_json(summary)
    else:
        print_daily(summary)


@app.command()
def demo(
    users: Annotated[int, typer.Option(min=10, max=5_000_000, help="persons to simulate")] = 50_000,
    days: Annotated[int, typer.Option(min=1, max=3650, help="days of history")] = 90,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 7,
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD")] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="delete the existing data directory's data first")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Generate and load the book-shop demo (公众号, 小程序, 企业微信, app, orders, 裂变)."""
    first = _date_option(start, "--start")
    if fresh:
        _wipe_data(settings())
    arguments: dict[str, Any] = {"users": users, "days": days, "seed": seed}
    if first:
        arguments["start"] = first.isoformat()
    with _backend() as backend, progress_bar(not json_out) as progress:
        summary = backend.run_job("demo", arguments, progress)
        admin = ensure_first_admin(backend)
    if json_out:
        print_json({**summary, "first_admin": admin})
    else:
        print_demo(summary)
        if admin:
            console.print("Console user for the demo:")
            show_password(admin["username"], admin["password"])


@contextmanager
def _backend() -> Iterator[Backend]:
    """`open_backend` with siyu errors turned into clean CLI errors."""
    try:
        with open_backend(settings()) as backend:
            yield backend
    except SiyuError as exc:
        fail(str(exc))


def _date_option(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-01")
        raise


def _wipe_data(config: Settings) -> None:
    """Remove the warehouse and snapshots of ``config.home`` (for `siyu demo --fresh`)."""
    from siyu.api.discovery import read_server_info

    running = read_server_info(config)
    if running is not None:
        fail(f"`siyu serve` (pid {running.pid}) is using {config.home}; stop it before --fresh")
    for name in ("siyu.duckdb", "siyu.duckdb.wal"):
        (config.home / name).unlink(missing_ok=True)
    shutil.rmtree(config.lake_path, ignore_errors=True)


def _pairs(mapping: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in mapping.items()) or "—"


def main() -> None:
    app()
