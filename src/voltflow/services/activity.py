"""Sessions and energy per station, and per card holder (organisation and driver), and day, kept
up to date from the session events: what the dashboards' charts and the station page's recent
activity read, without scanning sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from voltflow.domain.access import Actor, Permission
from voltflow.domain.activity import by_month, months_back
from voltflow.domain.events import Event, SessionClosed, SessionCorrected
from voltflow.services.access import require, scope_of
from voltflow.services.ports import Clock
from voltflow.store.activity import ActivityRepository
from voltflow.store.stations import StationRepository


class StationDailyTotals:
    """A consumer of session events. A session counts on the local day it started; a corrected
    session moves its energy by the difference."""

    name = "station-daily-totals"
    kinds = frozenset({SessionClosed.kind, SessionCorrected.kind})

    def __init__(self, repo: ActivityRepository, timezone: str = "Europe/Brussels") -> None:
        self.repo = repo
        self.zone = ZoneInfo(timezone)

    async def handle(self, event: Event) -> None:
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[Event]) -> None:
        """A batch's sessions summed per station and day: one statement for all."""
        sums: dict[tuple[str, date], list[int]] = {}
        for event in events:
            if (
                isinstance(event, SessionClosed | SessionCorrected)
                and not event.session_id.isdigit()
            ):
                continue  # an external device's imported session: counted under its card only
            if isinstance(event, SessionClosed):
                counted, energy = 1, event.energy_wh
            elif isinstance(event, SessionCorrected):
                counted, energy = 0, event.energy_wh - event.previous_energy_wh
            else:
                continue
            key = (event.station_id, event.started_at.astimezone(self.zone).date())
            total = sums.setdefault(key, [0, 0])
            total[0] += counted
            total[1] += energy
        await self.repo.add_many_station_totals(
            [(station, day, n, wh) for (station, day), (n, wh) in sums.items()]
        )


class CardDailyTotals:
    """A consumer of session events: the same totals per holder of the session's card, its
    organisation and its driver as the card says when the event is applied (0 for none). A
    card with neither, or a token that is no card of ours (a roaming or free-vend token),
    counts in no holder's totals: it is no one's to chart. A correction event names no token:
    its session's is looked up, and its energy difference goes to that card's holder."""

    name = "card-daily-totals"
    kinds = frozenset({SessionClosed.kind, SessionCorrected.kind})

    def __init__(self, repo: ActivityRepository, timezone: str = "Europe/Brussels") -> None:
        self.repo = repo
        self.zone = ZoneInfo(timezone)

    async def handle(self, event: Event) -> None:
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[Event]) -> None:
        # Sessions are numbered (their OCPP transactionId); anything else names none of ours.
        corrected = [
            int(e.session_id)
            for e in events
            if isinstance(e, SessionCorrected) and e.session_id.isdigit()
        ]
        tokens_of = await self.repo.session_tokens(corrected)
        counted: list[tuple[str, date, int, int]] = []
        for event in events:
            if isinstance(event, SessionClosed):
                token: str | None = event.id_token
                n, wh = 1, event.energy_wh
            elif isinstance(event, SessionCorrected):
                number = event.session_id
                token = tokens_of.get(int(number)) if number.isdigit() else None
                n, wh = 0, event.energy_wh - event.previous_energy_wh
            else:
                continue
            if token is not None:
                counted.append((token, event.started_at.astimezone(self.zone).date(), n, wh))
        holders = await self.repo.card_holders({token for token, *_ in counted})
        sums: dict[tuple[int, int, date], list[int]] = {}
        for token, day, n, wh in counted:
            organisation_id, driver_id = holders.get(token, (None, None))
            if organisation_id is None and driver_id is None:
                continue
            total = sums.setdefault((organisation_id or 0, driver_id or 0, day), [0, 0])
            total[0] += n
            total[1] += wh
        await self.repo.add_many_card_totals(
            [(o, p, day, n, wh) for (o, p, day), (n, wh) in sums.items()]
        )


Totals = list[tuple[date, int, int]]


class ActivityService:
    def __init__(
        self,
        repo: ActivityRepository,
        stations: StationRepository,
        clock: Clock,
        timezone: str = "Europe/Brussels",
    ) -> None:
        self.repo = repo
        self.stations = stations
        self.clock = clock
        self.zone = ZoneInfo(timezone)

    async def station_days(
        self, actor: Actor, station_id: str, days: int = 30
    ) -> list[tuple[date, int, int]]:
        """(local day, sessions, Wh) for the station's last ``days`` days that had sessions."""
        station = await self.stations.get(station_id)
        require(
            actor,
            Permission.STATIONS_READ,
            station.organisation_id if station else None,
            missing=lambda: LookupError(station_id),
            exists=station is not None,
        )
        today = self.clock.now().astimezone(self.zone).date()
        return await self.repo.station_totals(station_id, today - timedelta(days=days - 1))

    # -- the dashboards' charts: per day over the last days, per month over the last months ---
    def _today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    def _days_since(self, days: int) -> date:
        return self._today() - timedelta(days=days - 1)

    def _months_since(self, months: int) -> date:
        return months_back(self._today(), months)

    async def _owner(self, actor: Actor, since: date, organisation_id: int | None) -> Totals:
        return await self.repo.owner_totals(
            since, scope_of(actor, Permission.SESSIONS_READ), organisation_id
        )

    async def owner_days(
        self, actor: Actor, organisation_id: int | None = None, days: int = 30
    ) -> Totals:
        """(local day, sessions, Wh) of the stations the actor's organisations own (all, for the
        operator; ``organisation_id``'s among them), for the last ``days`` days that had any.
        Another organisation's give nothing."""
        return await self._owner(actor, self._days_since(days), organisation_id)

    async def owner_months(
        self, actor: Actor, organisation_id: int | None = None, months: int = 12
    ) -> Totals:
        """The same per month (under its first day), for the last ``months`` months."""
        return by_month(await self._owner(actor, self._months_since(months), organisation_id))

    async def _cards(
        self, actor: Actor, since: date, organisation_id: int | None, driver_id: int | None
    ) -> Totals:
        return await self.repo.card_totals(
            since,
            scope_of(actor, Permission.SESSIONS_READ),
            organisation_id=organisation_id,
            driver_id=driver_id,
        )

    async def company_days(
        self,
        actor: Actor,
        organisation_id: int | None = None,
        driver_id: int | None = None,
        days: int = 30,
    ) -> Totals:
        """(local day, sessions, Wh) of the cards of the actor's organisations (all, for the
        operator), narrowed to one organisation and/or one driver's cards among them."""
        return await self._cards(actor, self._days_since(days), organisation_id, driver_id)

    async def company_months(
        self,
        actor: Actor,
        organisation_id: int | None = None,
        driver_id: int | None = None,
        months: int = 12,
    ) -> Totals:
        return by_month(
            await self._cards(actor, self._months_since(months), organisation_id, driver_id)
        )

    async def my_days(self, actor: Actor, days: int = 30) -> Totals:
        """A person's own cards' sessions, whichever organisation gave them the cards."""
        return await self.repo.card_totals(self._days_since(days), None, driver_id=actor.user_id)

    async def my_months(self, actor: Actor, months: int = 12) -> Totals:
        return by_month(
            await self.repo.card_totals(self._months_since(months), None, driver_id=actor.user_id)
        )
