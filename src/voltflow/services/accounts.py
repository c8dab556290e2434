"""People who log in. Passwords hashed with argon2; failed logins throttled per source address
(:mod:`voltflow.services.throttle`), never by locking the account. Console sessions are kept
server-side, so logging out, a password change or disabling a person ends them at once. API keys
stored hashed, each with the scopes it may use. What a person may do comes from their roles in
organisations (see :mod:`voltflow.domain.access`)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from voltflow.domain.access import Actor, Permission
from voltflow.i18n import LANGUAGES, _, lazy
from voltflow.services.ports import Clock
from voltflow.services.throttle import LoginThrottle
from voltflow.store.console_sessions import ConsoleSessionRepository
from voltflow.store.organisations import MembershipRepository
from voltflow.store.users import UserRepository

# How long a console login lasts, however active; logging out ends it sooner.
SESSION_LIFETIME = timedelta(hours=12)
# A session's "last seen" is written at most this often: not a write on every page.
SEEN_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 8
USERNAME = re.compile(r"^[A-Za-z0-9._@+\-]{1,128}$")


# Login names are global. Whether one is taken is said the same way whoever took it, and without
# saying that someone did: an organisation's people are no one else's to learn of.
NAME_UNAVAILABLE = lazy("username: this login name cannot be used, choose another")


class AccountError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LoginThrottled(Exception):
    """Too many failed logins from this address (for this account, or for any): try later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            _("too many failed attempts: try again in %(seconds)s s") % {"seconds": retry_after}
        )
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    full_name: str | None = None
    email: str | None = None
    # Their own choice for pages and mail; None: guessed from the browser and the platform.
    language: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A console login, as its person sees it in their list of sessions."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    address: str | None
    current: bool = False


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _session(row: dict[str, object], current: bool = False) -> ConsoleSession:
    return ConsoleSession(
        int(str(row["id"])),
        row["created_at"],  # type: ignore[arg-type]
        row["last_seen_at"],  # type: ignore[arg-type]
        row["expires_at"],  # type: ignore[arg-type]
        row.get("user_agent"),  # type: ignore[arg-type]
        row.get("address"),  # type: ignore[arg-type]
        current,
    )


class AccountService:
    def __init__(
        self,
        users: UserRepository,
        memberships: MembershipRepository,
        sessions: ConsoleSessionRepository,
        clock: Clock,
    ) -> None:
        self.repo = users
        self.memberships = memberships
        self.sessions = sessions
        self.clock = clock
        self.hasher = PasswordHasher()
        self.throttle = LoginThrottle(clock)

    async def add_user(
        self,
        username: str,
        password: str,
        *,
        full_name: str | None = None,
        email: str | None = None,
    ) -> User:
        if not USERNAME.match(username):
            raise AccountError(_("username: 1–128 letters, digits or . _ @ + -"), "username")
        if len(password) < MIN_PASSWORD:
            raise AccountError(
                _("password: at least %(n)s characters") % {"n": MIN_PASSWORD}, "password"
            )
        if email is not None and "@" not in email:
            raise AccountError(_("email: not an e-mail address"), "email")
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
            raise AccountError(str(NAME_UNAVAILABLE), "username") from exc
        return User(user_id, username, full_name, email)

    async def find(self, username: str) -> User | None:
        row = await self.repo.by_username(username)
        return _user(row) if row else None

    async def get(self, user_id: int) -> User | None:
        row = await self.repo.by_id(user_id)
        return _user(row) if row else None

    async def authenticate(
        self, username: str, password: str, *, source: str | None = None
    ) -> User | None:
        """The person, if the password is theirs and they are not disabled. ``source``: the
        address the attempt comes from; too many failures from there raise
        :class:`LoginThrottled` before the password is even checked."""
        wait = self.throttle.attempt(username, source)
        if wait:
            raise LoginThrottled(wait)
        row = await self.repo.by_username(username)
        if row is None:
            # The same work whether the user exists or not; in a thread, as argon2 is meant to be
            # slow and the event loop also serves every station.
            await asyncio.to_thread(self.hasher.hash, password)
            return None
        try:
            await asyncio.to_thread(self.hasher.verify, row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        if row["disabled_at"] is not None:
            return None
        self.throttle.succeeded(username, source)
        return _user(row)

    async def change_password(
        self,
        user_id: int,
        current: str,
        new: str,
        *,
        keep_session: str | None = None,
        source: str | None = None,
    ) -> None:
        """A new password, given the current one; every console session of the person's ends
        except ``keep_session`` (the token of the one that asked). Wrong current passwords count
        as failed logins from ``source``: a stolen session is no way to guess the password."""
        row = await self.repo.by_id(user_id)
        if row is None:
            raise AccountError(_("no such user"))
        wait = self.throttle.attempt(row["username"], source)
        if wait:
            raise LoginThrottled(wait)
        try:
            await asyncio.to_thread(self.hasher.verify, row["password_hash"], current)
        except (VerificationError, InvalidHashError) as exc:
            raise AccountError(
                _("current password: not the right one"), "current_password"
            ) from exc
        self.throttle.succeeded(row["username"], source)
        if len(new) < MIN_PASSWORD:
            raise AccountError(
                _("new password: at least %(n)s characters") % {"n": MIN_PASSWORD}, "new_password"
            )
        hashed = await asyncio.to_thread(self.hasher.hash, new)
        await self.repo.update(user_id, password_hash=hashed)
        await self.sessions.end_all(
            user_id, keep=_key_hash(keep_session) if keep_session is not None else None
        )

    async def set_preferences(
        self, user_id: int, *, language: str | None = None, timezone: str | None = None
    ) -> None:
        """The person's language and time zone; None leaves one as it is."""
        values: dict[str, str] = {}
        if language is not None:
            if language not in LANGUAGES:
                raise AccountError(_("language: one of nl, fr, en"), "language")
            values["language"] = language
        if timezone is not None:
            try:
                ZoneInfo(timezone)
            except (ValueError, ZoneInfoNotFoundError):
                raise AccountError(
                    _("time zone: a name such as Europe/Brussels"), "timezone"
                ) from None
            values["timezone"] = timezone
        if values:
            await self.repo.update(user_id, **values)

    async def disable(self, user_id: int) -> None:
        """The person can no longer log in, and what they are logged in with stops working."""
        await self.repo.update(user_id, disabled_at=self.clock.now())
        await self.sessions.end_all(user_id)

    async def enable(self, user_id: int) -> None:
        await self.repo.update(user_id, disabled_at=None)

    # -- console sessions ------------------------------------------------------------------------
    async def start_session(
        self, user: User, *, user_agent: str | None = None, address: str | None = None
    ) -> str:
        """A new console session for ``user``; the token its cookie carries (only its hash is
        stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.sessions.add(
            user.id,
            _key_hash(token),
            now,
            now + SESSION_LIFETIME,
            user_agent=user_agent[:256] if user_agent else None,
            address=address[:64] if address else None,
        )
        return token

    async def session_actor(self, token: str) -> Actor | None:
        """Who the console session with this token belongs to, if it still holds."""
        now = self.clock.now()
        row = await self.sessions.live(_key_hash(token), now)
        if row is None:
            return None
        if now - row["last_seen_at"] >= SEEN_EVERY:
            await self.sessions.seen(int(row["id"]), now)
        user_id = int(row["user_id"])
        return Actor(user_id, row["username"], await self.memberships.of_user(user_id))

    async def end_session(self, token: str) -> None:
        await self.sessions.end(_key_hash(token))

    async def end_all_sessions(self, user_id: int) -> int:
        return await self.sessions.end_all(user_id)

    async def sessions_of(
        self, user_id: int, *, current: str | None = None
    ) -> list[ConsoleSession]:
        mine = _key_hash(current) if current is not None else None
        rows = await self.sessions.of_user(user_id, self.clock.now())
        return [_session(r, r["token_hash"] == mine) for r in rows]

    async def actor(
        self, user_id: int, scopes: frozenset[Permission] | None = None
    ) -> Actor | None:
        row = await self.repo.by_id(user_id)
        if row is None or row["disabled_at"] is not None:
            return None
        return Actor(
            int(row["id"]), row["username"], await self.memberships.of_user(int(row["id"])), scopes
        )

    async def create_api_key(
        self, username: str, label: str = "cli", scopes: frozenset[Permission] | None = None
    ) -> str:
        row = await self.repo.by_username(username)
        if row is None:
            raise AccountError(_("no user %(name)s") % {"name": username}, "username")
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
    return User(
        int(str(row["id"])),
        str(row["username"]),
        row.get("full_name"),  # type: ignore[arg-type]
        row.get("email"),  # type: ignore[arg-type]
        row.get("language"),  # type: ignore[arg-type]
        row.get("timezone"),  # type: ignore[arg-type]
    )
