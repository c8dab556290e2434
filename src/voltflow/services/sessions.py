"""Reading charging sessions: lists with filters, one session with its meter values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from voltflow.store.repositories import Page, SessionRepository


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
    ) -> Page:
        page = await self.repo.page(
            station_id=station_id,
            id_tag=id_tag,
            active=active,
            started_from=started_from,
            started_to=started_to,
            offset=offset,
            limit=limit,
        )
        open_ids = [int(s["id"]) for s in page.items if s["stopped_at"] is None]
        live = await self.repo.latest_energy(open_ids)
        for s in page.items:
            reading = live.get(int(s["id"]))
            s["live_energy_wh"] = (
                int(reading) - int(s["meter_start_wh"]) if reading is not None else None
            )
        return page

    async def get(self, session_id: int) -> dict[str, Any]:
        session = await self.repo.get(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        session["meter_values"] = await self.repo.meter_values(session_id)
        return session
