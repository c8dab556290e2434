"""Exports written in the background, for lists too long to wait for at a click: the file goes
to a temporary file while the page polls its progress, then downloads.

The registry lives in the process that serves the page (a dictionary keyed by a random id): the
progress and the file are found only by requests that reach the same process, and a restart
loses them. A job belongs to the person who started it; nobody else finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# A finished job's file is kept this long for its download, then deleted.
KEEP_SECONDS = 3600
# Jobs a person may have running at once: each holds a database cursor and a thread.
RUNNING_PER_OWNER = 2


class TooManyExports(Exception):
    pass


@dataclass
class ExportJob:
    id: str
    owner: int
    filename: str
    media_type: str
    total: int
    rows: int = 0
    state: str = "running"  # running | done | failed
    path: str | None = None
    finished_at: float | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, self.rows * 100 // self.total) if self.total else 0


class ExportJobs:
    def __init__(self) -> None:
        self._jobs: dict[str, ExportJob] = {}

    def start(
        self,
        owner: int,
        *,
        filename: str,
        media_type: str,
        total: int,
        rows: AsyncIterable[Any],
        write: Callable[[AsyncIterable[Any]], AsyncIterator[bytes]],
    ) -> ExportJob:
        """A job writing ``write(rows)`` to a temporary file, counting the rows as they are
        read. ``write`` is a writer with its columns given (``aiter_csv`` of a spec)."""
        self._forget_old()
        running = [j for j in self._jobs.values() if j.owner == owner and j.state == "running"]
        if len(running) >= RUNNING_PER_OWNER:
            raise TooManyExports(owner)
        job = ExportJob(secrets.token_urlsafe(16), owner, filename, media_type, total)

        async def counted() -> AsyncIterator[Any]:
            async for row in rows:
                job.rows += 1
                yield row

        job.task = asyncio.create_task(self._run(job, write(counted())))
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str, owner: int) -> ExportJob | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    async def _run(self, job: ExportJob, chunks: AsyncIterator[bytes]) -> None:
        fd, path = tempfile.mkstemp(prefix="voltflow-export-")
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
            job.path = path
            job.state = "done"
        except Exception:
            log.exception("export %s failed", job.id)
            job.state = "failed"
        finally:
            job.finished_at = time.monotonic()
            if job.path is None:  # failed or cancelled: nothing to download
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job in list(self._jobs.values()):
            if job.finished_at is not None and now - job.finished_at > KEEP_SECONDS:
                del self._jobs[job.id]
                if job.path:
                    with contextlib.suppress(OSError):
                        os.unlink(job.path)

    async def close(self) -> None:
        """Cancels the running jobs and deletes every file."""
        for job in self._jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job.task
            if job.path:
                with contextlib.suppress(OSError):
                    os.unlink(job.path)
        self._jobs.clear()
