"""Reading charging sessions: lists with filters, one session with its meter values and its signed
meter values. A person sees the sessions at their organisations' stations, with their
organisations' cards, and their own."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from voltflow.domain.access import PLATFORM, Actor, Permission
from voltflow.domain.ocmf import TransparencyDataset, read_signed_value, transparency_xml
from voltflow.domain.sessions import SignedMark, signed_start_end
from voltflow.services.access import scope_of
from voltflow.store.paging import Page
from voltflow.store.sessions import SessionRepository


class SessionNotFound(LookupError):
    pass


class SessionService:
    def __init__(self, sessions: SessionRepository) -> None:
        self.repo = sessions

    async def search(
        self,
        *,
        station_id: str | None = None,
        id_tag: str | None = None,
        active: bool | None = None,
        started_from: datetime | None = None,
        started_to: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
        actor: Actor = PLATFORM,
    ) -> Page:
        within = scope_of(actor, Permission.SESSIONS_READ)
        page = await self.repo.page(
            station_id=station_id,
            id_tag=id_tag,
            active=active,
            started_from=started_from,
            started_to=started_to,
            offset=offset,
            limit=limit,
            within=within,
            driver_id=actor.user_id if within is not None else None,
        )
        open_ids = [int(s["id"]) for s in page.items if s["stopped_at"] is None]
        live = await self.repo.latest_energy(open_ids)
        for s in page.items:
            reading = live.get(int(s["id"]))
            s["live_energy_wh"] = (
                int(reading) - int(s["meter_start_wh"]) if reading is not None else None
            )
        return page

    async def get(self, session_id: int, *, actor: Actor = PLATFORM) -> dict[str, Any]:
        within = scope_of(actor, Permission.SESSIONS_READ)
        if within is not None:
            visible = await self.repo.page(
                within=within, driver_id=actor.user_id, session_id=session_id, limit=1
            )
            if not visible.items:
                raise SessionNotFound(session_id)
        session = await self.repo.get(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        session["meter_values"] = await self.repo.meter_values(session_id)
        session["signed_meter_values"] = signed_views(await self.repo.signed_values(session_id))
        return session

    async def transparency_file(self, session_id: int, *, actor: Actor = PLATFORM) -> str:
        """The session's signed values in the XML file a transparency tool reads, to check
        their signatures (the platform does not)."""
        session = await self.get(session_id, actor=actor)
        return transparency_xml(
            [
                TransparencyDataset(v["context"], session_id, v["data"], v["public_key"])
                for v in session["signed_meter_values"]
            ]
        )


def signed_views(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The session's signed values as stored, each with its OCMF record decoded (``ocmf``, None
    when there is none) and whether it is the session's signed start or end reading. Decoded
    again on every read: the block as received is the one source, the decoding only a view."""
    read = [read_signed_value(row["data"]) for row in rows]
    start, end = signed_start_end(
        [
            SignedMark(
                row["sampled_at"], row["context"], value.ocmf.transactions if value.ocmf else ()
            )
            for row, value in zip(rows, read, strict=True)
        ]
    )
    views = []
    for i, (row, value) in enumerate(zip(rows, read, strict=True)):
        views.append(
            {
                **row,
                "ocmf": asdict(value.ocmf) if value.ocmf else None,
                "signing_method": value.signing_method,
                "session_start": i == start,
                "session_end": i == end,
            }
        )
    return views
