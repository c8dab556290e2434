"""A month of charging to bill, made as people make it: a company with a contract under a SEPA
mandate and two drivers with cards, a split-billing licence at an employee's home station with
the release note's two sessions, a whitelist and an invalid session there, a public station with
its tariff and host; every session charged over OCPP and priced by the platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.conftest import make_settings
from tests.factories import Company, company, operator, stock_csv
from tests.factories import tariff_document as tariff
from tests.ocpp.support import add_station, eventually, ocpp_station, transaction
from voltflow.bootstrap import Platform, build
from voltflow.domain.access import Actor, OrganisationKind, Role
from voltflow.domain.billing.runs import BillingPeriod
from voltflow.domain.contracts import ContractKind
from voltflow.domain.licences import FixedRate
from voltflow.domain.session_types import SessionType
from voltflow.services.lists import ListKind

RATE = Decimal("0.6654")
HOST = "hilde"


class HandClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Month:
    platform: Platform
    clock: HandClock
    ocpp_url: str
    op: Actor
    acme: Company
    other: Company
    host: Actor
    uids: list[str]  # driver 0's card (licensed at HOME-1), driver 1's
    sessions: dict[str, int]  # what each session is, by name

    @property
    def last_period(self) -> BillingPeriod:
        return BillingPeriod.month(2026, 11)

    async def charge(self, station: str, uid: str, start: datetime, minutes: float, wh: int) -> int:
        async with ocpp_station(self.ocpp_url, station) as cp:
            session_id = await transaction(cp, uid, start, minutes, wh)

        async def priced() -> bool:
            return session_id in await self.platform.pricing.repo.current([session_id])

        await eventually(priced, timeout=10)
        return session_id


@pytest.fixture
async def month(database_url: str) -> AsyncIterator[Month]:
    clock = HandClock()
    platform = build(make_settings(database_url), clock=clock)
    await platform.start()
    try:
        op = await operator(platform)
        acme = await company(platform, op, "Acme")
        other = await company(platform, op, "Globex", drivers=1)
        await platform.organisations.update(
            op,
            acme.id,
            {
                "vat_number": "BE0403170701",
                "street": "Kunstlaan 1",
                "postal_code": "1000",
                "city": "Brussel",
                "billing_email": "billing@acme.example",
            },
        )
        # Its cards' contract until the 10th of November, without fees; then a subscription
        # from the 11th (of a month of 30 days), under a mandate.
        await platform.contracts.create(
            op,
            acme.id,
            ContractKind.EMSP,
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 11, 10),
        )
        await platform.contracts.create(
            op,
            acme.id,
            ContractKind.EMSP,
            starts_on=date(2026, 11, 11),
            fee_per_card=Decimal("9.00"),
            mandate_reference="ACME-2026",
            mandate_iban="BE68539007547034",
            mandate_bic="GKCCBEBB",
            mandate_signed_on=date(2026, 10, 15),
        )
        await platform.contracts.create(op, other.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
        uids = await platform.cards.import_csv(op, stock_csv(3))
        await platform.cards.distribute(op, uids[:2], acme.id)
        await platform.cards.distribute(op, uids[2:], other.id)
        for uid, driver in zip(uids[:2], acme.drivers, strict=True):
            await platform.cards.assign(acme.manager, uid, driver.user_id)
        await platform.cards.assign(other.manager, uids[2], other.drivers[0].user_id)
        await platform.cards.activate(op, uids)
        # The host of the public station: a person of a household, paid on their IBAN.
        home = await platform.organisations.create(op, "Hilde's", OrganisationKind.HOUSEHOLD)
        hilde = await platform.organisations.add_person(
            op, home.id, HOST, Role.HOST, password="host-password", email="hilde@home.example"
        )
        await platform.organisations.set_person_iban(
            op, home.id, hilde.user_id, "BE62 5100 0754 7061"
        )
        host = await platform.accounts.actor(hilde.user_id)
        assert host is not None
        for station in ("HOME-1", "PUB-1", "GLOBEX-1"):
            await add_station(platform, station)
        await platform.stations.set_owner(op, "HOME-1", acme.id)
        await platform.tariffs.add(tariff("PUBLIC", "0.40"), actor=op)
        await platform.tariffs.add(tariff("HOST", "0.25"), actor=op)
        await platform.pricing.set_station_prices(
            op, "PUB-1", tariff_id="PUBLIC", host=HOST, host_tariff_id="HOST"
        )
        await platform.pricing.set_station_prices(op, "GLOBEX-1", tariff_id="PUBLIC")
        await platform.licences.add(
            acme.manager, "HOME-1", [uids[0]], FixedRate(RATE), valid_from=utc(2026, 11, 1)
        )
        whitelist = await platform.lists.create_list(
            acme.manager, acme.id, ListKind.WHITELIST, "Home guests", station_id="HOME-1"
        )
        await platform.lists.add_cards(acme.manager, whitelist.id, [uids[1]])
        await platform.lists.wait_idle()
        m = Month(platform, clock, "", op, acme, other, host, uids[:2], {})
        m.ocpp_url = f"ws://127.0.0.1:{platform.ocpp.port}/ocpp"
        m.sessions = {
            "split 3.667": await m.charge("HOME-1", uids[0], utc(2026, 11, 10, 14, 50), 15, 3667),
            "split 7.334": await m.charge("HOME-1", uids[0], utc(2026, 11, 11, 7, 30), 20, 7334),
            "whitelist": await m.charge("HOME-1", uids[1], utc(2026, 11, 12, 18, 0), 30, 5000),
            "invalid": await m.charge("HOME-1", uids[0], utc(2026, 11, 13, 9, 0), 1, 100),
            "public": await m.charge("PUB-1", uids[1], utc(2026, 11, 15, 10, 0), 30, 10_000),
            "globex": await m.charge("GLOBEX-1", uids[2], utc(2026, 11, 16, 10, 0), 30, 5_000),
        }
        kinds = {
            name: (await platform.sessions.get(session_id)).session_type
            for name, session_id in m.sessions.items()
        }
        assert kinds == {
            "split 3.667": SessionType.SPLIT_BILLING,
            "split 7.334": SessionType.SPLIT_BILLING,
            "whitelist": SessionType.WHITELIST,
            "invalid": SessionType.INVALID,
            "public": SessionType.NORMAL,
            "globex": SessionType.NORMAL,
        }
        # The month is over: billed on the 2nd of December.
        clock.at = utc(2026, 12, 2, 9, 0)
        yield m
    finally:
        await platform.stop()
