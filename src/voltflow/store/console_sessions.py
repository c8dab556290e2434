"""Console logins kept server-side: found by the hash of the cookie's token on every request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from voltflow.store.database import Database
from voltflow.store.tables import console_sessions, users


class ConsoleSessionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        user_id: int,
        token_hash: str,
        now: datetime,
        expires_at: datetime,
        *,
        user_agent: str | None,
        address: str | None,
    ) -> int:
        async with self.db.writing() as conn:
            # What expired of this person's is dropped here, by the person's index, so that the
            # table holds what can still be used plus at most one login's worth per person.
            await conn.execute(
                delete(console_sessions).where(
                    console_sessions.c.user_id == user_id, console_sessions.c.expires_at <= now
                )
            )
            result = await conn.execute(
                insert(console_sessions)
                .values(
                    user_id=user_id,
                    token_hash=token_hash,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                    user_agent=user_agent,
                    address=address,
                )
                .returning(console_sessions.c.id)
            )
            return int(result.scalar_one())

    async def live(self, token_hash: str, now: datetime) -> dict[str, Any] | None:
        """The session with this token (and its person's username), if it has not expired and
        its person is not disabled."""
        query = (
            select(console_sessions, users.c.username)
            .join(users, users.c.id == console_sessions.c.user_id)
            .where(
                console_sessions.c.token_hash == token_hash,
                console_sessions.c.expires_at > now,
                users.c.disabled_at.is_(None),
            )
        )
        async with self.db.reading() as conn:
            row = (await conn.execute(query)).first()
        return dict(row._mapping) if row else None

    async def seen(self, session_id: int, now: datetime) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                update(console_sessions)
                .where(console_sessions.c.id == session_id)
                .values(last_seen_at=now)
            )

    async def of_user(self, user_id: int, now: datetime) -> list[dict[str, Any]]:
        query = (
            select(console_sessions)
            .where(console_sessions.c.user_id == user_id, console_sessions.c.expires_at > now)
            .order_by(console_sessions.c.last_seen_at.desc(), console_sessions.c.id.desc())
        )
        async with self.db.reading() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    async def end(self, token_hash: str) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                delete(console_sessions).where(console_sessions.c.token_hash == token_hash)
            )

    async def end_all(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of the person's, except the one whose token hash is ``keep``."""
        condition = console_sessions.c.user_id == user_id
        if keep is not None:
            condition = condition & (console_sessions.c.token_hash != keep)
        async with self.db.writing() as conn:
            result = await conn.execute(delete(console_sessions).where(condition))
        return int(result.rowcount or 0)
