"""The release note's activity views in the console, over real HTTP and real OCPP: the charge
points view of a company's station, the mobility view of its cards with the E-Charging type
filter, a driver's own history and session page; each side sees only its own."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from tests import factories
from tests.factories import tariff_document as tariff
from tests.ocpp.support import add_station, eventually, ocpp_station, transaction
from voltflow.bootstrap import Platform
from voltflow.domain.contracts import ContractKind
from voltflow.domain.licences import DeviceKind, FixedRate
from voltflow.services.lists import ListKind
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
T0 = datetime(2026, 11, 10, 13, 50, tzinfo=UTC)  # 14:50 in Brussels
UIDS = ["AC000001", "AC000002", "AC000003"]


@dataclass
class World:
    platform: Platform
    app: object
    sessions: dict[str, int]


@asynccontextmanager
async def login(
    app: object, username: str, password: str, language: str = "en"
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://test",
        headers={"Accept-Language": language},
    ) as client:
        page = await client.get("/login")
        token = CSRF_INPUT.search(page.text)
        assert token, page.text
        answer = await client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 303, answer.text
        yield client


@pytest.fixture
async def world(platform: Platform, ocpp_url: str) -> World:
    op = await factories.operator(platform)
    acme = await factories.company(platform, op, "Acme", drivers=2)
    await factories.company(platform, op, "Other", drivers=1)
    await add_station(platform, "CP-1")
    await platform.stations.set_owner(op, "CP-1", acme.id)
    await platform.contracts.create(op, acme.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
    stock = "uid,printed_number\n" + "".join(f"{uid},PN-{uid}\n" for uid in UIDS)
    uids = await platform.cards.import_csv(op, stock)
    await platform.cards.distribute(op, uids, acme.id)
    await platform.cards.assign(acme.manager, UIDS[0], acme.drivers[0].user_id)
    await platform.cards.assign(acme.manager, UIDS[1], acme.drivers[1].user_id)
    await platform.cards.activate(acme.manager, UIDS[:2])
    whitelist = await platform.lists.create_list(
        acme.manager, acme.id, ListKind.WHITELIST, "Car park", station_id="CP-1"
    )
    await platform.lists.add_cards(acme.manager, whitelist.id, [UIDS[1]])
    await add_station(platform, "HOME-1")  # at the first driver's home, under a licence
    await platform.stations.set_owner(op, "HOME-1", acme.id)
    await platform.licences.add(
        acme.manager,
        "HOME-1",
        [UIDS[0]],
        FixedRate(Decimal("0.6654")),
        valid_from=datetime(2026, 11, 1, tzinfo=UTC),
    )
    await platform.tariffs.add(tariff("PUBLIC", "0.40"), actor=op)
    await platform.organisations.add_operator("host-ann", "host-password-1")
    await platform.tariffs.add(tariff("HOST", "0.25"), actor=op)
    await platform.pricing.set_station_prices(
        op, "CP-1", tariff_id="PUBLIC", host="host-ann", host_tariff_id="HOST"
    )
    sessions: dict[str, int] = {}
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        for name, uid, wh, minutes, offset in (
            ("normal", UIDS[0], 3667, 15, 0),
            ("whitelist", UIDS[1], 11001, 40, 60),
            ("invalid", UIDS[0], 0, 49 / 60, 120),
        ):
            start = T0 + timedelta(minutes=offset)
            sessions[name] = await transaction(cp, uid, start, minutes, wh)
    # The release note's figure 1: two split-billing sessions at the employee's home.
    async with ocpp_station(ocpp_url, "HOME-1") as cp:
        for name, wh, minutes, offset in (("split", 3667, 15, 0), ("split2", 7334, 20, -1460)):
            start = T0 + timedelta(minutes=offset)
            sessions[name] = await transaction(cp, UIDS[0], start, minutes, wh)

    async def priced() -> bool:
        found = await platform.pricing.repo.current(sessions.values())
        return len(found) == len(sessions)

    await eventually(priced, timeout=10)
    return World(platform, create_app(platform), sessions)


async def test_the_charge_points_view_shows_the_hosts_price_and_the_type(world: World) -> None:
    async with login(world.app, "op", "op-password") as op:
        page = await op.get("/activity/charge-points")
    assert page.status_code == 200, page.text
    rows = re.findall(r'<tr data-session="(\d+)" data-type="(\w+)">(.*?)</tr>', page.text, re.S)
    by_type = {kind: cells for _, kind, cells in rows}
    assert set(by_type) == {"normal", "whitelist", "invalid", "split_billing"}
    normal = by_type["normal"]
    # 3.667 kWh: the host's 0.25/kWh + 21 % VAT = 1.109… → €1.11; the station's start in Brussels.
    assert "2026-11-10 14:50" in normal and "0:15:00" in normal and "3.667 kWh" in normal
    assert "€1.11" in normal and "Acme" in normal and ">Normal</a>" in normal
    assert ">Whitelist</a>" in by_type["whitelist"] and "–" in by_type["whitelist"]
    # Figure 1: the employee is reimbursed 3.667 kWh and 7.334 kWh at €0.6654/kWh, no VAT.
    split = [cells for _, kind, cells in rows if kind == "split_billing"]
    assert ["€2.44" in cells for cells in split] == [True, False]
    assert ["€4.88" in cells for cells in split] == [False, True]
    assert all(">Split billing</a>" in cells and "HOME-1" in cells for cells in split)


async def test_the_operators_empty_filter_fields_mean_no_filter(world: World) -> None:
    async with login(world.app, "op", "op-password") as op:
        page = await op.get("/activity/mobility?type=&from=&to=&station=&org=&person=&sort=")
        acme = await op.get("/activity/mobility?org=2&sort=-energy_wh")
    assert page.status_code == 200, page.text
    assert page.text.count("data-session=") == 5
    assert acme.status_code == 200 and acme.text.count("data-session=") == 5


async def test_the_mobility_view_filters_on_session_types(world: World) -> None:
    async with login(world.app, "acme-manager", "manager-pass") as fm:
        everything = await fm.get("/activity/mobility")
        picked = await fm.get("/activity/mobility?type=whitelist&type=invalid")
    kinds = re.findall(r'data-type="(\w+)"', everything.text)
    assert sorted(kinds) == ["invalid", "normal", "split_billing", "split_billing", "whitelist"]
    assert sorted(re.findall(r'data-type="(\w+)"', picked.text)) == ["invalid", "whitelist"]
    normal = re.search(r'data-type="normal">(.*?)</tr>', everything.text, re.S)
    assert normal is not None
    # 3.667 kWh × €0.40 + 21 % = €1.77 incl. VAT; "kWh – h:mm:ss" as the release note writes it.
    assert "3.667 kWh – 0:15:00" in normal.group(1) and "€1.77" in normal.group(1)


async def test_a_driver_sees_their_own_sessions_and_a_page_for_each(world: World) -> None:
    async with login(world.app, "acme-driver0", "driver-pass") as driver:
        mine = await driver.get("/my/sessions")
        detail = await driver.get(f"/my/sessions/{world.sessions['normal']}")
        others = await driver.get(f"/my/sessions/{world.sessions['whitelist']}")
    assert sorted(re.findall(r'data-type="(\w+)"', mine.text)) == [
        "invalid",
        "normal",
        "split_billing",
        "split_billing",
    ]
    assert detail.status_code == 200 and "€1.77" in detail.text
    async with login(world.app, "acme-driver0", "driver-pass") as driver:
        split = await driver.get(f"/my/sessions/{world.sessions['split']}")
    assert "Reimbursed to you" in split.text and "€2.44" in split.text and "€0.6654" in split.text
    assert others.status_code == 404  # the colleague's whitelisted session


async def test_a_french_speaking_driver_reads_the_release_notes_words(world: World) -> None:
    async with login(world.app, "acme-driver1", "driver-pass", "fr-BE") as driver:
        mine = await driver.get("/my/sessions")
    async with login(world.app, "acme-driver0", "driver-pass", "fr-BE") as driver:
        invalid = await driver.get(f"/my/sessions/{world.sessions['invalid']}")
    assert "Liste blanche" in mine.text and "Mes sessions" in mine.text
    assert "Non valable" in invalid.text


async def test_another_company_sees_none_of_it(world: World) -> None:
    async with login(world.app, "other-manager", "manager-pass") as other:
        for path in ("/activity/charge-points", "/activity/mobility", "/my/sessions"):
            page = await other.get(path)
            assert page.status_code == 200
            assert "data-session=" not in page.text, path


async def api_get(world: World, username: str, path: str, **params: object) -> httpx.Response:
    key = await world.platform.accounts.create_api_key(username)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.app),  # type: ignore[arg-type]
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        return await client.get(path, params=params)  # type: ignore[arg-type]


async def test_the_same_views_through_the_api(world: World) -> None:
    mine = await api_get(world, "acme-driver0", "/api/v1/activity/mine")
    assert mine.status_code == 200, mine.text
    rows = {row["session_type"]: row for row in mine.json()["items"]}
    assert set(rows) == {"normal", "invalid", "split_billing"}
    assert rows["normal"]["price_incl_vat"] == "1.77" and rows["normal"]["energy_wh"] == 3667
    detail = await api_get(
        world, "acme-driver0", f"/api/v1/activity/mine/{world.sessions['normal']}"
    )
    assert [line["party"] for line in detail.json()["lines"]] == ["driver", "host", "emsp", "cpo"]
    picked = await api_get(world, "acme-manager", "/api/v1/activity/mobility", type="whitelist")
    assert [row["session_type"] for row in picked.json()["items"]] == ["whitelist"]
    cpo = await api_get(world, "op", "/api/v1/activity/charge-points", sort="-energy_wh")
    assert [row["energy_wh"] for row in cpo.json()["items"]] == [11001, 7334, 3667, 3667, 0]
    exported = await api_get(
        world,
        "acme-manager",
        "/api/v1/activity/export",
        view="mobility",
        format="csv",
        type="whitelist",
    )
    assert exported.status_code == 200 and exported.text.count("\n") == 2, exported.text
    bad_zone = await api_get(
        world, "acme-manager", "/api/v1/activity/export", view="mobility", timezone="Mars/Olympus"
    )
    assert bad_zone.status_code == 422 and bad_zone.json()["errors"][0]["field"] == "timezone"
    other = await api_get(world, "other-manager", "/api/v1/activity/mobility")
    assert other.json()["total"] == 0
    theirs = await api_get(
        world, "acme-driver1", f"/api/v1/activity/mine/{world.sessions['normal']}"
    )
    assert theirs.status_code == 404


async def test_each_view_exports_what_it_shows_as_csv_and_xlsx(world: World) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    async with login(world.app, "acme-manager", "manager-pass", "nl-BE") as fm:
        page = await fm.get("/activity/mobility?type=split_billing")
        link = 'href="/activity/export?view=mobility&amp;format=csv&amp;type=split_billing"'
        assert link in page.text
        text = await fm.get("/activity/export?view=mobility&format=csv&type=split_billing")
        sheet = await fm.get("/activity/export?view=mobility&format=xlsx&type=split_billing")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text.text)))
    assert rows[0][:3] == ["Tijd", "Gebruiker", "Operator"]
    assert len(rows) == 3 and {row[rows[0].index("Type sessie")] for row in rows[1:]} == {
        "split_billing"
    }
    energies = sorted(row[rows[0].index("kWh")] for row in rows[1:])
    assert energies == ["3.667", "7.334"]  # machine formats in the CSV
    book = load_workbook(io.BytesIO(sheet.content), read_only=True)
    cells = list(book.active.iter_rows(values_only=True))
    assert len(cells) == 3 and cells[0][0] == "Tijd"
    assert sorted(row[3] for row in cells[1:]) == [3.667, 7.334]  # numbers, not text

    async with login(world.app, "op", "op-password") as op:
        hosts = await op.get("/activity/export?view=charge-points&format=csv&type=split_billing")
    table = list(csv.DictReader(io.StringIO(hosts.text)))
    assert sorted(row["Price (host)"] for row in table) == ["2.44", "4.88"]

    async with login(world.app, "other-manager", "manager-pass") as other:
        theirs = await other.get("/activity/export?view=mobility&format=csv")
    assert len(list(csv.reader(io.StringIO(theirs.text)))) == 1  # the header alone


# -- sessions an external device reported -------------------------------------------------------
@dataclass
class Cable:
    world: World
    session_id: int  # the imported split-billing session (3.667 kWh at €0.6654: €2.44)


@pytest.fixture
async def cable(world: World) -> Cable:
    platform = world.platform
    manager = await platform.accounts.find("acme-manager")
    assert manager is not None
    fm = await platform.accounts.actor(manager.id)
    assert fm is not None
    await platform.licences.add(
        fm,
        "NRG-1",
        [UIDS[0]],
        FixedRate(Decimal("0.6654")),
        valid_from=datetime(2026, 11, 1, tzinfo=UTC),
        device_kind=DeviceKind.CABLE,
    )
    result = await platform.licences.import_sessions(
        fm,
        "NRG-1",
        "started_at,stopped_at,kwh,card_uid\n"
        f"2026-11-12T19:00:00+01:00,2026-11-12T19:15:02+01:00,3.667,{UIDS[0]}\n",
    )
    (session,) = result.added
    return Cable(world, session.id)


async def test_an_imported_session_in_the_console_views(cable: Cable) -> None:
    world, ref = cable.world, f"device-{cable.session_id}"
    row = re.compile(rf'<(?:tr|li) data-session="{ref}" data-type="(\w+)">(.*?)</(?:tr|li)>', re.S)
    async with login(world.app, "acme-manager", "manager-pass") as fm:
        points = await fm.get("/activity/charge-points?station=NRG-1")
        mobility = await fm.get("/activity/mobility?type=split_billing")
        page = await fm.get(f"/device-sessions/{cable.session_id}")
    found = row.search(points.text)
    assert found is not None, points.text
    assert found.group(1) == "split_billing"
    cells = found.group(2)
    assert "NRG-1" in cells and "€2.44" in cells and "3.667 kWh" in cells
    assert f'href="/device-sessions/{cable.session_id}"' in cells
    assert points.text.count("data-session=") == 1  # the station filter names the device
    found = row.search(mobility.text)
    assert found is not None and "+ €2.44" in found.group(2)
    # Paged with the stations' split-billing sessions, newest first.
    assert re.findall(r'data-session="([\w-]+)"', mobility.text)[0] == ref
    assert page.status_code == 200 and "€2.44" in page.text and 'href="/activity/' in page.text

    async with login(world.app, "acme-driver0", "driver-pass") as driver:
        mine = await driver.get("/my/sessions")
        detail = await driver.get(f"/device-sessions/{cable.session_id}")
    found = row.search(mine.text)
    assert found is not None and "+ €2.44" in found.group(2) and "NRG-1" in found.group(2)
    assert f'href="/device-sessions/{cable.session_id}"' in found.group(2)
    assert detail.status_code == 200
    assert 'data-source="device"' in detail.text and "Home device" in detail.text
    assert "Reimbursed to you" in detail.text and "€2.44" in detail.text
    assert "€0.6654" in detail.text and 'href="/my/sessions"' in detail.text

    for username, password in (("acme-driver1", "driver-pass"), ("other-manager", "manager-pass")):
        async with login(world.app, username, password) as outsider:
            assert (await outsider.get(f"/device-sessions/{cable.session_id}")).status_code == 404
            for path in ("/activity/charge-points", "/activity/mobility", "/my/sessions"):
                assert ref not in (await outsider.get(path)).text


async def test_an_imported_session_through_the_api(cable: Cable) -> None:
    world = cable.world
    mine = await api_get(world, "acme-driver0", "/api/v1/activity/mine", type="split_billing")
    assert mine.status_code == 200, mine.text
    rows = mine.json()["items"]
    device = rows[0]  # the newest
    assert (device["source"], device["ref"]) == ("device", f"device-{cable.session_id}")
    assert (device["station_id"], device["energy_wh"], device["host_amount"]) == (
        "NRG-1",
        3667,
        "2.44",
    )
    assert device["host_party"] == "employee" and device["session_id"] == cable.session_id
    assert all(r["source"] == "station" for r in rows[1:])
    detail = await api_get(
        world, "acme-driver0", f"/api/v1/activity/device-sessions/{cable.session_id}"
    )
    assert detail.status_code == 200, detail.text
    assert [(line["party"], line["incl_vat"], line["rate"]) for line in detail.json()["lines"]] == [
        ("driver", "0.00", None),
        ("employee", "2.44", "0.6654"),
    ]
    points = await api_get(
        world, "acme-manager", "/api/v1/activity/charge-points", station_id="NRG-1"
    )
    assert points.json()["total"] == 1
    other = await api_get(
        world, "other-manager", f"/api/v1/activity/device-sessions/{cable.session_id}"
    )
    assert other.status_code == 404
    theirs = await api_get(world, "other-manager", "/api/v1/activity/mobility")
    assert theirs.json()["total"] == 0


async def test_the_exports_carry_imported_sessions(cable: Cable) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    world = cable.world
    async with login(world.app, "acme-manager", "manager-pass") as fm:
        points = await fm.get("/activity/export?view=charge-points&format=csv&station=NRG-1")
        sheet = await fm.get("/activity/export?view=mobility&format=xlsx&type=split_billing")
    table = list(csv.DictReader(io.StringIO(points.text)))
    assert [(r["Charging station"], r["kWh"], r["Price (host)"]) for r in table] == [
        ("NRG-1", "3.667", "2.44")
    ]
    assert table[0]["Session type"] == "split_billing"
    cells = list(
        load_workbook(io.BytesIO(sheet.content), read_only=True).active.iter_rows(values_only=True)
    )
    header = list(cells[0])
    amounts = sorted(row[header.index("Reimbursement")] for row in cells[1:])
    assert amounts == [2.44, 2.44, 4.88]  # the imported session beside the station's two
    async with login(world.app, "acme-driver0", "driver-pass") as driver:
        mine = await driver.get("/activity/export?view=mine&format=csv&station=NRG-1")
    rows = list(csv.DictReader(io.StringIO(mine.text)))
    assert [(r["kWh"], r["Reimbursed to you"]) for r in rows] == [("3.667", "2.44")]
