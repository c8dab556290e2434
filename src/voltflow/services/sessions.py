"""Reading charging sessions: lists with filters, one session with its meter values and its signed
meter values. A person sees the sessions at their organisations' stations, with their
organisations' cards, and their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.ocmf import TransparencyDataset, read_signed_value, transparency_xml
from voltflow.domain.paging import Page, PageRequest
from voltflow.domain.queries import SessionFilter
from voltflow.domain.records import Session, SessionDetail, SignedMeterValue, SignedMeterView
from voltflow.domain.sessions import SignedMark, signed_start_end
from voltflow.services.access import scope_of
from voltflow.store.sessions import SessionRepository


class SessionNotFound(LookupError):
    pass


class SessionService:
    def __init__(self, sessions: SessionRepository) -> None:
        self.repo = sessions

    async def search(
        self, filters: SessionFilter, page: PageRequest, *, actor: Actor = PLATFORM
    ) -> Page[Session]:
        """The sessions the person may see that ``filters`` finds; those still charging with
        the energy so far (``live_energy_wh``)."""
        within = scope_of(actor, Permission.SESSIONS_READ)
        found = await self.repo.page(
            filters,
            page,
            within=within,
            driver_id=actor.user_id if within is not None else None,
        )
        live = await self.repo.latest_energy([s.id for s in found.items if s.stopped_at is None])
        return replace(
            found,
            items=[
                replace(s, live_energy_wh=int(live[s.id]) - s.meter_start_wh) if s.id in live else s
                for s in found.items
            ],
        )

    async def count(self, filters: SessionFilter, *, actor: Actor = PLATFORM) -> int:
        """How many sessions :meth:`search` finds in all."""
        within = scope_of(actor, Permission.SESSIONS_READ)
        return await self.repo.count(
            filters, within=within, driver_id=actor.user_id if within is not None else None
        )

    async def export(
        self, filters: SessionFilter, *, actor: Actor = PLATFORM, batch: int = 2000
    ) -> AsyncIterator[Session]:
        """Every session :meth:`search` finds, in its order, read ``batch`` at a time (constant
        memory whatever their number); those still charging with their energy so far."""
        within = scope_of(actor, Permission.SESSIONS_READ)
        async for rows in self.repo.stream(
            filters,
            within=within,
            driver_id=actor.user_id if within is not None else None,
            batch=batch,
        ):
            live = await self.repo.latest_energy([s.id for s in rows if s.stopped_at is None])
            for s in rows:
                if s.id in live:
                    s = replace(s, live_energy_wh=int(live[s.id]) - s.meter_start_wh)
                yield s

    def csv_lines(
        self, filters: SessionFilter, *, actor: Actor = PLATFORM, now: datetime
    ) -> AsyncIterator[bytes]:
        """:meth:`export`'s sessions as the sessions export's CSV lines (no header), their text
        made by the database (PostgreSQL's COPY writes the file itself): several times faster
        than rows made records and formatted here, the same bytes."""
        within = scope_of(actor, Permission.SESSIONS_READ)
        return self.repo.csv_lines(
            filters,
            within=within,
            driver_id=actor.user_id if within is not None else None,
            now=now,
        )

    async def get(self, session_id: int, *, actor: Actor = PLATFORM) -> SessionDetail:
        within = scope_of(actor, Permission.SESSIONS_READ)
        if within is not None and not await self.repo.visible(
            session_id, within=within, driver_id=actor.user_id
        ):
            raise SessionNotFound(session_id)
        session = await self.repo.find(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        return SessionDetail(
            **{f: getattr(session, f) for f in _SESSION_FIELDS},
            meter_values=await self.repo.meter_values(session_id),
            signed_meter_values=signed_views(await self.repo.signed_values(session_id)),
        )

    async def transparency_file(self, session_id: int, *, actor: Actor = PLATFORM) -> str:
        """The session's signed values in the XML file a transparency tool reads, to check
        their signatures (the platform does not)."""
        session = await self.get(session_id, actor=actor)
        return transparency_xml(
            [
                TransparencyDataset(v.context, session_id, v.data, v.public_key)
                for v in session.signed_meter_values
            ]
        )


_SESSION_FIELDS = tuple(Session.__dataclass_fields__)
_SIGNED_FIELDS = tuple(SignedMeterValue.__dataclass_fields__)


def signed_views(rows: list[SignedMeterValue]) -> list[SignedMeterView]:
    """The session's signed values as stored, each with its OCMF record decoded (``ocmf``, None
    when there is none) and whether it is the session's signed start or end reading. Decoded
    again on every read: the block as received is the one source, the decoding only a view."""
    read = [read_signed_value(row.data) for row in rows]
    start, end = signed_start_end(
        [
            SignedMark(row.sampled_at, row.context, value.ocmf.transactions if value.ocmf else ())
            for row, value in zip(rows, read, strict=True)
        ]
    )
    return [
        SignedMeterView(
            **{f: getattr(row, f) for f in _SIGNED_FIELDS},
            ocmf=value.ocmf,
            signing_method=value.signing_method,
            session_start=i == start,
            session_end=i == end,
        )
        for i, (row, value) in enumerate(zip(rows, read, strict=True))
    ]
