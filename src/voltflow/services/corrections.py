"""An operator's correction of a finished session: its stop or its meter reading put right, with
a reason. The session is typed again by the rules a station's stop uses (``session_verdict``),
and the correction is a ``SessionCorrected`` event like the station's own late stop, so every
consumer (daily totals, charging periods, prices) follows; the price lines get a new revision
and keep the old ones."""

from __future__ import annotations

from datetime import datetime

from voltflow.domain.access import Actor, Permission
from voltflow.domain.events import SessionCorrected
from voltflow.domain.session_types import ValidityBounds
from voltflow.i18n import _
from voltflow.services.access import require
from voltflow.services.audit import AuditTrail
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.sessions import SessionNotFound
from voltflow.services.station_events import session_verdict
from voltflow.services.units import use_case
from voltflow.store.sessions import SessionRepository

REASON_MAX = 200


class CorrectionError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class SessionCorrections:
    def __init__(
        self,
        sessions: SessionRepository,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
        bounds: ValidityBounds | None = None,
    ) -> None:
        self.sessions = sessions
        self.audit = audit
        self.clock = clock
        self.uow = uow
        self.bounds = bounds or ValidityBounds()

    @use_case
    async def correct(
        self,
        actor: Actor,
        session_id: int,
        *,
        reason: str,
        stopped_at: datetime | None = None,
        meter_stop_wh: int | None = None,
    ) -> str:
        """Puts the session's stop and/or last meter reading right; the session's new type."""
        require(actor, Permission.CONTRACTS_WRITE, None)
        reason = reason.strip()
        if not 1 <= len(reason) <= REASON_MAX:
            raise CorrectionError(_("reason: 1–200 characters"), "reason")
        session = await self.sessions.for_correction(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        if session["stopped_at"] is None:
            raise CorrectionError(_("the session is still open"), "session_id")
        stop = stopped_at or session["stopped_at"]
        meter = session["meter_stop_wh"] if meter_stop_wh is None else meter_stop_wh
        if stop < session["started_at"]:
            raise CorrectionError(_("the stop comes before the start"), "stopped_at")
        if meter < session["meter_start_wh"]:
            raise CorrectionError(
                _("the meter would go backwards: below its start reading"), "meter_stop_wh"
            )
        energy, verdict = session_verdict(session, stop, meter, self.bounds)
        await self.sessions.correct(
            session_id,
            stopped_at=stop,
            meter_stop_wh=meter,
            energy_wh=energy,
            session_type=verdict.type.value,
            type_reason=verdict.reason,
        )
        changes = self.uow.current()
        assert changes is not None, "a correction is a use case"
        changes.emit(
            SessionCorrected(
                occurred_at=self.clock.now(),
                session_id=str(session_id),
                station_id=str(session["station_id"]),
                started_at=session["started_at"],
                stopped_at=stop,
                energy_wh=energy,
                session_type=verdict.type.value,
                type_reason=verdict.reason,
                stop_reason=str(session["stop_reason"] or ""),
                previous_stopped_at=session["stopped_at"],
                previous_energy_wh=int(session["energy_wh"] or 0),
                previous_session_type=str(session["session_type"]),
                reason=reason,
            )
        )
        await self.audit.record(
            actor,
            "session.correct",
            "session",
            session_id,
            None,
            {
                "reason": reason,
                "stopped_at": stop.isoformat(),
                "meter_stop_wh": meter,
                "session_type": verdict.type.value,
            },
        )
        return verdict.type.value
