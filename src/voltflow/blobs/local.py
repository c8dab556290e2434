"""Files in a folder of this machine: one file per key, written whole or not at all."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from voltflow.services.ports import BlobMissing

# Keys are the platform's own (``jobs/12/3f2a…``): anything else is refused before it names a
# path.
KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_\-.]*)*$")


def checked_key(key: str) -> str:
    if not KEY.match(key) or ".." in key or len(key) > 200:
        raise ValueError(f"not a blob key: {key!r}")
    return key


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, flushed to disk, then renamed over: a reader never sees half a file,
        # and a power cut leaves the whole file or none.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
