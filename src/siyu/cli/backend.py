"""Where CLI commands run: in-process, or through the running `siyu serve`.

DuckDB lets one process write a database file. While `siyu serve` runs, it owns the file,
so commands go through its admin API; otherwise they open the warehouse themselves. The
operator never sees a lock error either way.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import quote

import httpx

from siyu.api.discovery import ServerInfo, read_server_info
from siyu.config import Settings
from siyu.exceptions import SiyuError
from siyu.ingest.status import warehouse_status
from siyu.jobs import job_function
from siyu.progress import Progress
from siyu.runtime import Runtime


class Backend(Protocol):
    """The operations CLI commands need, whichever process performs them."""

    where: str

    def status(self) -> dict[str, Any]: ...

    def list_sources(self, *, reveal: bool) -> list[dict[str, Any]]: ...

    def add_source(self, **fields: Any) -> dict[str, Any]: ...

    def disable_source(self, source_id: str, disabled: bool) -> dict[str, Any]: ...

    def run_job(
        self, kind: str, arguments: dict[str, Any], progress: Progress
    ) -> dict[str, Any]: ...

    def daily(self, engine: str, start: date | None, end: date | None) -> dict[str, Any]: ...

    def person(self, action: str, ref: str, *, reveal: bool) -> dict[str, Any]: ...

    def identity_conflicts(
        self, limit: int, *, reveal: bool, open_only: bool
    ) -> list[dict[str, Any]]: ...

    def identity_decide(self, kind: str, a: str, b: str | None) -> dict[str, Any]: ...

    def identity_export(self, fmt: str, *, reveal: bool) -> Iterator[str]: ...

    def segments(self, op: str, **args: Any) -> Any:
        """A tag or segment operation of `SEGMENT_OPS` (each one REST route)."""
        ...

    def segments_export(
        self, key: str, columns: list[str] | None, *, reveal: bool
    ) -> Iterator[str]: ...

    def analyse(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """An analysis or analytics operation of `siyu.analytics.service`."""
        ...

    def users(self, op: str, **args: Any) -> Any:
        """Console users: ``list``, ``add`` (username, role, password, display_name,
        language) or ``change`` (username and the fields to change)."""
        ...


#: Tag and segment operations: op -> "module:function" run in-process, with ``runtime``
#: first (and ``actor="cli"`` where the function records who acted).
SEGMENT_OPS: Final = {
    "list": "siyu.segments.service:list_all",
    "show": "siyu.segments.service:show",
    "save": "siyu.segments.service:save",
    "archive": "siyu.segments.service:archive",
    "estimate": "siyu.segments.service:estimate",
    "sets": "siyu.segments.service:sets",
    "overlap": "siyu.segments.service:overlap",
    "sync": "siyu.segments.actions:sync_segment",
    "tags": "siyu.segments.actions:list_tags",
    "tag": "siyu.segments.actions:tag_persons",
    "untag": "siyu.segments.actions:untag_persons",
    "import_tags": "siyu.segments.actions:import_tags",
}
_ACTOR_OPS: Final = ("save", "tag", "untag", "import_tags")


class LocalBackend:
    """Runs commands in this process over the warehouse file."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.where = f"local ({runtime.settings.home})"

    def status(self) -> dict[str, Any]:
        result = warehouse_status(self.runtime.warehouse)
        result["collector"] = {"running": False}
        return result

    def list_sources(self, *, reveal: bool) -> list[dict[str, Any]]:
        return [s.public(reveal_key=reveal) for s in self.runtime.sources.list()]

    def add_source(self, **fields: Any) -> dict[str, Any]:
        source_id = fields.pop("source_id")
        return self.runtime.sources.add(source_id, **fields).public(reveal_key=True)

    def disable_source(self, source_id: str, disabled: bool) -> dict[str, Any]:
        return self.runtime.sources.set_disabled(source_id, disabled).public()

    def run_job(self, kind: str, arguments: dict[str, Any], progress: Progress) -> dict[str, Any]:
        return job_function(kind)(self.runtime, arguments, progress)

    def daily(self, engine: str, start: date | None, end: date | None) -> dict[str, Any]:
        from siyu.pipeline.runner import run_daily  # deferred: Ibis is slow to import

        return run_daily(self.runtime, engine=engine, start=start, end=end)

    def person(self, action: str, ref: str, *, reveal: bool) -> dict[str, Any]:
        from siyu.identity import service

        return service.person_action(self.runtime, action, ref, reveal=reveal)

    def identity_conflicts(
        self, limit: int, *, reveal: bool, open_only: bool
    ) -> list[dict[str, Any]]:
        from siyu.identity import service

        return service.conflicts(self.runtime, limit=limit, reveal=reveal, open_only=open_only)

    def identity_decide(self, kind: str, a: str, b: str | None) -> dict[str, Any]:
        from siyu.identity import service

        return service.decide(self.runtime, kind, a, b)

    def identity_export(self, fmt: str, *, reveal: bool) -> Iterator[str]:
        from siyu.identity import graph, persons

        graph.apply_new(self.runtime.warehouse, self.runtime.rules)
        yield from persons.export_map(self.runtime.warehouse, fmt, reveal=reveal)

    def segments(self, op: str, **args: Any) -> Any:
        if op not in SEGMENT_OPS:
            raise SiyuError(f"unknown segments operation {op!r}")
        module, _, name = SEGMENT_OPS[op].partition(":")
        fn = getattr(importlib.import_module(module), name)
        if op in _ACTOR_OPS:
            args["actor"] = "cli"
        return fn(self.runtime, **args)

    def segments_export(
        self, key: str, columns: list[str] | None, *, reveal: bool
    ) -> Iterator[str]:
        from siyu.segments.export import export_segment

        return export_segment(self.runtime, key, columns=columns, reveal=reveal, actor="cli")

    def analyse(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        from siyu.analytics import service
        from siyu.identity import graph

        # No resolver thread runs here: attribute events received since the last run.
        graph.apply_new(self.runtime.warehouse, self.runtime.rules)
        return service.run(self.runtime, name, body, actor="cli")

    def users(self, op: str, **args: Any) -> Any:
        from siyu.accounts import service

        warehouse = self.runtime.warehouse
        if op == "list":
            return service.list_users(warehouse)
        if op == "add":
            username = args.pop("username")
            user, password = service.add_user(warehouse, username, by="cli", **args)
            return {**user, "password": password if args.get("password") is None else None}
        if op == "change":
            return service.change_user(warehouse, args.pop("username"), **args)
        raise SiyuError(f"unknown users operation {op!r}")


class RemoteError(SiyuError):
    """The running server refused or failed a request."""


class RemoteBackend:
    """Sends commands to the running `siyu serve` over its admin API."""

    def __init__(self, info: ServerInfo) -> None:
        self.info = info
        self.where = f"server {info.url} (pid {info.pid})"
        self._http = httpx.Client(
            base_url=f"{info.url}/admin/v1",
            headers={"Authorization": f"Bearer {info.admin_token}"},
            timeout=60,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach the siyu server at {self.info.url}: {exc}") from None
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            raise RemoteError(f"the server refused: {detail}")
        return answer.json()

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/status")
        return result

    def list_sources(self, *, reveal: bool) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "GET", "/sources", params={"reveal": str(reveal).lower()}
        )
        return result

    def add_source(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/sources", json=fields)
        return result

    def disable_source(self, source_id: str, disabled: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"/sources/{source_id}/disable", params={"disabled": str(disabled).lower()}
        )
        return result

    def run_job(self, kind: str, arguments: dict[str, Any], progress: Progress) -> dict[str, Any]:
        job = self._call("POST", "/jobs", json={"kind": kind, "arguments": arguments})
        while job["state"] in ("queued", "running"):
            time.sleep(0.25)
            job = self._call("GET", f"/jobs/{job['job_id']}")
            progress(job["label"] or kind, job["done"], job["total"])
        if job["state"] == "failed":
            raise RemoteError(job["error"] or f"the {kind} job failed")
        result: dict[str, Any] = job["result"]
        return result

    def daily(self, engine: str, start: date | None, end: date | None) -> dict[str, Any]:
        params = {"engine": engine, "start": start, "end": end}
        result: dict[str, Any] = self._call(
            "GET",
            "/pipeline/daily",
            params={k: str(v) for k, v in params.items() if v is not None},
            timeout=600,
        )
        return result

    def person(self, action: str, ref: str, *, reveal: bool) -> dict[str, Any]:
        method = {"show": "GET", "export": "GET", "delete": "DELETE"}.get(action, "GET")
        path = f"/persons/{quote(ref, safe='')}" + ("/export" if action == "export" else "")
        result: dict[str, Any] = self._call(
            method, path, params={"reveal": str(reveal).lower()}, timeout=600
        )
        return result

    def identity_conflicts(
        self, limit: int, *, reveal: bool, open_only: bool
    ) -> list[dict[str, Any]]:
        params = {"limit": limit, "reveal": str(reveal).lower(), "open": str(open_only).lower()}
        result: list[dict[str, Any]] = self._call("GET", "/identity/conflicts", params=params)
        return result

    def identity_decide(self, kind: str, a: str, b: str | None) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", "/identity/decisions", json={"kind": kind, "a": a, "b": b}, timeout=600
        )
        return result

    def identity_export(self, fmt: str, *, reveal: bool) -> Iterator[str]:
        params = {"format": fmt, "reveal": str(reveal).lower()}
        try:
            with self._http.stream("GET", "/identity/export", params=params, timeout=600) as r:
                if r.status_code >= 400:
                    r.read()
                    raise RemoteError(f"the server refused: {r.text}")
                for line in r.iter_lines():
                    yield line + "\n"
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach the siyu server at {self.info.url}: {exc}") from None

    def segments(self, op: str, **args: Any) -> Any:
        key = quote(str(args.get("key", "")), safe=":")
        tag = quote(str(args.get("tag", "")), safe="")
        long = {"timeout": 600}
        if op == "list":
            params = {"archived": str(args.get("include_archived", False)).lower()}
            return self._call("GET", "/segments", params=params)
        if op == "show":
            return self._call("GET", f"/segments/{key}")
        if op == "save":
            return self._call("POST", "/segments", json={"definition": args["data"]}, **long)
        if op == "archive":
            return self._call("DELETE", f"/segments/{key}")
        if op == "estimate":
            today = args.get("today")
            body = {"definition": args["data"], "today": today.isoformat() if today else None}
            return self._call("POST", "/segments/estimate", json=body, **long)
        if op == "sets":
            return self._call("GET", "/sets")
        if op == "overlap":
            return self._call("GET", "/sets/overlap", params={"keys": ",".join(args["keys"])})
        if op == "sync":
            params = {"target": args["target"]}
            if args.get("tag_name"):
                params["tag_name"] = args["tag_name"]
            return self._call("POST", f"/segments/{key}/sync", params=params, **long)
        if op == "tags":
            return self._call("GET", "/tags")
        if op in ("tag", "untag"):
            method = "POST" if op == "tag" else "DELETE"
            return self._call(method, f"/tags/{tag}/persons", json={"refs": args["refs"]}, **long)
        if op == "import_tags":
            path = Path(args["path"])
            form = {"tag": args["tag"]} if args.get("tag") else {}
            try:
                with path.open("rb") as fh:
                    files = {"file": (path.name, fh, "text/csv")}
                    return self._call("POST", "/tags/import", files=files, data=form, **long)
            except OSError as exc:
                raise RemoteError(f"cannot read {path}: {exc.strerror or exc}") from None
        raise SiyuError(f"unknown segments operation {op!r}")

    def segments_export(
        self, key: str, columns: list[str] | None, *, reveal: bool
    ) -> Iterator[str]:
        params = {"reveal": str(reveal).lower()}
        if columns:
            params["columns"] = ",".join(columns)
        path = f"/segments/{quote(key, safe=':')}/export"
        try:
            with self._http.stream("GET", path, params=params, timeout=600) as r:
                if r.status_code >= 400:
                    r.read()
                    try:
                        detail = r.json().get("detail", r.text)
                    except ValueError:
                        detail = r.text
                    raise RemoteError(f"the server refused: {detail}")
                yield from r.iter_text()
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach the siyu server at {self.info.url}: {exc}") from None

    def analyse(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"/analytics/{quote(name, safe='.')}", json=body, timeout=600
        )
        return result

    def users(self, op: str, **args: Any) -> Any:
        if op == "list":
            return self._call("GET", "/users")
        if op == "add":
            return self._call("POST", "/users", json=args)
        if op == "change":
            name = quote(args.pop("username"), safe="")
            return self._call("PATCH", f"/users/{name}", json=args)
        raise SiyuError(f"unknown users operation {op!r}")


@contextmanager
def open_backend(settings: Settings) -> Iterator[Backend]:
    """The running server if there is one, else the warehouse opened in this process."""
    info = read_server_info(settings)
    if info is not None:
        yield RemoteBackend(info)
        return
    runtime = Runtime.open(settings)
    try:
        yield LocalBackend(runtime)
    finally:
        runtime.warehouse.close()
