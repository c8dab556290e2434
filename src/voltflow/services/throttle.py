"""Login throttling: failed attempts slow down whoever makes them, not the account they name.

Failures are counted per source address and per (account, source address). Past a few free
failures each further one refuses that key for a time that doubles, up to a ceiling; a correct
password forgets the (account, address) count. Nothing is counted per account alone: typing an
operator's name with wrong passwords from one address never stops the operator logging in from
another. Records live in memory, at most ``capacity`` of each kind (the least recently failed go
first), and are forgotten a while after their last failure.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from voltflow.domain.addresses import source_key
from voltflow.services.ports import Clock


@dataclass(slots=True)
class _Failures:
    count: int
    last: datetime
    blocked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    free: int  # failures that cost nothing
    first_block: timedelta  # after the first failure past ``free``; doubles with each further one
    ceiling: timedelta


ACCOUNT_AT_ADDRESS = Rule(free=5, first_block=timedelta(seconds=2), ceiling=timedelta(minutes=15))
# Many people may share an address (an office's NAT): more room, the same doubling.
ADDRESS = Rule(free=20, first_block=timedelta(seconds=2), ceiling=timedelta(minutes=15))
FORGET_AFTER = timedelta(hours=1)
CAPACITY = 10_000


class _Counter:
    def __init__(self, rule: Rule, clock: Clock, capacity: int) -> None:
        self.rule = rule
        self.clock = clock
        self.capacity = capacity
        self.records: OrderedDict[str, _Failures] = OrderedDict()

    def _current(self, key: str, now: datetime) -> _Failures | None:
        record = self.records.get(key)
        if record is not None and now - record.last > FORGET_AFTER:
            del self.records[key]
            return None
        return record

    def wait(self, key: str) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        now = self.clock.now()
        record = self._current(key, now)
        if record is None or record.blocked_until is None:
            return 0.0
        return max(0.0, (record.blocked_until - now).total_seconds())

    def fail(self, key: str) -> None:
        now = self.clock.now()
        record = self._current(key, now)
        if record is None:
            record = self.records[key] = _Failures(0, now)
            while len(self.records) > self.capacity:
                self.records.popitem(last=False)
        else:
            self.records.move_to_end(key)
        record.count += 1
        record.last = now
        past = record.count - self.rule.free
        if past > 0:
            # 2 ** past would overflow timedelta long before the ceiling matters: capped first.
            doublings = min(past - 1, 32)
            block = min(self.rule.first_block * (2**doublings), self.rule.ceiling)
            record.blocked_until = now + block

    def forgive(self, key: str) -> None:
        """One failure counted in advance was not one."""
        record = self.records.get(key)
        if record is not None:
            record.count = max(0, record.count - 1)
            if record.count <= self.rule.free:
                record.blocked_until = None

    def forget(self, key: str) -> None:
        self.records.pop(key, None)


class LoginThrottle:
    def __init__(
        self,
        clock: Clock,
        *,
        account_rule: Rule = ACCOUNT_AT_ADDRESS,
        address_rule: Rule = ADDRESS,
        capacity: int = CAPACITY,
    ) -> None:
        self.by_account = _Counter(account_rule, clock, capacity)
        self.by_address = _Counter(address_rule, clock, capacity)

    @staticmethod
    def _keys(username: str, source: str | None) -> tuple[str, str]:
        address = source_key(source)
        return f"{username.strip().lower()}\x00{address}", address

    def attempt(self, username: str, source: str | None) -> int:
        """Before a password is checked: the seconds to wait (> 0, refused), or 0 — and then the
        attempt counts as a failure until :meth:`succeeded` says otherwise, so that a burst of
        attempts in parallel is counted before any of them is answered."""
        account, address = self._keys(username, source)
        wait = max(self.by_account.wait(account), self.by_address.wait(address))
        if wait > 0:
            return max(1, math.ceil(wait))
        self.by_account.fail(account)
        self.by_address.fail(address)
        return 0

    def succeeded(self, username: str, source: str | None) -> None:
        account, address = self._keys(username, source)
        self.by_account.forget(account)
        self.by_address.forgive(address)
