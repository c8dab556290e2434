"""The handshake throttle on its own, against a clock moved by hand: how many keys a guesser
gets looked at, whom it never slows, and that it stays small."""

from __future__ import annotations

import pytest

from voltflow.ocpp.throttle import HandshakeThrottle, source_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def guess(throttle: HandshakeThrottle, peer: str, station_id: str = "CP-1") -> bool:
    """One wrong key: True if it was looked at (and failed), False if refused before."""
    attempt = throttle.begin((peer, 40000), station_id)
    if attempt.check_source() or attempt.check_station():
        attempt.end(failed=False)
        return False
    attempt.end(failed=True, key_checked=True)
    return True


def connect(throttle: HandshakeThrottle, peer: str, station_id: str) -> bool:
    """The right key: True if admitted."""
    attempt = throttle.begin((peer, 40000), station_id)
    if attempt.check_source() or attempt.check_station():
        attempt.end(failed=False)
        return False
    attempt.end(failed=False, key_checked=True)
    return True


def test_a_guesser_on_one_address_gets_few_keys_looked_at(clock: Clock) -> None:
    throttle = HandshakeThrottle(clock=clock)
    looked_at = []
    for step in range(36_000):  # an hour, a try every 100 ms
        clock.now = step * 0.1
        if guess(throttle, "203.0.113.7"):
            looked_at.append(clock.now)
    assert len(looked_at) <= 150  # about one a minute once it is slowed (~90 an hour)
    assert len([t for t in looked_at if t < 1.0]) <= 5
    # Never more than a few in any second.
    assert max(sum(1 for t in looked_at if s <= t < s + 1) for s in range(3600)) <= 5


def test_a_guesser_on_many_addresses_gets_about_one_a_second(clock: Clock) -> None:
    throttle = HandshakeThrottle(clock=clock)
    looked_at = 0
    for step in range(6000):  # ten minutes, a new address every 100 ms
        clock.now = step * 0.1
        looked_at += guess(throttle, f"10.{step // 65536}.{step // 256 % 256}.{step % 256}")
    assert looked_at <= 3 + 600


def test_concurrent_attempts_count_before_they_end(clock: Clock) -> None:
    """A thousand connections opened at once as one station: three keys looked at."""
    throttle = HandshakeThrottle(clock=clock)
    attempts = [throttle.begin((f"10.0.{n // 256}.{n % 256}", 1), "CP-1") for n in range(1000)]
    admitted = [a for a in attempts if not a.check_source() and not a.check_station()]
    assert len(admitted) == 3


def test_a_clean_address_is_never_slowed(clock: Clock) -> None:
    throttle = HandshakeThrottle(clock=clock)
    assert all(connect(throttle, "192.0.2.1", f"CP-{n}") for n in range(10_000))
    # Nothing is remembered against it (only the credit its stations earned it).
    assert [r.score for r in throttle.sources.records.values()] == [0.0]
    assert not throttle.stations.records


def test_good_stations_behind_one_address_are_not_slowed_by_a_bad_one(clock: Clock) -> None:
    throttle = HandshakeThrottle(clock=clock)
    for n in range(50):
        assert connect(throttle, "192.0.2.1", f"CP-{n}")
    for step in range(120):  # a misconfigured neighbour, every 30 s for an hour
        clock.now = step * 30
        guess(throttle, "192.0.2.1", "CP-BAD")
    assert connect(throttle, "192.0.2.1", "CP-NEW")  # one that never connected before


def test_the_station_itself_is_never_locked_out(clock: Clock) -> None:
    throttle = HandshakeThrottle(clock=clock)
    assert connect(throttle, "198.51.100.5", "CP-1")
    for _ in range(1000):
        guess(throttle, "203.0.113.7", "CP-1")
        guess(throttle, f"203.0.113.{_ % 200}", "CP-1")
    assert connect(throttle, "198.51.100.5", "CP-1")


def test_ipv6_sources_are_their_64(clock: Clock) -> None:
    assert source_of(("2001:db8:1:2:aaaa::1", 1, 0, 0)) == source_of(("2001:db8:1:2::99", 1, 0, 0))
    assert source_of(("2001:db8:1:3::1", 1, 0, 0)) != source_of(("2001:db8:1:2::1", 1, 0, 0))
    assert source_of(("::ffff:192.0.2.1", 1, 0, 0)) == "192.0.2.1"
    assert source_of(None) == "unknown"
    throttle = HandshakeThrottle(clock=clock)
    looked_at = sum(guess(throttle, f"2001:db8:1:2::{n:x}", f"CP-{n}") for n in range(1000))
    assert looked_at <= 6


def test_memory_is_bounded(clock: Clock) -> None:
    throttle = HandshakeThrottle(clock=clock, max_sources=100, max_stations=100, max_trusted=100)
    for n in range(5000):
        guess(throttle, f"10.0.{n // 256}.{n % 256}", f"CP-{n}")
        connect(throttle, f"10.1.{n // 256}.{n % 256}", f"CP-{n}")
    assert len(throttle.sources.records) <= 100
    assert len(throttle.stations.records) <= 100
    assert len(throttle.trusted) <= 100


def test_failures_fade(clock: Clock) -> None:
    throttle = HandshakeThrottle(clock=clock)
    while guess(throttle, "203.0.113.7", "CP-1"):
        pass
    assert not guess(throttle, "203.0.113.7", "CP-1")
    clock.now += 3 * 3600
    assert guess(throttle, "203.0.113.7", "CP-1")
