"""What the installation-job tests share: real files of each type, a customer with a station,
installer organisations, and the answers that pass a whole checklist."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tests import factories
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, OrganisationKind
from voltflow.domain.installations.attachments import AttachmentKind
from voltflow.domain.installations.checklists import AnswerInput, Item, ItemKind
from voltflow.domain.installations.jobs import JobKind, JobStep
from voltflow.services.jobs import JobView

STATION = "CP-JOB-01"
STATION_KEY = "job-station-key-0001"

# A 1×1 JPEG and WebP as an encoder writes them.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a18161618"
    "3123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffdb00"
    "43011112121815182f1a1a2f63423842636363636363636363636363636363636363636363636363636363636363"
    "6363636363636363636363636363636363636363ffc00011080001000103012200021101031101ffc4001f000001"
    "0501010101010100000000000000000102030405060708090a0bffc400b510000201030302040305050404000001"
    "7d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25"
    "262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a8384"
    "85868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5"
    "d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000"
    "000102030405060708090a0bffc400b5110002010204040304070504040001027700010203110405213106124151"
    "0761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a43"
    "4445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a929394959697"
    "98999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8"
    "e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00c7a28a2b84fa83ffd9"
)
WEBP = bytes.fromhex(
    "524946463a00000057454250565038202e000000b001009d012a0100010001402625a00274ba0004300000fef1dc"
    "8ff80dd7c5b4cbffbd82ffdd82ffdd82ff5b0000"
)
# The start of an HEIC file as a phone writes it: its ftyp box, brand heic.
HEIC = bytes.fromhex("00000018667479706865696300000000") + b"mif1heic" + bytes(64)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image: grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class Site:
    """A customer with a station, an installer organisation with a technician, and another
    installer organisation that has nothing to do with them."""

    op: Actor
    customer_id: int
    manager: Actor  # the customer's fleet manager
    driver: Actor  # the customer's driver (no say over jobs)
    installer_id: int
    technician: Actor
    other_installer_id: int
    other_technician: Actor
    stranger: Actor  # another customer's fleet manager


async def site(platform: Platform) -> Site:
    op = await factories.operator(platform)
    acme = await factories.company(platform, op, "Acme", drivers=1)
    other = await factories.company(platform, op, "Globex", drivers=0)
    sparks = await factories.company(platform, op, "Sparks", kind=OrganisationKind.INSTALLER)
    volts = await factories.company(platform, op, "Volts", kind=OrganisationKind.INSTALLER)
    await platform.stations.add(STATION, STATION_KEY, actor=op)
    await platform.stations.set_owner(op, STATION, acme.id)
    return Site(
        op,
        acme.id,
        acme.manager,
        acme.drivers[0],
        sparks.id,
        sparks.manager,
        volts.id,
        volts.manager,
        other.manager,
    )


async def started(
    platform: Platform, s: Site, kind: JobKind = JobKind.COMMISSIONING, *, when: datetime
) -> JobView:
    """A job at the station, asked for by the customer, given to Sparks, scheduled and
    started."""
    view = await platform.jobs.request(s.manager, kind, station_id=STATION)
    job_id = view.job.id
    await platform.jobs.assign(
        s.op, job_id, installer_id=s.installer_id, technician_id=s.technician.user_id
    )
    await platform.jobs.step(s.technician, job_id, JobStep.SCHEDULE, planned_at=when)
    return await platform.jobs.step(s.technician, job_id, JobStep.START)


def passing_value(item: Item) -> Decimal:
    assert item.allowed is not None
    low, high = item.allowed.low, item.allowed.high
    if low is not None and high is not None:
        return (low + high) / 2
    if low is not None:
        return low * 10 + 1
    assert high is not None
    return high / 2


async def answer_all(platform: Platform, who: Actor, view: JobView, *, skip: set[str]) -> JobView:
    """Passing answers to every item not in ``skip``, photos and signatures uploaded."""
    assert view.checklist is not None
    job_id = view.job.id
    for item_view in view.checklist.items:
        item = item_view.item
        if item.key in skip or item_view.answer is not None:
            continue
        if item.kind is ItemKind.PASS_FAIL:
            answer = AnswerInput(passed=True)
        elif item.kind is ItemKind.MEASUREMENT:
            assert item.unit is not None
            answer = AnswerInput(value=passing_value(item), unit=item.unit.symbol)
        elif item.kind is ItemKind.CHOICE:
            accepted = next(o for o in item.options if o.accepted)
            answer = AnswerInput(choice=accepted.value)
        elif item.kind is ItemKind.TEXT:
            answer = AnswerInput(text="FW 5.12.3")
        else:
            kind = AttachmentKind.PHOTO if item.kind is ItemKind.PHOTO else AttachmentKind.SIGNATURE
            file = await platform.jobs.attach(who, job_id, kind, png(), f"{item.key}.png")
            text = "Jan Peeters" if item.kind is ItemKind.SIGNATURE else None
            answer = AnswerInput(attachment_id=file.id, text=text)
        view = await platform.jobs.answer(who, job_id, item.key, answer)
    return view


def tomorrow(platform: Platform) -> datetime:
    return platform.clock.now() + timedelta(days=1)
