"""Login throttling's rules, on a clock moved by hand: who counts as one source, how long a
refusal lasts, that memory stays bounded and that old failures are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltflow.domain.addresses import source_key
from voltflow.services.throttle import FORGET_AFTER, LoginThrottle, Rule


class HandClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_a_source_is_an_address_or_an_ipv6_subscriber_prefix(address: str | None, key: str) -> None:
    assert source_key(address) == key


def test_refusals_double_up_to_the_ceiling() -> None:
    clock = HandClock()
    rule = Rule(free=2, first_block=timedelta(seconds=1), ceiling=timedelta(seconds=5))
    throttle = LoginThrottle(clock, account_rule=rule)
    for _ in range(3):  # two free failures, and the one that earns the first refusal
        assert throttle.attempt("op", "192.0.2.1") == 0
    waits = []
    for _ in range(4):
        wait = throttle.attempt("op", "192.0.2.1")
        waits.append(wait)
        clock.at += timedelta(seconds=wait)
        assert throttle.attempt("op", "192.0.2.1") == 0  # waited: tried (and failed) again
    assert waits == [1, 2, 4, 5]
    # Another account from the same address, the same account from elsewhere: not refused.
    assert throttle.attempt("someone", "192.0.2.1") == 0
    assert throttle.attempt("op", "198.51.100.1") == 0


def test_a_correct_password_forgets_the_accounts_failures_at_that_address() -> None:
    clock = HandClock()
    throttle = LoginThrottle(clock)
    for _ in range(5):
        assert throttle.attempt("op", "192.0.2.1") == 0
    throttle.succeeded("op", "192.0.2.1")
    for _ in range(5):
        assert throttle.attempt("op", "192.0.2.1") == 0


def test_failures_are_forgotten_an_hour_after_the_last() -> None:
    clock = HandClock()
    throttle = LoginThrottle(clock)
    for _ in range(6):
        throttle.attempt("op", "192.0.2.1")
    assert throttle.attempt("op", "192.0.2.1") > 0
    clock.at += FORGET_AFTER + timedelta(seconds=1)
    for _ in range(5):
        assert throttle.attempt("op", "192.0.2.1") == 0


def test_memory_stays_bounded() -> None:
    throttle = LoginThrottle(HandClock(), capacity=100)
    for n in range(1000):
        throttle.attempt(f"user-{n}", f"10.0.{n // 256}.{n % 256}")
    assert len(throttle.by_account.records) == 100
    assert len(throttle.by_address.records) == 100
