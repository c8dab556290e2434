"""Who pays and earns what for each finished session, decided when it closes and again when its
data is corrected: a consumer of the session events (``domain.session_prices`` decides; the
tariffs' engine prices).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from voltflow.domain.access import Actor, Permission
from voltflow.domain.authorization import AuthorizationStatus
from voltflow.domain.events import Event, SessionClosed, SessionCorrected
from voltflow.domain.licences import DeviceKind, DeviceRef
from voltflow.domain.money import MINOR_UNITS
from voltflow.domain.records import CardDetail
from voltflow.domain.session_prices import (
    PriceFacts,
    PriceLine,
    SessionToPrice,
    Tariffed,
    price_lines,
)
from voltflow.domain.session_types import SessionFacts, SessionType, ValidityBounds, classify
from voltflow.domain.tariffs import (
    CdrDimension,
    ChargingPeriod,
    TariffError,
    TariffVersion,
    in_force,
    price_session,
)
from voltflow.domain.tariffs.linear import MAX_WH, TariffSpan, spans
from voltflow.i18n import _
from voltflow.services.access import require
from voltflow.services.audit import AuditTrail
from voltflow.services.charging_periods import ChargingPeriodsService
from voltflow.services.licences import LicenceService
from voltflow.services.ports import Clock, UnitOfWork
from voltflow.services.stations import StationNotFound
from voltflow.services.units import use_case
from voltflow.store.session_prices import LinearRun, SessionPriceRepository
from voltflow.store.stations import StationRepository
from voltflow.store.tariffs import TariffRepository
from voltflow.store.users import UserRepository

log = logging.getLogger(__name__)
HOUR = Decimal(3600)
# A batch of sessions from this size on is priced in the database as far as it can be; a
# re-pricing of all of them goes through them this many at a time (one transaction each).
LINEAR_BATCH = 200
LINEAR_RANGE = 20_000
LINEAR_IDS = 5_000  # ids in one statement (SQLite takes 32,766 parameters)


class LicenceRateSource(Protocol):
    """The reimbursement rate (€/kWh) of the split-billing licence a session falls under."""

    async def rates_for(self, sessions: Sequence[SessionToPrice]) -> Mapping[int, Decimal]: ...


class StoredPeriods(Protocol):
    """The OCPI charging periods stored with sessions (those without are absent)."""

    async def periods_of(
        self, session_ids: Sequence[int]
    ) -> Mapping[int, Sequence[ChargingPeriod]]: ...


def whole_session(session: SessionToPrice) -> tuple[ChargingPeriod, ...]:
    """One period for a session whose meter values were not kept: all its energy, all its time
    charging."""
    seconds = Decimal((session.stopped_at - session.started_at).total_seconds())
    return (
        ChargingPeriod(
            session.started_at,
            {
                CdrDimension.ENERGY: Decimal(session.energy_wh) / 1000,
                CdrDimension.TIME: max(seconds, Decimal(0)) / HOUR,
            },
        ),
    )


class SessionPricing:
    """Prices the sessions the events name, a batch at a time; a session whose tariff cannot
    price it (another currency, a broken version) keeps no lines and is logged, so that one bad
    tariff does not hold up everyone else's prices."""

    name = "session-pricing"
    kinds = frozenset({SessionClosed.kind, SessionCorrected.kind})

    def __init__(
        self,
        repo: SessionPriceRepository,
        tariffs: TariffRepository,
        clock: Clock,
        *,
        timezone: str = "Europe/Brussels",
        currency: str = "EUR",
        emsp_margin_per_kwh: Decimal = Decimal(0),
        licences: LicenceRateSource | None = None,
        periods: StoredPeriods | None = None,
    ) -> None:
        self.repo = repo
        self.tariffs = tariffs
        self.clock = clock
        self.timezone = timezone
        self.currency = currency
        self.emsp_margin_per_kwh = emsp_margin_per_kwh
        self.licences = licences
        self.periods = periods

    async def handle(self, event: Event) -> None:
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[Event]) -> None:
        # An external device's imported session ("device-<n>") carries its reimbursement from
        # its import: no price lines.
        ids = sorted(
            {
                int(event.session_id)
                for event in events
                if isinstance(event, SessionClosed | SessionCorrected)
                and event.session_id.isdigit()
            }
        )
        await self.price(ids)

    async def price(self, session_ids: Sequence[int]) -> dict[int, tuple[PriceLine, ...]]:
        """Prices these sessions now and stores their lines as their current ones."""
        return await self.price_sessions(await self.repo.to_price(session_ids))

    async def price_sessions(
        self, sessions: Sequence[SessionToPrice]
    ) -> dict[int, tuple[PriceLine, ...]]:
        """Prices these sessions and stores their lines as their current ones: a batch of at
        least ``LINEAR_BATCH`` in the database as far as linear tariffs price it
        (``linear_run``), the rest (and a smaller batch) one by one with the engine."""
        run = self.linear_run() if len(sessions) >= LINEAR_BATCH else None
        every = await self.linear_spans() if run is not None else None
        if run is None or every is None:
            return await self.price_each(sessions)
        ids = [s.session_id for s in sessions]
        decided: dict[int, tuple[PriceLine, ...]] = {}
        for start in range(0, len(ids), LINEAR_IDS):
            chunk = ids[start : start + LINEAR_IDS]
            _, rest = await self.repo.price_linear(every, run, self.clock.now(), ids=chunk)
            left = set(rest)
            decided |= await self.repo.current([i for i in chunk if i not in left])
        left = set(ids) - set(decided)
        decided |= await self.price_each([s for s in sessions if s.session_id in left])
        return decided

    def linear_run(self) -> LinearRun | None:
        """How the database prices sessions under linear tariffs, or None when it cannot price
        them as the engine would: a negative or too fine eMSP margin, a currency without cents,
        or charging periods from elsewhere than the platform's own table."""
        if self.periods is not None and not isinstance(self.periods, PeriodsForPricing):
            return None
        if MINOR_UNITS.get(self.currency) != 2 or self.emsp_margin_per_kwh < 0:
            return None
        # The margin is cents(kWh × margin): in cents per Wh, margin / 10.
        per_wh = Fraction(self.emsp_margin_per_kwh) / 10
        if 2 * MAX_WH * per_wh.numerator + per_wh.denominator >= 2**62:
            return None
        return LinearRun(
            self.currency, per_wh.numerator, per_wh.denominator, self.periods is not None
        )

    async def linear_spans(self) -> list[TariffSpan] | None:
        """Every tariff's stretches of time, each priced by one version (linear or not); None
        when a stored tariff cannot be read (the engine then says which session it fails)."""
        try:
            every = await self.tariffs.every_version()
        except (TariffError, ValueError) as exc:
            log.error("tariffs not read for pricing in the database: %s", exc)
            return None
        return [span for versions in every.values() for span in spans(versions, self.currency)]

    async def price_each(
        self, sessions: Sequence[SessionToPrice]
    ) -> dict[int, tuple[PriceLine, ...]]:
        """Prices these sessions one by one with the engine and stores their lines."""
        if not sessions:
            return {}
        split = [s for s in sessions if s.session_type is SessionType.SPLIT_BILLING]
        rates = await self.licences.rates_for(split) if split and self.licences else {}
        normal = [s.session_id for s in sessions if s.session_type is SessionType.NORMAL]
        stored = await self.periods.periods_of(normal) if normal and self.periods else {}
        versions: dict[str, list[TariffVersion]] = {}
        decided: dict[int, tuple[PriceLine, ...]] = {}
        for session in sessions:
            try:
                facts = await self.facts_for(session, rates, stored, versions)
                decided[session.session_id] = price_lines(facts)
            except (TariffError, ValueError) as exc:
                log.error("session %s not priced: %s", session.session_id, exc)
        await self.repo.replace(
            [
                (s.session_id, s.session_type, decided[s.session_id])
                for s in sessions
                if s.session_id in decided
            ],
            self.clock.now(),
        )
        return decided

    async def facts_for(
        self,
        session: SessionToPrice,
        rates: Mapping[int, Decimal],
        stored: Mapping[int, Sequence[ChargingPeriod]],
        versions: dict[str, list[TariffVersion]],
    ) -> PriceFacts:
        facts = PriceFacts(
            session.session_type,
            session.energy_wh,
            self.currency,
            emsp_margin_per_kwh=self.emsp_margin_per_kwh,
            licence_rate=rates.get(session.session_id),
        )
        if session.session_type is not SessionType.NORMAL:
            return facts
        periods = stored.get(session.session_id) or whole_session(session)
        driver_tariff = session.discount_tariff_id or session.station_tariff_id
        driver = await self._priced(driver_tariff, session, periods, versions)
        host = await self._priced(session.host_tariff_id, session, periods, versions)
        return PriceFacts(
            session.session_type,
            session.energy_wh,
            self.currency,
            driver=driver,
            discounted=driver is not None and driver_tariff == session.discount_tariff_id,
            host=host,
            emsp_margin_per_kwh=self.emsp_margin_per_kwh,
        )

    async def _priced(
        self,
        tariff_id: str | None,
        session: SessionToPrice,
        periods: Sequence[ChargingPeriod],
        versions: dict[str, list[TariffVersion]],
    ) -> Tariffed | None:
        if tariff_id is None:
            return None
        if tariff_id not in versions:
            versions[tariff_id] = await self.tariffs.versions(tariff_id)
        version = in_force(versions[tariff_id], session.started_at)
        if version is None:
            return None
        priced = price_session(
            version.tariff,
            periods,
            session.started_at,
            session.stopped_at,
            time_zone=self.timezone,
            currency=self.currency,
        )
        return Tariffed(priced.total_cost, priced.currency, version.tariff_id, version.version)


async def reprice_all(pricing: SessionPricing, batch: int = 1000) -> int:
    """Every finished session priced again (after a tariff was corrected): the count. Those
    linear tariffs price are priced by the database, ``LINEAR_RANGE`` at a time; the others
    by the engine, ``batch`` at a time."""
    run = pricing.linear_run()
    every = await pricing.linear_spans() if run is not None else None
    if run is not None and every is not None:
        return await _reprice_linear(pricing, run, every, batch)
    after, count = 0, 0
    while True:
        sessions = await pricing.repo.to_price_after(after, batch)
        if not sessions:
            return count
        await pricing.price_each(sessions)
        after = sessions[-1].session_id
        count += len(sessions)


async def _reprice_linear(
    pricing: SessionPricing, run: LinearRun, spans_now: Sequence[TariffSpan], batch: int
) -> int:
    after, count = 0, 0
    while True:
        upto = await pricing.repo.finished_after(after, LINEAR_RANGE)
        priced, rest = await pricing.repo.price_linear(
            spans_now, run, pricing.clock.now(), after=after, upto=upto
        )
        count += priced + len(rest)
        for start in range(0, len(rest), batch):
            await pricing.price_each(await pricing.repo.to_price(rest[start : start + batch]))
        if upto is None:
            return count
        after = upto


class TokenCheck(Protocol):
    async def check_token(self, id_tag: str) -> AuthorizationStatus: ...


class WhitelistCheck(Protocol):
    async def whitelisted(self, station_id: str, uid: str) -> bool: ...


class CardLookup(Protocol):
    async def get(self, actor: Actor, uid: str) -> CardDetail: ...


@dataclass(frozen=True, slots=True)
class PriceEstimate:
    """What a charge would cost before it starts: the type it would get, why, and its lines."""

    session_type: SessionType
    reason: str
    lines: tuple[PriceLine, ...]


class PricingError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class PricingService:
    """A station's public tariff and host, a session's lines and their history."""

    def __init__(
        self,
        pricing: SessionPricing,
        stations: StationRepository,
        users: UserRepository,
        audit: AuditTrail,
        clock: Clock,
        *,
        uow: UnitOfWork,
        cards: CardLookup,
        tokens: TokenCheck,
        whitelists: WhitelistCheck,
        bounds: ValidityBounds | None = None,
    ) -> None:
        self.clock = clock
        self.cards = cards
        self.tokens = tokens
        self.whitelists = whitelists
        self.bounds = bounds or ValidityBounds()
        self.pricing = pricing
        self.repo = pricing.repo
        self.stations = stations
        self.users = users
        self.audit = audit
        self.uow = uow

    @use_case
    async def set_station_prices(
        self,
        actor: Actor,
        station_id: str,
        *,
        tariff_id: str | None,
        host: str | None = None,
        host_tariff_id: str | None = None,
    ) -> None:
        """What a public session at the station costs, and who hosts it and is paid by which
        tariff (None: nobody). Only the operator sets prices."""
        require(actor, Permission.CONTRACTS_WRITE, None)
        for field, tariff in (("tariff_id", tariff_id), ("host_tariff_id", host_tariff_id)):
            if tariff is not None and not await self.pricing.tariffs.versions(tariff):
                raise PricingError(_("no tariff %(id)s") % {"id": tariff}, field)
        host_user_id = None
        if host is not None:
            user = await self.users.by_username(host)
            if user is None:
                raise PricingError(_("no person %(name)s") % {"name": host}, "host")
            host_user_id = int(user["id"])
        if host_tariff_id is not None and host_user_id is None:
            raise PricingError(_("a host's tariff needs a host"), "host")
        if not await self.repo.set_station_prices(
            station_id,
            tariff_id=tariff_id,
            host_user_id=host_user_id,
            host_tariff_id=host_tariff_id,
        ):
            raise PricingError(_("no station %(id)s") % {"id": station_id}, "station_id")
        await self.audit.record(
            actor,
            "station.prices",
            "station",
            station_id,
            None,
            {"tariff_id": tariff_id, "host": host, "host_tariff_id": host_tariff_id},
        )

    async def reprice_all(self, actor: Actor) -> int:
        require(actor, Permission.CONTRACTS_WRITE, None)
        return await reprice_all(self.pricing)

    async def estimate(
        self,
        actor: Actor,
        station_id: str,
        card_uid: str,
        energy_wh: int,
        duration: timedelta,
    ) -> PriceEstimate:
        """The price a driver will pay (or be reimbursed) for a charge of ``energy_wh`` over
        ``duration`` starting now, typed and priced as the session would be when it ends. The
        card must be one the person may see; any station may be asked about."""
        card = await self.cards.get(actor, card_uid)
        targets = await self.repo.tariffs_for(station_id, card.uid)
        if targets is None:
            raise StationNotFound(station_id)
        now = self.clock.now()
        session = SessionToPrice(
            session_id=0,
            station_id=station_id,
            id_tag=card.uid,
            started_at=now,
            stopped_at=now + duration,
            energy_wh=energy_wh,
            session_type=SessionType.NORMAL,
            station_tariff_id=targets[0],
            host_tariff_id=targets[1],
            discount_tariff_id=targets[2],
        )
        licences = self.pricing.licences
        rates = await licences.rates_for([session]) if licences is not None else {}
        status = await self.tokens.check_token(card.uid)
        verdict = classify(
            SessionFacts(
                token_accepted=status is AuthorizationStatus.ACCEPTED,
                energy_wh=energy_wh,
                duration=duration,
                licensed_employee_token=0 in rates,
                on_station_whitelist=await self.whitelists.whitelisted(station_id, card.uid),
            ),
            self.bounds,
        )
        session = replace(session, session_type=verdict.type)
        facts = await self.pricing.facts_for(session, rates, {}, {})
        return PriceEstimate(verdict.type, verdict.reason, price_lines(facts))


class PeriodsForPricing:
    """The charging periods the OCPP side keeps (``services.charging_periods``), in the shape the
    tariffs' engine prices: a session closing is priced and given its periods by two consumers
    in no set order, so a session without stored periods has them computed here first."""

    def __init__(self, periods: ChargingPeriodsService) -> None:
        self.periods = periods

    async def periods_of(
        self, session_ids: Sequence[int]
    ) -> Mapping[int, Sequence[ChargingPeriod]]:
        stored = await self.periods.repo.of_sessions(session_ids)
        missing = [i for i in session_ids if i not in stored]
        if missing:
            stored |= await self.periods.recompute_many(missing)
        return {
            session_id: [
                ChargingPeriod(
                    p.start,
                    # The same OCPI CdrDimensionType names on both sides.
                    {CdrDimension(d.type.value): d.volume for d in p.dimensions},
                )
                for p in periods
            ]
            for session_id, periods in stored.items()
            if periods
        }


class LicenceRates:
    """The licences' rates (``services.licences``) for sessions at stations: a session with no
    rate (no licence holds its card, or the CREG table lacks its quarter) is left out."""

    def __init__(self, licences: LicenceService) -> None:
        self.licences = licences

    async def rates_for(self, sessions: Sequence[SessionToPrice]) -> Mapping[int, Decimal]:
        rates: dict[int, Decimal] = {}
        for session in sessions:
            line = await self.licences.line(
                DeviceRef(DeviceKind.STATION, session.station_id),
                str(session.session_id),
                session.id_tag,
                session.started_at,
                session.stopped_at,
                session.energy_wh,
            )
            if line is not None and line.rate is not None:
                rates[session.session_id] = line.rate.per_kwh
        return rates
