"""数据接入 Data sources: write keys, collector status, events per minute, the quarantine
with rejection reasons, and import history."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from siyu.console import context
from siyu.console.charts import bars
from siyu.console.frame import Page, console_page
from siyu.ingest.status import warehouse_status


def load(reveal: bool) -> dict[str, Any]:
    runtime = context.runtime()
    status = warehouse_status(runtime.warehouse)
    status["sources"] = [s.public(reveal_key=reveal) for s in runtime.sources.list()]
    stats = runtime.collector.stats
    status["collector"] = {
        "received": stats.received,
        "inserted": stats.inserted,
        "duplicates": stats.duplicates,
        "quarantined": stats.quarantined,
        "per_minute": list(stats.per_minute),
    }
    status["identity"]["resolver"] = runtime.resolver.report(runtime.resolves_identities)
    return status


@console_page("/sources", title="sources")
async def sources(page: Page) -> None:
    t, f = page.texts, page.formats
    status = await run.io_bound(load, page.who.reveals_pii)
    if status is None:  # the server is shutting down
        return
    events = status["events"]
    with ui.grid(columns=4).classes("w-full gap-4"):
        for key, value in (
            ("events_total", f.number(events["total"])),
            ("persons_total", f.number(status["identity"]["persons"])),
            ("orders_total", f.number(status["orders"]["total"])),
            ("last_received", str(events["last_received_at"] or "—")[:19]),
        ):
            with ui.card().classes("p-4").mark(f"source-{key}"):
                ui.label(t(key)).classes("text-slate-500 text-sm")
                ui.label(value).classes("text-xl font-semibold")
    _resolver_card(page, status["identity"])
    with ui.card().classes("w-full p-4").mark("write-keys"):
        ui.label(t("write_keys")).classes("font-semibold")
        columns = [
            {"name": k, "label": k, "field": k, "align": "left"}
            for k in ("source_id", "name", "carrier", "app_id", "write_key", "disabled")
        ]
        ui.table(columns=columns, rows=status["sources"], row_key="source_id").classes("w-full")
    with ui.grid(columns=2).classes("w-full gap-4"):
        with ui.card().classes("w-full p-4").mark("collector"):
            ui.label(t("collector")).classes("font-semibold")
            collector = status["collector"]
            ui.label(
                " · ".join(
                    f"{k} {f.number(collector[k])}"
                    for k in ("received", "inserted", "duplicates", "quarantined")
                )
            ).classes("text-sm text-slate-500")
            minutes = collector["per_minute"][-60:]
            ui.echart(
                bars(
                    [str(m) for m, _ in minutes], {t("events_per_minute"): [n for _, n in minutes]}
                )
            ).classes("w-full h-56")
        with ui.card().classes("w-full p-4").mark("by-carrier"):
            ui.label(t("by_carrier")).classes("font-semibold")
            by_carrier = events["by_carrier"]
            ui.echart(
                bars(
                    list(by_carrier),
                    {t("events_total"): list(by_carrier.values())},
                    horizontal=True,
                )
            ).classes("w-full h-56")
    with ui.card().classes("w-full p-4").mark("quarantine"):
        quarantine = status["quarantine"]
        ui.label(f"{t('quarantine')} · {f.number(quarantine['total'])}").classes("font-semibold")
        columns = [
            {
                "name": k,
                "label": t(k) if k != "protocol" else "protocol",
                "field": k,
                "align": "left",
            }
            for k in ("protocol", "reason", "count")
        ]
        ui.table(columns=columns, rows=quarantine["top_reasons"]).classes("w-full")
    with ui.card().classes("w-full p-4").mark("imports"):
        ui.label(t("imports")).classes("font-semibold")
        rows = status.get("recent_imports") or []
        columns = [
            {"name": k, "label": k, "field": k, "align": "left"} for k in (rows[0] if rows else {})
        ]
        ui.table(columns=columns, rows=rows).classes("w-full")


def _resolver_card(page: Page, identity: dict[str, Any]) -> None:
    """Whether new records become persons, how soon, and what to fix when they do not."""
    t, f = page.texts, page.formats
    resolver = identity["resolver"]
    state = resolver["state"]
    if state == "ready":
        text = t(
            "resolver_ready",
            wait=f"{resolver['next_apply_in_s']:g}",
            pending=f.number(identity["pending_records"]),
        )
    elif state == "failing":
        text = t("resolver_failing", error=resolver["last_error"])
    else:
        text = t(f"resolver_{state}")
    colour = "text-red-600" if state == "failing" else "text-slate-500"
    with ui.card().classes("w-full p-4").mark("identity-resolution"):
        ui.label(t("identity_resolution")).classes("font-semibold")
        ui.label(text).classes(f"text-sm {colour}").mark(f"resolver-{state}")
        if state == "ready" and resolver.get("waiting_for_budget"):
            ui.label(t("resolver_budget", max_wait=f"{resolver['max_wait_s']:g}")).classes(
                "text-xs text-slate-400"
            ).mark("resolver-budget")
