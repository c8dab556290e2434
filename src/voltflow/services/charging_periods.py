"""A closed session's charging periods (``domain.charging_periods``): computed from its readings
and its connector's statuses when it closes and again when it is corrected, stored with it, and
read by the console, the API and whatever prices it."""

from __future__ import annotations

from collections.abc import Sequence

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.charging_periods import ChargingPeriod, periods_from
from voltflow.domain.events import Event, SessionClosed, SessionCorrected
from voltflow.services.access import scope_of
from voltflow.services.sessions import SessionNotFound
from voltflow.store.charging_periods import ChargingPeriodRepository
from voltflow.store.sessions import SessionRepository


class ChargingPeriodsService:
    def __init__(self, periods: ChargingPeriodRepository, sessions: SessionRepository) -> None:
        self.repo = periods
        self.sessions = sessions

    async def of_session(
        self, session_id: int, *, actor: Actor = PLATFORM
    ) -> tuple[ChargingPeriod, ...]:
        """The session's periods, in order; none while it is open. SessionNotFound for a
        session the person may not see, as for one that does not exist."""
        within = scope_of(actor, Permission.SESSIONS_READ)
        if within is not None and not await self.sessions.visible(
            session_id, within=within, driver_id=actor.user_id
        ):
            raise SessionNotFound(session_id)
        if within is None and await self.sessions.find(session_id) is None:
            raise SessionNotFound(session_id)
        return await self.repo.of_session(session_id)

    async def recompute(self, session_id: int) -> tuple[ChargingPeriod, ...]:
        """Computes the closed session's periods from what is stored now and replaces those
        stored before (none for a session unknown or still open). Also for sessions closed
        before periods were kept."""
        return (await self.recompute_many([session_id])).get(session_id, ())

    async def recompute_many(
        self, session_ids: Sequence[int]
    ) -> dict[int, tuple[ChargingPeriod, ...]]:
        """:meth:`recompute` for each of these sessions, read and written a batch at a time."""
        computed = {
            session_id: periods_from(
                source.started_at,
                source.stopped_at,
                source.meter_start_wh,
                source.meter_stop_wh,
                source.readings,
                source.statuses,
            )
            for session_id, source in (await self.repo.sources(session_ids)).items()
        }
        await self.repo.replace_many(dict(computed))
        return computed


class SessionChargingPeriods:
    """A consumer of session events: a session that closes gets its periods, one whose stop is
    corrected gets them again (replacing the first ones). Handling an event again replaces the
    periods with the same ones."""

    name = "session-charging-periods"
    kinds = frozenset({SessionClosed.kind, SessionCorrected.kind})

    def __init__(self, service: ChargingPeriodsService) -> None:
        self.service = service

    async def handle(self, event: Event) -> None:
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[Event]) -> None:
        # A batch may close and correct one session: computed once, from what is stored now.
        # An external device's imported session ("device-<n>") has no readings to compute from.
        sessions = dict.fromkeys(
            int(e.session_id)
            for e in events
            if isinstance(e, SessionClosed | SessionCorrected) and e.session_id.isdigit()
        )
        await self.service.recompute_many(list(sessions))
