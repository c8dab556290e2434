"""People who log in. Passwords hashed with argon2, lockout after repeated failures; API keys
stored hashed, each with the scopes it may use. What a person may do comes from their roles in
organisations (see :mod:`voltflow.domain.access`)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import Actor, Permission
from voltflow.services.ports import Clock
from voltflow.store.organisations import MembershipRepository
from voltflow.store.repositories import UserRepository

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
USERNAME = re.compile(r"^[A-Za-z0-9._@+\-]{1,128}$")


# Login names are global. Whether one is taken is said the same way whoever took it, and without
# saying that someone did: an organisation's people are no one else's to learn of.
NAME_UNAVAILABLE = "username: this login name cannot be used, choose another"


class AccountError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    full_name: str | None = None
    email: str | None = None


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AccountService:
    def __init__(
        self, users: UserRepository, memberships: MembershipRepository, clock: Clock
    ) -> None:
        self.repo = users
        self.memberships = memberships
        self.clock = clock
        self.hasher = PasswordHasher()

    async def add_user(
        self,
        username: str,
        password: str,
        *,
        full_name: str | None = None,
        email: str | None = None,
    ) -> User:
        if not USERNAME.match(username):
            raise AccountError("username: 1–128 letters, digits or . _ @ + -", "username")
        if len(password) < 8:
            raise AccountError("password: at least 8 characters", "password")
        if email is not None and "@" not in email:
            raise AccountError("email: not an e-mail address", "email")
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        try:
            user_id = await self.repo.add(
                username,
                hashed,
                "member",
                self.clock.now(),
                full_name=full_name,
                email=email,
            )
        except IntegrityError as exc:
            raise AccountError(NAME_UNAVAILABLE, "username") from exc
        return User(user_id, username, full_name, email)

    async def find(self, username: str) -> User | None:
        row = await self.repo.by_username(username)
        return _user(row) if row else None

    async def get(self, user_id: int) -> User | None:
        row = await self.repo.by_id(user_id)
        return _user(row) if row else None

    async def authenticate(self, username: str, password: str) -> User | None:
        row = await self.repo.by_username(username)
        now = self.clock.now()
        if row is None:
            # The same work whether the user exists or not; in a thread, as argon2 is meant to be
            # slow and the event loop also serves every station.
            await asyncio.to_thread(self.hasher.hash, password)
            return None
        if row["locked_until"] is not None and row["locked_until"] > now:
            return None
        try:
            await asyncio.to_thread(self.hasher.verify, row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            failed = int(row["failed_logins"]) + 1
            locked = now + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
            await self.repo.update(
                row["id"], failed_logins=0 if locked else failed, locked_until=locked
            )
            return None
        if row["failed_logins"] or row["locked_until"]:
            await self.repo.update(row["id"], failed_logins=0, locked_until=None)
        return _user(row)

    async def actor(
        self, user_id: int, scopes: frozenset[Permission] | None = None
    ) -> Actor | None:
        row = await self.repo.by_id(user_id)
        if row is None:
            return None
        return Actor(
            int(row["id"]), row["username"], await self.memberships.of_user(int(row["id"])), scopes
        )

    async def create_api_key(
        self, username: str, label: str = "cli", scopes: frozenset[Permission] | None = None
    ) -> str:
        row = await self.repo.by_username(username)
        if row is None:
            raise AccountError(f"no user {username}", "username")
        key = "vf_" + secrets.token_urlsafe(32)
        text = " ".join(sorted(s.value for s in scopes)) if scopes is not None else None
        await self.repo.add_api_key(int(row["id"]), _key_hash(key), label, self.clock.now(), text)
        return key

    async def actor_for_api_key(self, key: str) -> Actor | None:
        found = await self.repo.by_api_key(_key_hash(key))
        if found is None:
            return None
        user, scopes = found
        parsed = frozenset(Permission(s) for s in scopes.split()) if scopes is not None else None
        return await self.actor(int(user["id"]), parsed)


def _user(row: dict[str, object]) -> User:
    return User(int(str(row["id"])), str(row["username"]), row.get("full_name"), row.get("email"))  # type: ignore[arg-type]
