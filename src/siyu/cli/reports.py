"""Human-readable renderings of the demo and daily-pipeline summaries."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from siyu.cli.output import console

_CARRIERS = {
    "mp": "小程序 mini-program",
    "app": "App",
    "oa": "公众号 official account",
    "wecom": "企业微信 WeCom",
    "web": "Web",
    "server": "server",
    "import": "import",
}
_BARS = "▁▂▃▄▅▆▇█"


def print_demo(summary: dict[str, Any]) -> None:
    table = Table(title="demo loaded (演示数据)", show_header=False)
    table.add_row("persons", f"{summary['persons']:,}")
    table.add_row("period", f"{summary['start']} + {summary['days']} days (seed {summary['seed']})")
    table.add_row("events", f"{summary['events']:,} ({summary['events_inserted']:,} new this run)")
    for carrier, count in summary["events_by_carrier"].items():
        table.add_row(f"  {_CARRIERS.get(carrier, carrier)}", f"{count:,}")
    table.add_row("orders", f"{summary['orders']:,}, GMV ¥{summary['gmv_yuan']:,.2f}")
    table.add_row("deepest referral chain", str(summary["max_invite_depth"]))
    identity = summary.get("identity")
    if identity:
        table.add_row(
            "persons resolved (ID-Mapping)",
            f"{identity['persons']:,} from {identity['identities']:,} ids, "
            f"{identity['conflicts']:,} conflicts to review",
        )
    segments = summary.get("segments")
    if segments:
        sizes = segments["segments"]
        table.add_row(
            "segments computed (分群)",
            f"{len(sizes)} in {segments['seconds']:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in list(sizes.items())[:4])
            + (", …" if len(sizes) > 4 else ""),
        )
    table.add_row("time", f"{summary['seconds']:.1f} s")
    console.print(table)


def print_daily(summary: dict[str, Any]) -> None:
    days = summary["days"]
    if not days:
        console.print("no events yet — send some (docs/sdks.md) or run `siyu demo`")
        return
    console.print(
        f"[bold]daily pipeline (每日概览)[/] {summary['start']} … {summary['end']} "
        f"({summary['timezone']}, engine {summary.get('engine', 'duckdb')})"
    )
    actors = [d["actors_total"] for d in days]
    gmv = [d["gmv_fen"] for d in days]
    console.print(
        f"active actors per day  {_spark(actors)}  last {actors[-1]:,}, peak {max(actors):,}"
    )
    console.print(f"GMV per day            {_spark(gmv)}  total ¥{sum(gmv) / 100:,.2f}")

    retention = Table("carrier 载体", "new 新增", "back next day 次日回访", "rate 次日留存")
    for carrier, row in sorted(summary["retention"].items(), key=lambda item: -item[1]["new"]):
        rate = row["rate"]
        retention.add_row(
            _CARRIERS.get(carrier, carrier),
            f"{row['new']:,}",
            f"{row['retained']:,}",
            "—" if rate is None else f"{rate:.1%}",
        )
    console.print(retention)

    funnel = Table("step 步骤", "actors 人数", "of previous 转化", "drop-off 流失", "")
    first = summary["funnel"][0]["actors"] if summary["funnel"] else 0
    for index, step in enumerate(summary["funnel"]):
        share = step["actors"] / first if first else 0
        previous = step["from_previous"] if index else None
        funnel.add_row(
            step["step"],
            f"{step['actors']:,}",
            "—" if previous is None else f"{previous:.1%}",
            "—" if previous is None else f"{1 - previous:.1%}",
            "█" * round(share * 30),
        )
    console.print(funnel)
    totals = summary["totals"]
    console.print(
        f"orders {totals['orders']:,}, GMV ¥{totals['gmv_fen'] / 100:,.2f}, "
        f"refunds ¥{totals['refund_fen'] / 100:,.2f}, new actors {totals['new_actors']:,}"
    )


def _spark(values: list[int]) -> str:
    """A one-line bar chart of ``values`` (the last 30)."""
    values = values[-30:]
    top = max(values) or 1
    return "".join(_BARS[min(len(_BARS) - 1, v * len(_BARS) // (top + 1))] for v in values)
