"""What stations tell the platform: boot, heartbeat, status, authorization, transactions, meter
values. Each method stores what the message says (durably, before it returns) and gives the answer.

Protocol adapters translate frames into these calls (and keep their own log of the frames,
through ``ports.FrameLog``); the connection itself comes here too: who is let in, auto-registration,
online and offline.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from voltflow.domain.authorization import AuthorizationStatus, IdToken, normalize_uid
from voltflow.domain.cards import authorize_card
from voltflow.domain.events import (
    ConnectorStatusChanged,
    DiagnosticsStatusChanged,
    Event,
    FirmwareStatusChanged,
    SessionClosed,
    SessionCorrected,
    SessionStarted,
    StationBooted,
    StationConnected,
    StationDisconnected,
)
from voltflow.domain.ocmf import read_signed_value
from voltflow.domain.session_types import (
    Classification,
    SessionFacts,
    ValidityBounds,
    classify,
)
from voltflow.domain.sessions import (
    ENERGY_REGISTER,
    SUPERSEDED,
    MeterSample,
    SignedSample,
    superseded_stop,
)
from voltflow.domain.station_keys import key_problem
from voltflow.domain.stations import ConnectorRef, Registration
from voltflow.services.ports import Admission, Clock
from voltflow.store.cards import CardRepository
from voltflow.store.outbox import OutboxRepository
from voltflow.store.prepared import Tx
from voltflow.store.sessions import SessionRepository, SignedInfo
from voltflow.store.stations import StationRepository
from voltflow.store.writer import DurableWriter, Write

log = logging.getLogger(__name__)


class StationListener(Protocol):
    """Told when a station has booted and been accepted (its local list may need a push)."""

    async def station_booted(self, station_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class BootInfo:
    vendor: str
    model: str
    # The protocol version the station speaks, as its connection negotiated it ("1.6").
    ocpp_version: str
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None


@dataclass(frozen=True, slots=True)
class BootAnswer:
    registration: Registration
    current_time: datetime
    interval: int


@dataclass(frozen=True, slots=True)
class StartAnswer:
    transaction_id: str
    status: AuthorizationStatus


@dataclass(frozen=True, slots=True)
class StopRequest:
    transaction_id: str
    stopped_at: datetime
    meter_stop_wh: int
    reason: str | None
    id_token: IdToken | None
    samples: Sequence[MeterSample]
    signed: Sequence[SignedSample] = ()


# Sessions whose station we remember, for MeterValues; ids never move, so entries never go stale.
SESSION_OWNERS_KEPT = 100_000

# A transaction id is text at this boundary (OCPP 2.0.1's are); the platform's own, which it
# hands out, are its session ids written in decimals.
_SESSION_ID = re.compile(r"-?[0-9]+")


def session_id_of(transaction_id: str) -> int | None:
    """The session a transaction id names, if it is one of the platform's; None for an id no
    session of the platform can have."""
    return int(transaction_id) if _SESSION_ID.fullmatch(transaction_id) else None


def session_verdict(
    session: Mapping[str, Any], stopped_at: datetime, meter_stop_wh: int, bounds: ValidityBounds
) -> tuple[int, Classification]:
    """A stored session's energy and type if it ended at ``stopped_at`` with ``meter_stop_wh``:
    its row as the stop's statement reads it, with ``on_whitelist`` and ``licensed``."""
    energy = meter_stop_wh - int(session["meter_start_wh"])
    verdict = classify(
        SessionFacts(
            token_accepted=session["auth_status"] == AuthorizationStatus.ACCEPTED.value,
            energy_wh=energy,
            duration=stopped_at - session["started_at"],
            licensed_employee_token=bool(session["licensed"]),
            on_station_whitelist=bool(session["on_whitelist"]),
        ),
        bounds,
    )
    return energy, verdict


class StationEvents:
    def __init__(
        self,
        stations: StationRepository,
        sessions: SessionRepository,
        writer: DurableWriter,
        clock: Clock,
        *,
        heartbeat_interval: int = 300,
        pending_retry_interval: int = 60,
        bounds: ValidityBounds | None = None,
        timezone: str = "Europe/Brussels",
    ) -> None:
        self.stations = stations
        self.sessions = sessions
        self.writer = writer
        self.clock = clock
        self.heartbeat_interval = heartbeat_interval
        self.pending_retry_interval = pending_retry_interval
        self.bounds = bounds or ValidityBounds()
        self.zone = ZoneInfo(timezone)
        self._session_owner: dict[int, str] = {}
        self.listeners: list[StationListener] = []
        # The outbox relay's wake-up, called once a batch that wrote events has committed.
        self.events_committed: Callable[[], None] = lambda: None

    async def _commit_with(self, writes: Sequence[Write], *events: Event) -> None:
        await self.writer.commit([*writes, *(OutboxRepository.w_event(e) for e in events)])
        self.events_committed()

    def _authorize_in(self, tx: Tx, uid: str) -> AuthorizationStatus:
        """A card's answer at a station: from its state and its holder's contract."""
        now = self.clock.now()
        today = now.astimezone(self.zone).date()
        standing, contract = CardRepository.standing_in(tx, uid, today)
        return authorize_card(standing, contract, now, today)

    async def check_token(self, id_tag: str) -> AuthorizationStatus:
        """A card's answer. Read through the group commit: one hand-over shared with every other
        station's message of the moment, not a pooled connection of its own."""
        uid = normalize_uid(id_tag)
        status = await self.writer.commit((), lambda tx: self._authorize_in(tx, uid))
        assert status is not None
        return status

    def _remember_owner(self, session_id: int, station_id: str) -> None:
        if len(self._session_owner) >= SESSION_OWNERS_KEPT:
            self._session_owner.clear()
        self._session_owner[session_id] = station_id

    async def _owner(self, session_id: int) -> str | None:
        owner = self._session_owner.get(session_id)
        if owner is None:
            session = await self.sessions.get(session_id)
            if session is None:
                return None
            owner = str(session["station_id"])
            self._remember_owner(session_id, owner)
        return owner

    # -- the connection ----------------------------------------------------------------------
    async def admission(self, station_id: str) -> Admission | None:
        """What letting the station in takes (its keys, registration, leniency); None for a
        station the platform does not know."""
        return await self.stations.admission(station_id)

    async def register_pending(self, station_id: str, key: str | None) -> Admission | None:
        """Auto-registration: the station waits, Pending, until an operator claims it. The key
        it presented becomes its key if it is one a station may have (``station_keys``); else
        it has none, shows as keyless, and claiming it hands it one."""
        if key is not None and key_problem(key) is not None:
            log.info(
                "station %s registers without a key: the one it presented is too weak", station_id
            )
            key = None
        with contextlib.suppress(IntegrityError):  # two connects racing: the other one created it
            await self.stations.add(
                station_id, key, now=self.clock.now(), registration=Registration.PENDING
            )
        return await self.stations.admission(station_id)

    async def new_key_used(self, station_id: str, key_hash: str) -> None:
        """The station connected with the new key of a key change: from now on its only one."""
        await self.stations.promote_key(station_id, key_hash)

    # Online and offline ride the group commit: in a connect storm, thousands of stations would
    # otherwise each take the write lock (and an fsync) for a transaction of their own.
    async def connected(self, station_id: str, trusted_source: str | None = None) -> None:
        """``trusted_source``: where the station connected from with its key, when that is new
        (it is then spared the limit on its id that others' failures raise)."""
        now = self.clock.now()
        writes = [self.stations.w_touch(station_id, now)]
        if trusted_source is not None:
            writes.append(self.stations.w_trusted_source(station_id, trusted_source))
        await self._commit_with(writes, StationConnected(occurred_at=now, station_id=station_id))

    async def disconnected(self, station_id: str) -> None:
        await self._commit_with(
            [self.stations.w_offline(station_id)],
            StationDisconnected(occurred_at=self.clock.now(), station_id=station_id),
        )

    # -- what the station says -------------------------------------------------------------------
    async def boot(self, station_id: str, info: BootInfo, registration: Registration) -> BootAnswer:
        now = self.clock.now()
        work = self.stations.boot_work(station_id, _boot_fields(info), now)
        booted = StationBooted(
            occurred_at=now,
            station_id=station_id,
            registration=registration.value,
            vendor=info.vendor,
            model=info.model,
            firmware_version=info.firmware_version,
            protocol=info.ocpp_version,
        )
        await self.writer.commit([OutboxRepository.w_event(booted)], work)
        self.events_committed()
        interval = (
            self.heartbeat_interval
            if registration is Registration.ACCEPTED
            else self.pending_retry_interval
        )
        if registration is Registration.ACCEPTED:
            for listener in self.listeners:
                await listener.station_booted(station_id)
        return BootAnswer(registration, now, interval)

    async def heartbeat(self, station_id: str) -> datetime:
        now = self.clock.now()
        await self.writer.commit([self.stations.w_touch(station_id, now)])
        return now

    async def status(
        self,
        station_id: str,
        ref: ConnectorRef,
        status: str,
        error_code: str | None,
        *,
        info: str | None,
        vendor_error_code: str | None,
        timestamp: datetime | None,
    ) -> None:
        now = self.clock.now()
        writes = self.stations.w_status(
            station_id,
            ref,
            status,
            error_code,
            info,
            vendor_error_code,
            timestamp or now,
            now,
        )
        changed = ConnectorStatusChanged(
            occurred_at=now,
            station_id=station_id,
            evse_id=ref.evse_id,
            connector_id=ref.connector_id,
            status=status,
            error_code=error_code,
            vendor_error_code=vendor_error_code,
            info=info,
            status_at=timestamp or now,
        )
        await self._commit_with(writes, changed)

    async def authorize(self, station_id: str, token: IdToken) -> AuthorizationStatus:
        return await self.check_token(token.value)

    async def start_transaction(
        self,
        station_id: str,
        ref: ConnectorRef,
        token: IdToken,
        meter_start_wh: int,
        started_at: datetime,
        reservation_id: int | None,
    ) -> StartAnswer:
        now = self.clock.now()
        uid = token.uid

        def work(tx: Tx) -> tuple[int, AuthorizationStatus]:
            status = self._authorize_in(tx, uid)
            session_id = SessionRepository.insert_started(
                tx,
                {
                    "station_id": station_id,
                    "evse_id": ref.evse_id,
                    "connector_id": ref.connector_id,
                    "id_tag": uid,
                    "auth_status": status.value,
                    "reservation_id": reservation_id,
                    "started_at": started_at,
                    "meter_start_wh": meter_start_wh,
                    "created_at": now,
                },
            )
            if session_id is None:  # a retried StartTransaction: same answer, nothing new
                session_id = SessionRepository.find_started(
                    tx, station_id, ref.evse_id, started_at, meter_start_wh
                )
                assert session_id is not None
            else:
                self._close_superseded(tx, station_id, ref.evse_id, started_at)
                _emit(
                    tx,
                    SessionStarted(
                        occurred_at=now,
                        session_id=str(session_id),
                        station_id=station_id,
                        evse_id=ref.evse_id,
                        connector_id=ref.connector_id,
                        id_token=uid,
                        authorization=status.value,
                        started_at=started_at,
                        meter_start_wh=meter_start_wh,
                    ),
                )
            return session_id, status

        started = await self.writer.commit((), work)
        assert started is not None
        self.events_committed()
        session_id, status = started
        self._remember_owner(session_id, station_id)
        return StartAnswer(str(session_id), status)

    def _close_superseded(
        self, tx: Tx, station_id: str, evse_id: int, started_at: datetime
    ) -> None:
        """A new transaction on an EVSE where an earlier one is still open: the station lost
        that one (a crash, a power cut) and will never stop it. It is closed at what it
        measured, and typed like any other session; a StopTransaction that still comes
        replaces this."""
        for lost in SessionRepository.open_before(tx, station_id, evse_id, started_at):
            session_id = int(lost["id"])
            end = superseded_stop(
                lost["started_at"],
                int(lost["meter_start_wh"]),
                SessionRepository.last_energy_reading(tx, session_id),
            )
            log.warning(
                "%s: session %s closed by the platform: EVSE %s started another transaction",
                station_id,
                session_id,
                evse_id,
            )
            self._close(tx, lost, end.stopped_at, end.meter_stop_wh, SUPERSEDED, None)

    def _close(
        self,
        tx: Tx,
        session: dict[str, Any],
        stopped_at: datetime,
        meter_stop_wh: int,
        reason: str,
        stop_uid: str | None,
    ) -> None:
        energy, verdict = session_verdict(session, stopped_at, meter_stop_wh, self.bounds)
        SessionRepository.close(
            tx,
            int(session["id"]),
            {
                "stopped_at": stopped_at,
                "meter_stop_wh": meter_stop_wh,
                "energy_wh": energy,
                "stop_reason": reason,
                "stop_id_tag": stop_uid,
                "session_type": verdict.type.value,
                "type_reason": verdict.reason,
            },
        )
        now = self.clock.now()
        if session.get("stopped_at") is not None:  # the station's stop replaces the inferred one
            _emit(
                tx,
                SessionCorrected(
                    occurred_at=now,
                    session_id=str(session["id"]),
                    station_id=str(session["station_id"]),
                    started_at=session["started_at"],
                    stopped_at=stopped_at,
                    energy_wh=energy,
                    session_type=verdict.type.value,
                    type_reason=verdict.reason,
                    stop_reason=reason,
                    previous_stopped_at=session["stopped_at"],
                    previous_energy_wh=int(session["energy_wh"] or 0),
                    previous_session_type=str(session["session_type"]),
                    reason="the station's own stop replaces the one the platform inferred",
                ),
            )
            return
        _emit(
            tx,
            SessionClosed(
                occurred_at=now,
                session_id=str(session["id"]),
                station_id=str(session["station_id"]),
                evse_id=int(session["evse_id"]),
                connector_id=int(session["connector_id"]),
                id_token=str(session["id_tag"]),
                started_at=session["started_at"],
                stopped_at=stopped_at,
                energy_wh=energy,
                session_type=verdict.type.value,
                type_reason=verdict.reason,
                stop_reason=reason,
                closed_by="platform" if reason == SUPERSEDED else "station",
            ),
        )

    async def stop_transaction(
        self, station_id: str, stop: StopRequest
    ) -> AuthorizationStatus | None:
        stop_uid = stop.id_token.uid if stop.id_token is not None else None
        session_id = session_id_of(stop.transaction_id)
        received_at = self.clock.now()
        # Read here, not on the writer's thread, whose time every station's message shares.
        signed_read = _read_signed(stop.signed)

        def work(tx: Tx) -> AuthorizationStatus | None:
            tag_status = self._authorize_in(tx, stop_uid) if stop_uid else None
            session = (
                None
                if session_id is None
                else SessionRepository.get_for_update(tx, session_id, station_id)
            )
            if signed_read:
                # Evidence under calibration law: kept, under its session when it is known.
                signed = self.sessions.w_signed(
                    station_id,
                    None if session is None else int(session["evse_id"]),
                    None if session is None else int(session["connector_id"]),
                    None if session is None else session_id,
                    "StopTransaction",
                    received_at,
                    signed_read,
                )
                tx.executemany(signed[0].statement, [w.params for w in signed])
            if session is None:
                log.warning(
                    "%s: StopTransaction for unknown transaction %s",
                    station_id,
                    stop.transaction_id,
                )
                return tag_status
            evse_id = int(session["evse_id"])
            if stop.samples:
                # Readings may arrive again with a retried stop; the store ignores duplicates.
                samples = self.sessions.w_samples(station_id, evse_id, session_id, stop.samples)
                tx.executemany(samples[0].statement, [w.params for w in samples])
            if session["stopped_at"] is not None and session["stop_reason"] != SUPERSEDED:
                return tag_status  # already stopped by the station: a retry changes nothing
            self._close(
                tx, session, stop.stopped_at, stop.meter_stop_wh, stop.reason or "Local", stop_uid
            )
            return tag_status

        answer = await self.writer.commit((), work)
        self.events_committed()
        return answer

    async def meter_values(
        self,
        station_id: str,
        ref: ConnectorRef,
        transaction_id: str | None,
        samples: Sequence[MeterSample],
        signed: Sequence[SignedSample] = (),
    ) -> None:
        session_id = None if transaction_id is None else session_id_of(transaction_id)
        # Transaction ids are global: a station's stale or wrong id may be another station's
        # session. Its readings are kept, but not under a session that is not its own.
        if session_id is not None and await self._owner(session_id) != station_id:
            session_id = None
        writes = self.sessions.w_samples(station_id, ref.evse_id, session_id, samples)
        if signed:
            writes += self.sessions.w_signed(
                station_id,
                ref.evse_id,
                ref.connector_id,
                session_id,
                "MeterValues",
                self.clock.now(),
                _read_signed(signed),
            )
        await self.writer.commit(writes)

    async def firmware_status(self, station_id: str, status: str) -> None:
        await self._commit_with(
            [self.stations.w_field(station_id, "firmware_status", status)],
            FirmwareStatusChanged(
                occurred_at=self.clock.now(), station_id=station_id, status=status
            ),
        )

    async def diagnostics_status(self, station_id: str, status: str) -> None:
        await self._commit_with(
            [self.stations.w_field(station_id, "diagnostics_status", status)],
            DiagnosticsStatusChanged(
                occurred_at=self.clock.now(), station_id=station_id, status=status
            ),
        )

    async def data_transfer(
        self,
        station_id: str,
        vendor_id: str,
        message_id: str | None,
        data: Any,
    ) -> str:
        """No vendor extensions are known yet: the message is kept in the protocol's log only,
        and answered as the protocol says for an unknown vendor."""
        return "UnknownVendorId"


def _emit(tx: Tx, event: Event) -> None:
    """The event into the outbox, in the writer's transaction that makes it true."""
    write = OutboxRepository.w_event(event)
    tx.execute(write.statement, write.params)


def _read_signed(signed: Sequence[SignedSample]) -> list[tuple[SignedSample, SignedInfo]]:
    """Each block with what could be read in it. Reading never refuses a block: one that cannot
    be decoded is kept as received, with a note saying why."""
    found = []
    for sample in signed:
        value = read_signed_value(sample.data)
        found.append((sample, SignedInfo(value.encoding, value.public_key, value.note)))
    return found


def _boot_fields(info: BootInfo) -> dict[str, Any]:
    return {
        "vendor": info.vendor,
        "model": info.model,
        "serial_number": info.serial_number,
        "firmware_version": info.firmware_version,
        "iccid": info.iccid,
        "imsi": info.imsi,
        "meter_type": info.meter_type,
        "meter_serial_number": info.meter_serial_number,
        "ocpp_version": info.ocpp_version,
    }


__all__ = [
    "ENERGY_REGISTER",
    "BootAnswer",
    "BootInfo",
    "StartAnswer",
    "StationEvents",
    "StopRequest",
]
