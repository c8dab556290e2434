"""Split-billing licences, their cards and rate history, the CREG table, external devices and
their imported sessions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, exists, insert, or_, select, update

from voltflow.domain.licences import (
    AppliedRate,
    CregQuarterRate,
    CregRate,
    CregTable,
    DeviceKind,
    DeviceRef,
    DeviceReimbursement,
    DeviceSession,
    ExternalDevice,
    LicenceRecord,
    Quarter,
    RateChange,
    RateSource,
    Region,
    ReimbursementBasis,
    SplitBillingLicence,
    SplitBillingLine,
    device_session_ref,
    policy_of,
)
from voltflow.domain.money import Money
from voltflow.domain.session_types import SessionType
from voltflow.store.database import Database
from voltflow.store.statements import dialect_insert
from voltflow.store.tables import (
    cards,
    charging_sessions,
    creg_rates,
    device_sessions,
    external_devices,
    licence_cards,
    licence_rates,
    licences,
    organisations,
    stations,
    users,
)

L, LC, LR, DS = licences, licence_cards, licence_rates, device_sessions


def licensed_at_station(
    station: ColumnElement[str], uid: ColumnElement[str], started_at: ColumnElement[datetime]
) -> Exists:
    """A licence of ``station`` valid at ``started_at`` holds the card ``uid``: the session is
    split billing (``domain.session_types``). Carried by the statement that reads a stopping
    session, so that its type costs no extra round trip."""
    return exists().where(
        LC.c.card_uid == uid,
        L.c.id == LC.c.licence_id,
        L.c.station_id == station,
        L.c.valid_from <= started_at,
        or_(L.c.valid_until.is_(None), started_at < L.c.valid_until),
    )


def _policy_row(change: RateChange) -> dict[str, Any]:
    policy = change.policy
    return {
        "effective_from": change.effective_from,
        "source": policy.source.value,
        "per_kwh": None if isinstance(policy, CregRate) else policy.per_kwh,
        "region": policy.region.value if isinstance(policy, CregRate) else None,
    }


class LicenceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- devices -------------------------------------------------------------------------------
    async def station_owner(self, station_id: str) -> tuple[bool, int | None]:
        """Whether the station exists, and its organisation."""
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(stations.c.organisation_id).where(stations.c.id == station_id)
                )
            ).first()
        return (row is not None, None if row is None else row.organisation_id)

    async def device(self, device_id: str) -> ExternalDevice | None:
        async with self.db.reading() as conn:
            row = (
                await conn.execute(
                    select(external_devices).where(external_devices.c.id == device_id)
                )
            ).first()
        if row is None:
            return None
        m = row._mapping
        return ExternalDevice(
            m["id"], DeviceKind(m["kind"]), m["organisation_id"], m["label"], m["created_at"]
        )

    async def add_device(
        self,
        device_id: str,
        kind: DeviceKind,
        organisation_id: int | None,
        label: str | None,
        now: datetime,
    ) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(external_devices).values(
                    id=device_id,
                    kind=kind.value,
                    organisation_id=organisation_id,
                    label=label,
                    created_at=now,
                )
            )

    # -- licences ------------------------------------------------------------------------------
    async def add(
        self,
        employer_id: int,
        employee_id: int | None,
        device: DeviceRef,
        card_uids: Sequence[str],
        valid_from: datetime,
        valid_until: datetime | None,
        first: RateChange,
        now: datetime,
    ) -> int:
        async with self.db.writing() as conn:
            result = await conn.execute(
                insert(L)
                .values(
                    employer_id=employer_id,
                    employee_id=employee_id,
                    station_id=device.id if device.is_station else None,
                    device_id=None if device.is_station else device.id,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    created_at=now,
                )
                .returning(L.c.id)
            )
            licence_id = int(result.scalar_one())
            await conn.execute(
                insert(LC), [{"licence_id": licence_id, "card_uid": uid} for uid in card_uids]
            )
            await conn.execute(
                insert(LR).values(licence_id=licence_id, created_at=now, **_policy_row(first))
            )
        return licence_id

    async def add_rate(self, licence_id: int, change: RateChange, now: datetime) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                insert(LR).values(licence_id=licence_id, created_at=now, **_policy_row(change))
            )

    async def end(self, licence_id: int, valid_until: datetime) -> None:
        async with self.db.writing() as conn:
            await conn.execute(
                update(L).where(L.c.id == licence_id).values(valid_until=valid_until)
            )

    async def get(self, licence_id: int) -> LicenceRecord | None:
        found = await self._records(L.c.id == licence_id)
        return found[0] if found else None

    async def listing(
        self, *, within: Iterable[int] | None, employee_id: int | None
    ) -> list[LicenceRecord]:
        """Licences of the employers ``within`` (None: all) and those of ``employee_id``."""
        if within is None:
            return await self._records(None)
        cond: ColumnElement[bool] = L.c.employer_id.in_(list(within))
        if employee_id is not None:
            cond = or_(cond, L.c.employee_id == employee_id)
        return await self._records(cond)

    async def for_device(self, device: DeviceRef) -> list[SplitBillingLicence]:
        column = L.c.station_id if device.is_station else L.c.device_id
        return [r.licence for r in await self._records(column == device.id)]

    async def _records(self, where: ColumnElement[bool] | None) -> list[LicenceRecord]:
        query = (
            select(
                L,
                organisations.c.name.label("employer_name"),
                users.c.username.label("employee_username"),
                users.c.full_name.label("employee_name"),
                external_devices.c.kind.label("device_kind"),
            )
            .join(organisations, organisations.c.id == L.c.employer_id)
            .outerjoin(users, users.c.id == L.c.employee_id)
            .outerjoin(external_devices, external_devices.c.id == L.c.device_id)
            .order_by(L.c.id)
        )
        if where is not None:
            query = query.where(where)
        async with self.db.reading() as conn:
            rows = [r._mapping for r in (await conn.execute(query)).all()]
            ids = [int(r["id"]) for r in rows]
            card_map: dict[int, set[str]] = defaultdict(set)
            rate_map: dict[int, list[RateChange]] = defaultdict(list)
            if ids:
                for c in await conn.execute(select(LC).where(LC.c.licence_id.in_(ids))):
                    card_map[int(c.licence_id)].add(c.card_uid)
                for r in await conn.execute(
                    select(LR).where(LR.c.licence_id.in_(ids)).order_by(LR.c.effective_from)
                ):
                    rate_map[int(r.licence_id)].append(
                        RateChange(
                            r.effective_from,
                            policy_of(
                                RateSource(r.source),
                                r.per_kwh,
                                Region(r.region) if r.region else None,
                            ),
                        )
                    )
        out = []
        for m in rows:
            licence_id = int(m["id"])
            device = (
                DeviceRef(DeviceKind.STATION, m["station_id"])
                if m["station_id"] is not None
                else DeviceRef(DeviceKind(m["device_kind"]), m["device_id"])
            )
            out.append(
                LicenceRecord(
                    SplitBillingLicence(
                        id=licence_id,
                        employer_id=int(m["employer_id"]),
                        employee_id=m["employee_id"],
                        device=device,
                        cards=frozenset(card_map[licence_id]),
                        valid_from=m["valid_from"],
                        valid_until=m["valid_until"],
                        rates=tuple(rate_map[licence_id]),
                    ),
                    m["employer_name"],
                    m["employee_username"],
                    m["employee_name"],
                    m["created_at"],
                )
            )
        return out

    # -- the CREG table ------------------------------------------------------------------------
    async def creg_table(self) -> CregTable:
        async with self.db.reading() as conn:
            rows = (await conn.execute(select(creg_rates))).all()
        return CregTable(
            CregQuarterRate(Region(r.region), Quarter(r.year, r.quarter), r.per_kwh) for r in rows
        )

    async def set_creg_rate(self, rate: CregQuarterRate) -> None:
        values = {
            "region": rate.region.value,
            "year": rate.quarter.year,
            "quarter": rate.quarter.number,
            "per_kwh": rate.per_kwh,
        }
        upsert = dialect_insert(self.db.dialect, creg_rates).values(**values)
        statement = upsert.on_conflict_do_update(
            index_elements=["region", "year", "quarter"], set_={"per_kwh": rate.per_kwh}
        )
        async with self.db.writing() as conn:
            await conn.execute(statement)

    # -- sessions ------------------------------------------------------------------------------
    async def device_sessions_between(
        self, device_id: str, start: datetime, stop: datetime
    ) -> list[DeviceSession]:
        """The device's stored sessions that overlap [start, stop]."""
        query = (
            select(DS)
            .where(DS.c.device_id == device_id, DS.c.started_at < stop, DS.c.stopped_at > start)
            .order_by(DS.c.started_at)
        )
        async with self.db.reading() as conn:
            return [_device_session(r._mapping) for r in (await conn.execute(query)).all()]

    async def device_session(self, session_id: int) -> DeviceSession | None:
        async with self.db.reading() as conn:
            row = (await conn.execute(select(DS).where(DS.c.id == session_id))).first()
        return _device_session(row._mapping) if row else None

    async def insert_device_sessions(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """The new sessions' ids, in order (all or nothing, in the unit of work)."""
        ids = []
        async with self.db.writing() as conn:
            for row in rows:
                result = await conn.execute(insert(DS).values(**row).returning(DS.c.id))
                ids.append(int(result.scalar_one()))
        return ids

    async def device_lines(
        self, licence: SplitBillingLicence, *, limit: int = 500
    ) -> list[SplitBillingLine]:
        """The split-billing sessions imported under the licence, newest first, each with the
        rate and reimbursement stored when it was imported."""
        query = (
            select(DS)
            .where(
                DS.c.licence_id == licence.id,
                DS.c.session_type == SessionType.SPLIT_BILLING.value,
            )
            .order_by(DS.c.started_at.desc())
            .limit(limit)
        )
        async with self.db.reading() as conn:
            rows = [_device_session(r._mapping) for r in (await conn.execute(query)).all()]
        return [
            SplitBillingLine(
                s.ref,
                s.card_uid,
                s.started_at,
                s.stopped_at,
                s.energy_wh,
                s.reimbursement.rate if s.reimbursement else None,
                s.reimbursement.amount if s.reimbursement else None,
            )
            for s in rows
        ]

    async def split_billing_sessions(
        self, licence: SplitBillingLicence, *, limit: int = 500
    ) -> list[tuple[str, str, datetime, datetime, int]]:
        """(session reference, card, start, stop, Wh) of the licence's split-billing sessions,
        newest first: those at its device, with its cards, within its validity."""
        if not licence.cards:
            return []
        uids = sorted(licence.cards)
        until = licence.valid_until
        if licence.device.is_station:
            S = charging_sessions
            cond = [
                S.c.station_id == licence.device.id,
                S.c.id_tag.in_(uids),
                S.c.session_type == SessionType.SPLIT_BILLING.value,
                S.c.started_at >= licence.valid_from,
            ]
            if until is not None:
                cond.append(S.c.started_at < until)
            query = (
                select(S.c.id, S.c.id_tag, S.c.started_at, S.c.stopped_at, S.c.energy_wh)
                .where(*cond)
                .order_by(S.c.started_at.desc())
                .limit(limit)
            )
            async with self.db.reading() as conn:
                rows = (await conn.execute(query)).all()
            return [
                (str(r.id), r.id_tag, r.started_at, r.stopped_at, int(r.energy_wh or 0))
                for r in rows
            ]
        dcond = [
            DS.c.device_id == licence.device.id,
            DS.c.card_uid.in_(uids),
            DS.c.session_type == SessionType.SPLIT_BILLING.value,
            DS.c.started_at >= licence.valid_from,
        ]
        if until is not None:
            dcond.append(DS.c.started_at < until)
        dquery = select(DS).where(and_(*dcond)).order_by(DS.c.started_at.desc()).limit(limit)
        async with self.db.reading() as conn:
            drows = (await conn.execute(dquery)).all()
        return [
            (
                device_session_ref(int(r.id)),
                r.card_uid,
                r.started_at,
                r.stopped_at,
                int(r.energy_wh),
            )
            for r in drows
        ]

    async def card_owners(self, uids: Sequence[str]) -> dict[str, tuple[int | None, int | None]]:
        """(organisation, driver) of each known card."""
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(
                    select(cards.c.uid, cards.c.organisation_id, cards.c.driver_id).where(
                        cards.c.uid.in_(list(uids))
                    )
                )
            ).all()
        return {r.uid: (r.organisation_id, r.driver_id) for r in rows}

    async def find_organisation(self, name_or_id: str) -> list[tuple[int, str]]:
        """Organisations whose id or exact name is ``name_or_id``."""
        cond: ColumnElement[bool] = organisations.c.name == name_or_id
        if name_or_id.isdigit():
            cond = or_(cond, organisations.c.id == int(name_or_id))
        async with self.db.reading() as conn:
            rows = (
                await conn.execute(select(organisations.c.id, organisations.c.name).where(cond))
            ).all()
        return [(int(r.id), r.name) for r in rows]


def reimbursement_values(reimbursed: DeviceReimbursement) -> dict[str, Any]:
    """A reimbursement as the columns of its device session."""
    return {
        "reimbursement_basis": reimbursed.basis.value,
        "licence_id": reimbursed.licence_id,
        "currency": reimbursed.currency,
        "rate": None if reimbursed.rate is None else reimbursed.rate.per_kwh,
        "rate_source": None if reimbursed.rate is None else reimbursed.rate.source.value,
        "reimbursement": None if reimbursed.amount is None else reimbursed.amount.amount,
    }


def reimbursement_of(m: Any) -> DeviceReimbursement | None:
    """The reimbursement a device session's row carries (None: stored without one)."""
    if m["reimbursement_basis"] is None:
        return None
    currency = m["currency"] or "EUR"
    rate = (
        None
        if m["rate"] is None or m["rate_source"] is None
        else AppliedRate(m["rate"].normalize(), RateSource(m["rate_source"]))
    )
    # PostgreSQL's NUMERIC gives its scale's digits (2.440000): back to the cent.
    amount = None if m["reimbursement"] is None else Money(m["reimbursement"], currency).rounded()
    return DeviceReimbursement(
        ReimbursementBasis(m["reimbursement_basis"]), currency, m["licence_id"], rate, amount
    )


def _device_session(m: Any) -> DeviceSession:
    return DeviceSession(
        int(m["id"]),
        m["device_id"],
        m["card_uid"],
        m["started_at"],
        m["stopped_at"],
        int(m["energy_wh"]),
        m["session_type"],
        m["type_reason"],
        reimbursement_of(m),
    )


__all__ = [
    "LicenceRepository",
    "licensed_at_station",
    "reimbursement_of",
    "reimbursement_values",
]
