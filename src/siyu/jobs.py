"""Long-running work (imports, demo generation) run inside the process that owns the data.

While `siyu serve` runs it owns the DuckDB file, so the CLI asks it to run the job and
polls its progress; without a server the CLI runs the same function in-process. One job
writes at a time.
"""

from __future__ import annotations

import importlib
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from siyu.exceptions import SiyuError
from siyu.progress import Progress
from siyu.runtime import Runtime

JobFunction = Callable[[Runtime, dict[str, Any], Progress], dict[str, Any]]

#: Job kind -> "module:function" taking (runtime, arguments, progress) -> JSON-ready result.
JOB_KINDS: Final = {
    "import": "siyu.ingest.importers:run_import_job",
    "demo": "siyu.demo.load:run_demo_job",
    "identity-rebuild": "siyu.identity.service:run_rebuild_job",
    "segments-compute": "siyu.segments.service:run_compute_job",
}


class JobError(SiyuError):
    """A job could not be started (unknown kind, another job running)."""


def job_function(kind: str) -> JobFunction:
    if kind not in JOB_KINDS:
        raise JobError(f"unknown job kind {kind!r}; known: {', '.join(JOB_KINDS)}")
    module, _, name = JOB_KINDS[kind].partition(":")
    fn: JobFunction = getattr(importlib.import_module(module), name)
    return fn


@dataclass
class Job:
    job_id: str
    kind: str
    arguments: dict[str, Any]
    state: str = "queued"
    label: str = ""
    done: int = 0
    total: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, label: str, done: int, total: int | None = None) -> None:
        with self._lock:
            self.label, self.done, self.total = label, done, total

    def public(self) -> dict[str, Any]:
        with self._lock:
            return {
                "job_id": self.job_id,
                "kind": self.kind,
                "state": self.state,
                "label": self.label,
                "done": self.done,
                "total": self.total,
                "result": self.result,
                "error": self.error,
            }


class JobRunner:
    """Runs jobs one at a time on a background thread, keeping their state for polling."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._jobs: dict[str, Job] = {}
        self._busy = threading.Lock()

    def start(self, kind: str, arguments: dict[str, Any]) -> Job:
        fn = job_function(kind)
        if not self._busy.acquire(blocking=False):
            running = [j.kind for j in self._jobs.values() if j.state in ("queued", "running")]
            raise JobError(
                f"another job ({', '.join(running) or 'starting'}) is running; "
                "wait for it to finish (siyu status shows it)"
            )
        job = Job(uuid.uuid4().hex[:12], kind, arguments)
        self._jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job, fn), daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def _run(self, job: Job, fn: JobFunction) -> None:
        job.state = "running"
        try:
            job.result = fn(self._runtime, job.arguments, job.progress)
            job.state = "done"
        except SiyuError as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:
            job.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            job.state = "failed"
        finally:
            self._busy.release()
