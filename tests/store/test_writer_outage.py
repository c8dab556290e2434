"""The group commit while the database cannot be reached: every waiting commit fails at once,
after one connection attempt a batch rather than one an item, and the writer works again as soon
as the database answers."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from voltflow.store.database import create_database
from voltflow.store.writer import DurableWriter


class RefusingDatabase:
    """A TCP port that takes each connection and closes it at once, as a database host does
    while its server is down or starting; it counts the attempts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.attempts = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.attempts += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def refusing() -> Iterator[RefusingDatabase]:
    server = RefusingDatabase()
    try:
        yield server
    finally:
        server.close()


async def test_an_unreachable_database_fails_the_batch_after_one_attempt(
    refusing: RefusingDatabase,
) -> None:
    db = create_database(f"postgresql://postgres@127.0.0.1:{refusing.port}/none")
    # A long interval: everything below is one batch after the first commit's.
    writer = DurableWriter(db, commit_interval=0.2)
    await writer.start()
    try:
        results = await asyncio.gather(
            *(writer.commit(()) for _ in range(200)), return_exceptions=True
        )
    finally:
        await writer.stop()
        await db.dispose()
    # Two batches; libpq may try a connection twice (with and without TLS). One attempt an
    # item would be 400 at least.
    assert writer.batches <= 3
    assert refusing.attempts <= 4 * writer.batches
    # As SQLAlchemy raises a database's errors, each exception its own: a single one raised in
    # 200 tasks would gather all their tracebacks.
    assert all(isinstance(r, OperationalError) for r in results), results[:3]
    assert len({id(r) for r in results}) == 200
