"""People who log in, and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from voltflow.store.database import Database
from voltflow.store.tables import (
    api_keys,
    users,
)


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_username(self, username: str) -> dict[str, Any] | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        return dict(row._mapping) if row else None

    async def by_id(self, user_id: int) -> dict[str, Any] | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        return dict(row._mapping) if row else None

    async def add(
        self,
        username: str,
        password_hash: str,
        role: str,
        now: datetime,
        *,
        full_name: str | None = None,
        email: str | None = None,
    ) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(users)
                .values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    full_name=full_name,
                    email=email,
                    created_at=now,
                )
                .returning(users.c.id)
            )
            return int(result.scalar_one())

    async def update(self, user_id: int, **values: Any) -> None:
        async with self.db.writing() as conn:
            await conn.execute(update(users).where(users.c.id == user_id).values(**values))

    async def add_api_key(
        self, user_id: int, key_hash: str, label: str, now: datetime, scopes: str | None = None
    ) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(api_keys).values(
                    user_id=user_id, key_hash=key_hash, label=label, scopes=scopes, created_at=now
                )
            )

    async def by_api_key(self, key_hash: str) -> tuple[dict[str, Any], str | None] | None:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(users, api_keys.c.scopes)
                    .join(api_keys, api_keys.c.user_id == users.c.id)
                    .where(api_keys.c.key_hash == key_hash)
                )
            ).first()
        if row is None:
            return None
        data = dict(row._mapping)
        scopes = data.pop("scopes")
        return data, scopes
