"""How fast a station's key can be guessed: slowed per source address and per station id.

Every failed handshake (a wrong key, or an unknown station) makes the next attempt from the
same source wait longer, before its key is even looked at: a few free failures (a station being
set up), then 0.5 s, 1 s, 2 s, … up to a minute; failures fade with a half-life of five
minutes. Once a source has failed, its attempts still being decided count as failures in
advance, so a thousand connections opened at once get no further than the free few. A source
that has never failed is not slowed at all: a connect storm through one address (a
TLS-terminating proxy, a NAT) goes through. Each station id that presents its key from a
source earns that source a little credit (a gateway with a misconfigured station among good
ones), capped.

A guesser spread over many addresses meets the second limit: the failures on one station id
slow every attempt on that id from a source that has not connected as that station before, to
about one a second, and attempts on one id are always counted in advance (three at once, then
one at a time). That limit is kept short, and neither applies to a source that connected
as the station with its key (until it fails on that id): the station itself, reconnecting, is
never locked out by someone else's failures on its id, nor by a neighbour behind its address.

The source a station last connected from with its key is also kept with the station (its
``trusted_source``, read with its keys at the handshake): after a restart, or once the pair has
left the table here, that source is still spared the limit on the id, so a guesser keeping the
id's limit hot from ever new addresses cannot keep the station out. (The limit on the source is
checked before anything is looked up: only the pairs remembered here skip it.)

In memory: the one process that holds the sockets decides. Only sources and ids that failed
(or earned credit) have a record; every table is bounded, least recently used out first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from voltflow.domain.addresses import source_key


@dataclass(frozen=True, slots=True)
class Schedule:
    """The wait once a source (or id) stands at ``failures``: none below ``free``, then
    ``base`` doubling with each further failure, at most ``cap`` seconds."""

    free: int
    base: float
    cap: float
    half_life: float = 300.0  # seconds for a failure to count half
    max_credit: int = 20

    def delay(self, failures: float) -> float:
        if failures < self.free:
            return 0.0
        return min(self.base * math.exp2(min(failures - self.free, 32.0)), self.cap)


SOURCE_SCHEDULE = Schedule(free=5, base=0.5, cap=60.0)
STATION_SCHEDULE = Schedule(free=3, base=0.25, cap=1.0, max_credit=0)


class _Record:
    __slots__ = ("at", "credit", "in_flight", "not_before", "score")

    def __init__(self, now: float) -> None:
        self.score = 0.0  # failures, fading
        self.at = now  # when ``score`` was last brought up to date
        self.credit = 0
        self.in_flight = 0  # attempts counted in advance, still being decided
        self.not_before = 0.0


class _Table:
    """Records by key, least recently used first, at most ``size`` of them."""

    def __init__(self, schedule: Schedule, size: int, *, count_every_attempt: bool) -> None:
        self.schedule = schedule
        self.size = size
        # Count every attempt in advance, or only once the key stands at some failure.
        self.count_every_attempt = count_every_attempt
        self.records: OrderedDict[str, _Record] = OrderedDict()

    def _standing(self, record: _Record, now: float) -> float:
        """The record's failures now, less its credit."""
        if now > record.at:
            record.score *= math.exp2(-(now - record.at) / self.schedule.half_life)
            record.at = now
        return max(0.0, record.score - record.credit)

    def _record(self, key: str, now: float) -> _Record:
        record = self.records.get(key)
        if record is None:
            record = self.records[key] = _Record(now)
            while len(self.records) > self.size:
                self.records.popitem(last=False)
        else:
            self.records.move_to_end(key)
        return record

    def wait(self, key: str, now: float) -> tuple[float, bool]:
        """Seconds before ``key`` may try; when 0, whether the attempt is counted in advance."""
        record = self.records.get(key)
        if record is None:
            if not self.count_every_attempt:
                return 0.0, False
            record = self._record(key, now)
        if now < record.not_before:
            return record.not_before - now, False
        standing = self._standing(record, now)
        if standing < 0.01 and record.in_flight == 0 and not self.count_every_attempt:
            if record.credit == 0:
                del self.records[key]  # forgotten: nothing against it any more
            return 0.0, False
        record.in_flight += 1
        record.not_before = now + self.schedule.delay(standing + record.in_flight)
        return 0.0, True

    def end(self, key: str, now: float, *, counted: bool, failed: bool) -> None:
        record = self.records.get(key)
        if record is not None and counted:
            record.in_flight = max(0, record.in_flight - 1)
        if not failed:
            if (
                record is not None
                and record.in_flight == 0
                and record.credit == 0
                and self._standing(record, now) < 0.01
            ):
                del self.records[key]  # nothing against it: no need to remember it
            return
        record = self._record(key, now)
        standing = self._standing(record, now)
        record.score += 1.0
        record.not_before = max(
            record.not_before, now + self.schedule.delay(standing + 1.0 + record.in_flight)
        )

    def earn(self, key: str, now: float) -> None:
        if self.schedule.max_credit:
            record = self._record(key, now)
            record.credit = min(record.credit + 1, self.schedule.max_credit)


def source_of(peer: object) -> str:
    """The source a limit applies to: the address, or an IPv6 address's /64 (one subscriber
    has all of it)."""
    host = peer[0] if isinstance(peer, tuple) and peer else peer
    return source_key(host if isinstance(host, str) else None)


class Attempt:
    """One handshake's place in the limits; ``end`` it once, unless it was refused."""

    __slots__ = (
        "_source_counted",
        "_station_counted",
        "_throttle",
        "retry_after",
        "source",
        "station_id",
        "trusted",
    )

    def __init__(
        self, throttle: HandshakeThrottle, source: str, station_id: str, trusted: bool
    ) -> None:
        self._throttle = throttle
        self.source = source
        self.station_id = station_id
        self.trusted = trusted
        self._source_counted = self._station_counted = False
        self.retry_after = 0.0  # > 0: refused, try again in that many seconds

    def check_source(self) -> float:
        if self.trusted:
            return 0.0
        t = self._throttle
        self.retry_after, self._source_counted = t.sources.wait(self.source, t.clock())
        return self.retry_after

    def trust_stored(self, trusted_source: str | None) -> None:
        """The station's stored trusted source, read with its keys: when it is this attempt's,
        the id's limit does not apply (unless this source failed on the id since)."""
        if (
            not self.trusted
            and trusted_source == self.source
            and _pair(self.station_id, self.source) not in self._throttle.distrusted
        ):
            self.trusted = True

    def check_station(self) -> float:
        """Before the key is verified: seconds to wait for the station id's limit, or 0."""
        if self.trusted:
            return 0.0
        t = self._throttle
        self.retry_after, self._station_counted = t.stations.wait(self.station_id, t.clock())
        return self.retry_after

    def end(self, *, failed: bool, key_checked: bool = False) -> None:
        """``failed``: a wrong key or an unknown station; ``key_checked``: the station's key
        was verified (right, unless ``failed``)."""
        t = self._throttle
        now = t.clock()
        pair = _pair(self.station_id, self.source)
        if self.trusted and failed:  # the source loses its standing for this id
            t.trusted.pop(pair, None)
            t.distrust(pair)
        t.sources.end(self.source, now, counted=self._source_counted, failed=failed)
        # Only the ids of stations with a key: made-up ids cannot crowd the table.
        t.stations.end(
            self.station_id, now, counted=self._station_counted, failed=failed and key_checked
        )
        if key_checked and not failed:
            if pair not in t.trusted:
                t.sources.earn(self.source, now)
            t.trust(pair)
            t.distrusted.pop(pair, None)


def _pair(station_id: str, source: str) -> str:
    return f"{station_id}\0{source}"


class HandshakeThrottle:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        source_schedule: Schedule = SOURCE_SCHEDULE,
        station_schedule: Schedule = STATION_SCHEDULE,
        max_sources: int = 16_384,
        max_stations: int = 65_536,
        max_trusted: int = 65_536,
    ) -> None:
        self.clock = clock
        # A source is counted in advance only once it has failed: a connect storm through
        # one address goes through. A station id always is (only ids of stations that have
        # a key get here, so made-up ids cannot fill the table): a thousand connections at
        # once as one station get no further than three guesses.
        self.sources = _Table(source_schedule, max_sources, count_every_attempt=False)
        self.stations = _Table(station_schedule, max_stations, count_every_attempt=True)
        # (station id, source) pairs that presented the station's key: the station itself.
        self.trusted: OrderedDict[str, None] = OrderedDict()
        # Pairs that failed since they were trusted: their stored trust does not hold until
        # they present the key again.
        self.distrusted: OrderedDict[str, None] = OrderedDict()
        self.max_trusted = max_trusted

    def begin(self, peer: object, station_id: str) -> Attempt:
        """A handshake from ``peer`` (an address, or a socket's peer name) as ``station_id``;
        check its source, then (once the station is known to need a key) its id, before the
        key is verified."""
        source = source_of(peer)
        return Attempt(self, source, station_id, _pair(station_id, source) in self.trusted)

    def distrust(self, pair: str) -> None:
        self.distrusted[pair] = None
        while len(self.distrusted) > self.max_trusted:
            self.distrusted.popitem(last=False)

    def trust(self, pair: str) -> None:
        self.trusted[pair] = None
        self.trusted.move_to_end(pair)
        while len(self.trusted) > self.max_trusted:
            self.trusted.popitem(last=False)
