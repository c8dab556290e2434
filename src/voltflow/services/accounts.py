"""People who log in: operators for now. Passwords hashed with argon2; API keys stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from voltflow.services.ports import Clock
from voltflow.store.repositories import UserRepository

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
ROLES = ("operator",)


class AccountError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AccountService:
    def __init__(self, users: UserRepository, clock: Clock) -> None:
        self.repo = users
        self.clock = clock
        self.hasher = PasswordHasher()

    async def add_user(self, username: str, password: str, role: str = "operator") -> User:
        if not username or len(username) > 128:
            raise AccountError("username: 1–128 characters", "username")
        if len(password) < 8:
            raise AccountError("password: at least 8 characters", "password")
        if role not in ROLES:
            raise AccountError(f"role: one of {', '.join(ROLES)}", "role")
        try:
            user_id = await self.repo.add(
                username, self.hasher.hash(password), role, self.clock.now()
            )
        except IntegrityError as exc:
            raise AccountError(f"user {username} already exists", "username") from exc
        return User(user_id, username, role)

    async def authenticate(self, username: str, password: str) -> User | None:
        row = await self.repo.by_username(username)
        now = self.clock.now()
        if row is None:
            self.hasher.hash(password)  # the same work whether the user exists or not
            return None
        if row["locked_until"] is not None and row["locked_until"] > now:
            return None
        try:
            self.hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            failed = int(row["failed_logins"]) + 1
            locked = now + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
            await self.repo.update(
                row["id"], failed_logins=0 if locked else failed, locked_until=locked
            )
            return None
        if row["failed_logins"] or row["locked_until"]:
            await self.repo.update(row["id"], failed_logins=0, locked_until=None)
        return User(int(row["id"]), row["username"], row["role"])

    async def get(self, user_id: int) -> User | None:
        row = await self.repo.by_id(user_id)
        return User(int(row["id"]), row["username"], row["role"]) if row else None

    async def create_api_key(self, username: str, label: str = "cli") -> str:
        row = await self.repo.by_username(username)
        if row is None:
            raise AccountError(f"no user {username}", "username")
        key = "vf_" + secrets.token_urlsafe(32)
        await self.repo.add_api_key(int(row["id"]), _key_hash(key), label, self.clock.now())
        return key

    async def by_api_key(self, key: str) -> User | None:
        row = await self.repo.by_api_key(_key_hash(key))
        return User(int(row["id"]), row["username"], row["role"]) if row else None
